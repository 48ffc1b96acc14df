"""The fenced code blocks of the documentation's pages, for the tests that
run them: a block whose info string has a ``title="path"`` is that file of
the reader's project (docs/quickstart.md, docs/usage.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^(`{3,})(\w*)([^\n]*)\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
TITLE = re.compile(r'\btitle="([^"]+)"')


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, its title (a file path) or ``""``, its text."""

    lang: str
    title: str
    body: str


def page_blocks(page: str) -> list[Block]:
    """The fenced blocks of ``docs/<page>``, in the order of the page."""
    blocks = []
    for _fence, lang, info, body in FENCE.findall((DOCS / page).read_text()):
        title = TITLE.search(info)
        blocks.append(Block(lang, title.group(1) if title else "", body))
    return blocks


def page_file(page: str, title: str) -> str:
    """The text of the file ``title`` as ``docs/<page>`` shows it: its blocks
    with that title, one after the other."""
    parts = [block.body for block in page_blocks(page) if block.title == title]
    assert parts, f"docs/{page} has no block titled {title!r}"
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"
