"""What an uploaded file is: its encoding, its delimiter, and its rows.

Encodings: a byte order mark says UTF-8 or UTF-16; otherwise the file is UTF-8 when every
byte of it decodes as UTF-8, else Windows-1252 (what Excel writes on Western Windows).
That order needs no guessing library: a Windows-1252 file with accents is almost never
valid UTF-8, and a pure ASCII file reads the same either way.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from quickcrm.domain import validation as v
from quickcrm.domain.imports.mapping import recognised

SAMPLE_BYTES = 64 * 1024
# How many of the first rows may be a preamble before the header row (LinkedIn's "Notes:").
HEADER_SEARCH_ROWS = 20
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# A text file has next to no control characters; a picture, a PDF or a workbook has many.
BINARY_SHARE = 0.02
BINARY_MIN = 8  # a stray NUL or two in a short file is a bad cell, not a picture
# The longest cell csv reads (its default limit, 128 KB).
CELL_MAX = csv.field_size_limit()


@dataclass(frozen=True)
class Detected:
    encoding: str  # a Python codec name: "utf-8-sig", "utf-8", "utf-16", "cp1252"
    delimiter: str

    @property
    def label(self) -> str:
        names = {"utf-8-sig": "UTF-8 with BOM", "utf-8": "UTF-8", "utf-16": "UTF-16"}
        delimiter = DELIMITER_NAMES[self.delimiter]
        return f"{names.get(self.encoding, 'Windows-1252')}, {delimiter}-separated"


def detect_encoding(stream: BinaryIO) -> str:
    """The codec of the whole of ``stream`` (read to its end in blocks, then rewound)."""
    stream.seek(0)
    head = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if not head:
        raise v.Refused("The file is empty.")
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise v.Refused(
            "This is a spreadsheet workbook, not a CSV file: save it as CSV (File → Save as "
            "→ CSV) and upload that."
        )
    controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\r\n\f")
    if controls > max(BINARY_MIN, BINARY_SHARE * len(head)):
        raise v.Refused("This is not a CSV file (it is not text). Upload a .csv file.")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := stream.read(SAMPLE_BYTES):
            decoder.decode(block)
        decoder.decode(b"", final=True)
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "cp1252"
    stream.seek(0)
    return encoding


def detect_delimiter(sample: str) -> str:
    """Comma, semicolon or tab: what ``csv.Sniffer`` finds in the first lines, else the one
    the header line holds most of (a comma when it holds none)."""
    lines = sample.splitlines()[:20]
    try:
        found = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        found = None
    if found in DELIMITERS:
        return found
    header = lines[0] if lines else ""
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def detect(stream: BinaryIO) -> Detected:
    encoding = detect_encoding(stream)
    text = _text(stream, encoding)
    try:
        sample = text.read(SAMPLE_BYTES)
    finally:
        text.detach()  # a wrapper closes its stream when it goes
    stream.seek(0)
    return Detected(encoding, detect_delimiter(sample))


def _text(stream: BinaryIO, encoding: str) -> io.TextIOWrapper:
    # cp1252 leaves five bytes undefined: they become U+FFFD rather than a failure.
    return io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")


def read_rows(stream: BinaryIO, detected: Detected) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every row that is not blank, header first, read as it
    streams. Raises ``validation.Refused`` for broken quoting or a cell past ``CELL_MAX``."""
    text = _text(stream, detected.encoding)
    reader = csv.reader(text, delimiter=detected.delimiter, strict=True)
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise v.Refused(
                f"Line {line}: a cell is longer than {CELL_MAX:,} characters — most likely a "
                'quote (") opened and never closed.'
            ) from None
        raise v.Refused(
            f'Line {line}: the quotes are broken (a quote (") opened and never closed, or '
            "text right after a closing quote). Fix that line and upload the file again."
        ) from None
    finally:
        text.detach()


Rows = Iterator[tuple[int, list[str]]]


def _looks_like_headers(cells: list[str]) -> bool:
    return sum(1 for cell in cells if cell.strip()) >= 2


def header_row(rows: Rows) -> tuple[int, list[str], Rows] | None:
    """The header row among the first ``HEADER_SEARCH_ROWS`` rows — (its line, its cells,
    the rows after it) — or ``None`` for no rows at all. It is the first row of at least
    two non-empty cells, followed by a row as wide, with two or more headers QuickCRM
    recognises; else the first row of two or more cells followed by one as wide; else
    the first row. Rows before it (a preamble) are dropped; the others keep their line
    numbers."""
    ahead: list[tuple[int, list[str]]] = []
    for row in rows:
        ahead.append(row)
        if len(ahead) == HEADER_SEARCH_ROWS:
            break
    if not ahead:
        return None
    if recognised(ahead[0][1]) >= 2:
        chosen = 0  # the usual case: the first line is the header
    else:
        wide = [
            i
            for i, (_, cells) in enumerate(ahead)
            if _looks_like_headers(cells)
            and (i + 1 == len(ahead) or len(ahead[i + 1][1]) == len(cells))
        ]
        known = [i for i in wide if recognised(ahead[i][1]) >= 2]
        chosen = (known or wide or [0])[0]
    line, cells = ahead[chosen]
    rest = ahead[chosen + 1 :]

    def after() -> Rows:
        yield from rest
        yield from rows

    return line, cells, after()
