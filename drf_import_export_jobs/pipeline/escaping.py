"""Escaping exported cells against spreadsheet formula injection."""

from __future__ import annotations

import re
from typing import Any

# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def escape_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text that a spreadsheet would
    treat as a formula. Plain numbers such as ``-5.00`` are left alone."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not _NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value
