"""Deterministic Book files for the benchmark (same bytes on every run).

``new`` files hold books ``0..n-1``; ``update`` files hold the same ISBNs with
a changed title, price, stock flag and page count, so importing one after the
other updates every row.
"""

from __future__ import annotations

import csv
import datetime
import random
from collections.abc import Iterator
from pathlib import Path

HEADERS = ["isbn", "title", "author", "price", "published", "pages", "in_stock", "description"]
AUTHORS = [f"Author {number:03d}" for number in range(200)]
WORDS = [
    *("river", "night", "garden", "silver", "quiet", "storm", "empire", "letters"),
    *("winter", "north", "stone", "glass", "summer", "secret", "house", "island"),
    *("journey", "shadow", "light", "song"),
]


def book_rows(count: int, kind: str) -> Iterator[list[str]]:
    """Rows of ``count`` books; ``kind`` is ``new`` or ``update``."""
    rng = random.Random(f"books-{kind}")
    start = datetime.date(1950, 1, 1)
    for number in range(count):
        words = " ".join(rng.choice(WORDS) for _ in range(3)).title()
        title = f"{words} {number}" + (" (2nd ed.)" if kind == "update" else "")
        cents = rng.randint(199, 9999) + (100 if kind == "update" else 0)
        yield [
            f"{9780000000000 + number}",
            title,
            AUTHORS[number % len(AUTHORS)],
            f"{cents // 100}.{cents % 100:02d}",
            (start + datetime.timedelta(days=number % 25000)).isoformat(),
            str(rng.randint(40, 1200) + (1 if kind == "update" else 0)),
            "1" if (number % 3 == 0) == (kind == "new") else "0",
            f"A story of {rng.choice(WORDS)} and {rng.choice(WORDS)}, number {number}.",
        ]


def data_file(directory: Path, count: int, kind: str, file_format: str) -> Path:
    """The path of the file, written first when missing."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"books-{kind}-{count}.{file_format}"
    if path.exists():
        return path
    partial = path.with_suffix(path.suffix + ".part")
    if file_format == "csv":
        with partial.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADERS)
            writer.writerows(book_rows(count, kind))
    elif file_format == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("books")
        sheet.append(HEADERS)
        for row in book_rows(count, kind):
            sheet.append(row)
        workbook.save(partial)
    else:
        raise ValueError(f"unknown file format {file_format!r}")
    partial.rename(path)
    return path
