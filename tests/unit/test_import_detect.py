"""Reading an upload: its encoding and delimiter from real bytes, and its rows."""

from __future__ import annotations

import codecs
import io

import pytest

from quickcrm.domain import validation as v
from quickcrm.domain.imports.detect import detect, read_rows

TEXT = "Name;Company;Note\r\nChloé Dubois;Société Générale;Café à 8h\r\nJon;Acme;\r\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),  # with its BOM, little-endian here
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
    ids=["utf-8", "utf-8 bom", "utf-16 le", "utf-16 be", "windows-1252"],
)
def test_each_encoding_reads_back_the_same_text(data, encoding):
    stream = io.BytesIO(data)
    detected = detect(stream)
    assert (detected.encoding, detected.delimiter) == (encoding, ";")
    assert list(read_rows(stream, detected)) == [
        (1, ["Name", "Company", "Note"]),
        (2, ["Chloé Dubois", "Société Générale", "Café à 8h"]),
        (3, ["Jon", "Acme", ""]),
    ]


def test_windows_1252_accents_and_euro_come_back():
    stream = io.BytesIO("Name;Note\r\nAnn;“quoted” – 5 €\r\n".encode("cp1252"))
    rows = list(read_rows(stream, detect(stream)))
    assert rows[1] == (2, ["Ann", "“quoted” – 5 €"])


def test_utf8_that_breaks_only_at_the_end_is_windows_1252():
    # The first 64 KB are plain ASCII: the whole file decides, not a sample.
    data = b"Name,Note\n" + b"Ann,x\n" * 20_000 + "Zoë,é\n".encode("cp1252")
    stream = io.BytesIO(data)
    detected = detect(stream)
    assert detected.encoding == "cp1252"
    assert list(read_rows(stream, detected))[-1][1] == ["Zoë", "é"]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("Name,Email,Phone\nAnn,ann@example.com,123\nBob,bob@example.com,456\n", ","),
        ("Name;Email;Phone\nAnn;ann@example.com;123\nBob;bob@example.com;456\n", ";"),
        ("Name\tEmail\tPhone\nAnn\tann@example.com\t123\nBob\tbob@example.com\t456\n", "\t"),
        # Commas inside the cells of a semicolon file.
        ("Name;Note\nAnn;a, b, c\nBob;d, e\n", ";"),
        # One column: no delimiter at all.
        ("Name\nAnn\nBob\n", ","),
    ],
    ids=["comma", "semicolon", "tab", "semicolon with commas", "one column"],
)
def test_delimiters(text, delimiter):
    stream = io.BytesIO(text.encode())
    assert detect(stream).delimiter == delimiter


def test_rows_keep_quoted_delimiters_and_newlines_and_skip_blank_lines():
    text = 'Name,Note\n"Smith, Ann","two\nlines"\n\n,\nBob,""\n'
    stream = io.BytesIO(text.encode())
    assert list(read_rows(stream, detect(stream))) == [
        (1, ["Name", "Note"]),
        (2, ["Smith, Ann", "two\nlines"]),
        (6, ["Bob", ""]),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "not a CSV file"),
        (b"PK\x03\x04" + b"\x00" * 100, "workbook"),
    ],
    ids=["empty", "picture", "xlsx"],
)
def test_what_is_not_csv_is_refused_with_a_message(data, message):
    with pytest.raises(v.Refused, match=message):
        detect(io.BytesIO(data))


@pytest.mark.parametrize(
    "text",
    ['Name,Note\nAnn,"never closed\nBob,x\n', 'Name,Note\nAnn,"closed"then text\n'],
    ids=["unclosed quote", "text after the quote"],
)
def test_broken_quoting_names_its_line(text):
    stream = io.BytesIO(text.encode())
    with pytest.raises(v.Refused, match="Line 2: the quotes are broken"):
        list(read_rows(stream, detect(stream)))


def test_a_stray_nul_byte_is_text_not_binary():
    stream = io.BytesIO(b"Name,Note\nAnn\x00,x\nBob,y\n")
    rows = list(read_rows(stream, detect(stream)))
    assert rows[1] == (2, ["Ann\x00", "x"])  # refused later, as its row's problem
