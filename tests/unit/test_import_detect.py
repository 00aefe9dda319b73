"""Reading an upload: its encoding and delimiter from real bytes, and its rows."""

from __future__ import annotations

import codecs
import io

import pytest

from quickcrm.domain import validation as v
from quickcrm.domain.imports.detect import detect, header_row, read_rows

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


def rows_of(text: str) -> list[tuple[int, list[str]]]:
    stream = io.BytesIO(text.encode("utf-8"))
    return list(read_rows(stream, detect(stream)))


def found(text: str) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    line, cells, rest = header_row(iter(rows_of(text)))
    return line, cells, list(rest)


LINKEDIN = (
    "Notes:\r\n"
    '"When exporting your connection data, you may notice that some of the email addresses '
    "are missing. You will only see email addresses for connections who have allowed their "
    'connections to see or download their email address."\r\n'
    "\r\n"
    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n"
    "Chloe,Martin,https://www.linkedin.com/in/x,chloe@vantage.example,Vantage,Sales,14 Nov 2026\r\n"
    "Daniel,Osei,https://www.linkedin.com/in/y,,Greenfield,Engineer,02 Oct 2026\r\n"
)


def test_the_header_row_is_found_after_a_preamble_and_rows_keep_their_lines():
    stream = io.BytesIO(LINKEDIN.encode("utf-8"))
    assert detect(stream).delimiter == ","
    line, cells, rest = found(LINKEDIN)
    assert (line, cells[:2]) == (4, ["First Name", "Last Name"])
    assert [(n, row[0]) for n, row in rest] == [(5, "Chloe"), (6, "Daniel")]


def test_a_first_line_of_recognised_headers_is_the_header_row():
    line, cells, rest = found("Name,Email\r\nAnn,ann@example.com\r\nBob,bob@example.com,extra\r\n")
    assert (line, cells, len(rest)) == (1, ["Name", "Email"], 2)


def test_a_report_title_before_unrecognised_headers_is_skipped():
    text = "Badges printed 2026-11-20,,\r\n,,\r\nBadge,Colour,Size\r\n7,red,L\r\n8,blue,M\r\n"
    line, cells, rest = found(text)  # a title of one cell, a row of empty cells
    assert (line, cells, [n for n, _ in rest]) == (3, ["Badge", "Colour", "Size"], [4, 5])
    text = "Badges printed 2026-11-20\r\nBadge,Colour,Size\r\n7,red,L\r\n8,blue,M\r\n"
    line, cells, rest = found(text)
    assert (line, cells, [n for n, _ in rest]) == (2, ["Badge", "Colour", "Size"], [3, 4])


def test_a_recognised_header_row_wins_over_an_earlier_row_as_wide():
    text = (
        "Exported by,Ada,on,2026-11-20\r\n"
        "First name,Last name,Email,Phone\r\n"
        "Ann,Smith,a@x.example,1\r\n"
    )
    line, cells, _ = found(text)
    assert (line, cells[0]) == (2, "First name")


def test_a_single_column_file_and_a_header_alone_keep_their_first_row():
    assert found("Name\r\nAnn\r\nBob\r\n")[:2] == (1, ["Name"])
    assert found("Name,Email\r\n") == (1, ["Name", "Email"], [])
    assert header_row(iter([])) is None


def test_rows_past_the_looked_ahead_ones_still_follow():
    text = "Name,Email\r\n" + "".join(f"P{i},p{i}@example.com\r\n" for i in range(50))
    _, _, rest = found(text)
    assert [n for n, _ in rest] == list(range(2, 52))
