"""Reading a vCard upload as rows: each version, the preferred email and phone, the others
kept in the note, photos dropped as they stream, and bad files refused with a message."""

from __future__ import annotations

import codecs
import io
import tracemalloc
from pathlib import Path

import pytest

from quickcrm.domain import validation as v
from quickcrm.domain.imports import mapping, vcard

SAMPLES = Path(__file__).parents[1] / "data" / "imports" / "vcard"
COLUMNS = {header: index for index, header in enumerate(vcard.HEADERS)}


def rows_of(data: bytes | str, filename: str = "contacts.vcf") -> list[tuple[int, list[str]]]:
    stream = io.BytesIO(data.encode("utf-8") if isinstance(data, str) else data)
    detected = vcard.sniff(stream, filename)
    assert detected is not None, "not taken for a vCard"
    rows = list(vcard.read_rows(stream, detected))
    assert rows[0] == (0, vcard.HEADERS)
    return rows[1:]


def cards(*bodies: str, version: str = "3.0") -> str:
    return "".join(
        f"BEGIN:VCARD\r\nVERSION:{version}\r\n{body.strip()}\r\nEND:VCARD\r\n" for body in bodies
    )


def one(body: str, version: str = "3.0") -> dict[str, str]:
    [(_, cells)] = rows_of(cards(body, version=version))
    return dict(zip(vcard.HEADERS, cells, strict=True))


def test_the_headers_are_guessed_with_no_manual_change():
    assert mapping.guess(vcard.HEADERS, "leads") == [
        "name", "first_name", "last_name", "company_name", "ignore", "email", "phone",
        "ignore", "address", "note",  # a lead's address: issue 29
    ]  # fmt: skip
    assert mapping.guess(vcard.HEADERS, "companies") == [
        "name", "first_name", "last_name", "company_name", "title", "email", "phone",
        "website", "address", "ignore",
    ]  # fmt: skip


def test_an_iphone_export_of_several_cards_with_photos():
    rows = rows_of((SAMPLES / "iphone-icloud.vcf").read_bytes())
    assert [line for line, _ in rows] == [1, 80, 122]  # each card's BEGIN:VCARD
    john = dict(zip(vcard.HEADERS, rows[0][1], strict=True))
    assert john == {
        "Name": "John Appleseed",
        "First name": "John",
        "Last name": "Appleseed",
        "Company": "Apple Inc.",
        "Job title": "Product Manager",
        "Email": "john.appleseed@mac.example",  # type=pref, though not the first
        "Phone": "+1 (408) 555-5270",  # type=pref
        "Website": "https://www.apple.example",
        "Address": "1 Apple Park Way, Cupertino, CA, 95014, United States",
        "Note": "Met at WWDC, wants the enterprise plan.\n"
        "Work email: j.appleseed@apple.example\n"
        "Other email: jappleseed@icloud.example\n"  # Apple's _$!<Other>!$_ label
        "Work phone: +1 (408) 555-0100\n"
        "Home phone: +1 (408) 555-3514\n"
        "Assistant phone: +1 (408) 555-0199",  # a label of the person's own
    }
    kate = rows[1][1]
    assert kate[COLUMNS["Phone"]] == "+1 (555) 564-8583"  # mobile before home
    assert kate[COLUMNS["Note"]] == "Home phone: +1 (415) 555-3695"
    anna = rows[2][1]
    assert anna[COLUMNS["Note"]].endswith("might want the same plan; ask about it next time.")
    assert not any("/9j/" in cell for _, cells in rows for cell in cells)


def test_an_outlook_card_in_windows_1252_with_quoted_printable():
    stream = io.BytesIO((SAMPLES / "outlook-2.1.vcf").read_bytes())
    assert vcard.sniff(stream, "Jürgen Müller.vcf").encoding == "cp1252"
    rows = rows_of(stream.getvalue())
    jurgen = dict(zip(vcard.HEADERS, rows[0][1], strict=True))
    assert jurgen == {
        "Name": "Jürgen Müller",
        "First name": "Jürgen",
        "Last name": "Müller",
        "Company": "Müller & Söhne GmbH",  # ORG's first part; the department is left
        "Job title": "Einkaufsleiter",
        "Email": "juergen.mueller@mueller-soehne.example",  # PREF, the second email
        "Phone": "+49 170 1234567",  # no PREF: the mobile
        "Website": "http://www.mueller-soehne.example",
        "Address": "Hauptstraße 5, Köln, 50667, Deutschland",
        # Quoted-printable in Windows-1252, with a soft line break and an encoded CRLF.
        "Note": "Kennengelernt auf der Messe in Köln.\n"
        "Möchte ein Angebot für 20 Lizenzen, Rückruf am Montag.\n"
        "Other email: j.mueller@privat.example\n"
        "Work phone: +49 221 1234567\n"
        "Home phone: +49 221 7654321\n"
        "Fax: +49 221 1234568",
    }
    # No FN (vCard 2.1 needs none): the name is N's given and family names, here in
    # quoted-printable ISO-8859-1.
    assert rows[1] == (
        70,
        ["Hélène Dupré", "Hélène", "Dupré", "Société Générale des Eaux", "",
         "helene.dupre@eaux.example", "+33 6 12 34 56 78", "", "", ""],
    )  # fmt: skip


def test_vcard_4_from_rfc_6350():
    rows = rows_of((SAMPLES / "rfc6350-4.0.vcf").read_bytes())
    simon = dict(zip(vcard.HEADERS, rows[0][1], strict=True))
    assert simon["Name"] == "Simon Perreault" and simon["Company"] == "Viagenie"
    assert simon["Phone"] == "+1-418-656-9254 ext. 102"  # a tel: URI with PREF=1
    assert simon["Note"] == "Mobile phone: +1-418-262-6501"  # TYPE="work,cell,…"
    assert simon["Address"] == "Suite D2-630, 2875 Laurier, Quebec, QC, G1V 2M2, Canada"
    jane = dict(zip(vcard.HEADERS, rows[1][1], strict=True))
    assert jane["Company"] == "ABC, Inc."  # an escaped comma inside ORG's first part
    assert jane["Email"] == "jane_doe@abc.example"  # PREF=1, the second email
    assert jane["Phone"] == "+1-555-555-5556"  # the cell before home
    assert jane["Note"] == (
        "This fax number is operational 0800 to 1715\nEST, Mon-Fri.\n"
        "Home email: jane.doe@home.example\nHome phone: +1-555-555-5555"
    )
    assert not any("base64" in cell for _, cells in rows for cell in cells)


def test_a_google_contacts_export():
    rows = rows_of((SAMPLES / "google-contacts.vcf").read_bytes())
    names = [cells[COLUMNS["Name"]] for _, cells in rows]
    assert names == ["Ann Smith", "Bob Jones", "Chloé Martin"]
    ann = dict(zip(vcard.HEADERS, rows[0][1], strict=True))
    assert ann["Website"] == "https://acme.example"  # Google writes https\://
    assert (ann["Email"], ann["Phone"]) == ("ann@acme.example", "+44 7700 900123")
    assert ann["Note"] == (
        "Met at the stand, wants a demo.\n"
        "Home email: ann.smith@gmail.example\nWork phone: +44 20 7946 0958"
    )
    assert rows[1][1][COLUMNS["Company"]] == "Globex"  # ORG:Globex;Research


@pytest.mark.parametrize(
    ("body", "email", "note"),
    [
        ("EMAIL:a@x.example\r\nEMAIL:b@x.example", "a@x.example", "Other email: b@x.example"),
        (
            "EMAIL;TYPE=HOME:a@x.example\r\nEMAIL;TYPE=WORK,PREF:b@x.example",
            "b@x.example", "Home email: a@x.example",
        ),
        (
            "EMAIL;PREF=2:a@x.example\r\nEMAIL;PREF=1:b@x.example\r\nEMAIL:c@x.example",
            "b@x.example", "Other email: a@x.example\nOther email: c@x.example",
        ),
    ],
    ids=["the first", "TYPE=pref", "PREF=1 before PREF=2 before none"],
)  # fmt: skip
def test_the_preferred_email_else_the_first(body, email, note):
    card = one(f"FN:Ann\r\n{body}")
    assert (card["Email"], card["Note"]) == (email, note)


@pytest.mark.parametrize(
    ("body", "phone"),
    [
        ("TEL;TYPE=HOME:1\r\nTEL;TYPE=WORK:2\r\nTEL;TYPE=CELL:3\r\nTEL;TYPE=HOME,PREF:4", "4"),
        ("TEL;TYPE=HOME:1\r\nTEL;TYPE=WORK:2\r\nTEL;TYPE=CELL:3", "3"),
        ("TEL;TYPE=HOME:1\r\nTEL;TYPE=WORK,FAX:2\r\nTEL;TYPE=WORK:3", "3"),
        ("TEL;TYPE=FAX:1\r\nTEL;TYPE=HOME:2\r\nTEL:3", "2"),
        ("TEL;HOME;VOICE:1\r\nTEL;CELL;VOICE:2", "2"),  # vCard 2.1's bare types
    ],
    ids=["pref", "then mobile", "then work (not a fax)", "then the first", "2.1 types"],
)
def test_the_preferred_phone_else_mobile_else_work_else_the_first(body, phone):
    assert one(f"FN:Ann\r\n{body}")["Phone"] == phone


def test_fn_wins_over_n_and_a_card_without_either_has_no_name():
    assert one("FN:Dr. Ann Smith\r\nN:Smith;Ann;;Dr.;")["Name"] == "Dr. Ann Smith"
    card = one("N:Smith;Ann;Marie;Dr.;")
    assert (card["Name"], card["First name"], card["Last name"]) == ("Ann Smith", "Ann", "Smith")
    assert one("ORG:Acme\r\nEMAIL:info@acme.example")["Name"] == ""


def test_folded_lines_and_escapes_are_read_back():
    card = one(
        "FN:Ann\r\nNOTE:A long note\\, folded over\r\n  two lines\\; with a\\nnew line and C:\\\\"
    )
    assert card["Note"] == "A long note, folded over two lines; with a\nnew line and C:\\"


def test_quoted_printable_utf_8_without_a_charset_and_a_soft_line_break():
    card = one(
        "N;ENCODING=QUOTED-PRINTABLE:=C3=89lise;\r\n"
        "NOTE;ENCODING=QUOTED-PRINTABLE:Caf=C3=A9 at 8,=\r\n then the demo=3D yes",
        version="2.1",
    )
    assert (card["Name"], card["Note"]) == ("Élise", "Café at 8, then the demo= yes")


@pytest.mark.parametrize(
    "data",
    [
        cards("FN:Zoë").encode("utf-8"),
        codecs.BOM_UTF8 + cards("FN:Zoë").encode("utf-8"),
        cards("FN:Zoë").encode("utf-16"),  # with its byte order mark
        cards("FN:Zoë").encode("utf-16-le"),  # without one
        cards("FN:Zoë").encode("utf-16-be"),
        b"\r\n  " + cards("FN:Zoë").encode("utf-8"),
        cards("FN;CHARSET=ISO-8859-1:Zoë", version="2.1").encode("latin-1"),
    ],
    ids=["utf-8", "utf-8 bom", "utf-16", "utf-16-le", "utf-16-be", "blank lines", "latin-1"],
)
def test_each_encoding_reads_the_same_card(data):
    assert rows_of(data, "export.txt")[0][1][COLUMNS["Name"]] == "Zoë"


def test_a_vcard_is_known_by_its_content_and_a_csv_is_left_alone():
    assert vcard.sniff(io.BytesIO(cards("FN:Ann").encode()), "contacts.csv") is not None
    assert vcard.sniff(io.BytesIO(b"Name,Email\nAnn,a@x.example\n"), "leads.csv") is None


def test_photos_are_dropped_as_they_stream():
    # vCard 2.1 base64 need not be indented: it ends at a blank line.
    photo_21 = "PHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQ\r\nAAQABAAD/2w\r\nBDAAgGBgc+/=\r\n\r\n"
    assert one(f"FN:Ann\r\n{photo_21}EMAIL:a@x.example", version="2.1")["Email"] == "a@x.example"
    # A photo far longer than a card may be, on one line of 20 MB, read in small pieces.
    huge = "PHOTO;ENCODING=b;TYPE=JPEG:" + "A" * 20_000_000 + "\r\nEMAIL:a@x.example"
    data = cards(f"FN:Ann\r\n{huge}\r\nNOTE:kept").encode()
    tracemalloc.start()
    try:
        [(_, cells)] = rows_of(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (cells[COLUMNS["Email"]], cells[COLUMNS["Note"]]) == ("a@x.example", "kept")
    assert peak < 2_000_000


def refusal(data: bytes | str, filename: str = "contacts.vcf") -> str:
    with pytest.raises(v.Refused) as refused:
        rows_of(data, filename)
    return str(refused.value)


def test_a_vcf_that_is_no_vcard_is_refused():
    stream = io.BytesIO(b"Name,Email\nAnn,a@x.example\n")
    with pytest.raises(v.Refused) as refused:
        vcard.sniff(stream, "Contacts.VCF")
    assert str(refused.value) == (
        "This .vcf file is not a vCard: export the contacts again as vCard (.vcf)."
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\n",
            "The card that starts on line 1 has no END:VCARD: the file is cut short.",
        ),
        (
            cards("FN:Ann") + "BEGIN:VCARD\r\nFN:Bob\r\nEMAIL:b@x.example",
            "The card that starts on line 5 has no END:VCARD",
        ),
        (
            cards("FN:Ann", "N;ENCODING=QUOTED-PRINTABLE:Caf=G9;", version="2.1"),
            "Line 7: the quoted-printable text is broken",
        ),
        (
            cards("N;ENCODING=QUOTED-PRINTABLE:Caf=E9;", version="2.1"),  # not UTF-8
            "Line 3: the quoted-printable text is broken",
        ),
        (
            cards("N;ENCODING=QUOTED-PRINTABLE;CHARSET=X-MAC-KLINGON:Caf=E9;", version="2.1"),
            "Line 3: the quoted-printable text is broken",
        ),
        (
            # A soft line break with nothing after it swallows END:VCARD.
            cards("FN:Ann\r\nNOTE;ENCODING=QUOTED-PRINTABLE:cut=", version="2.1"),
            "the quoted-printable text is broken",
        ),
        (cards("FN:Ann\r\nthis is not a property"), "Line 4 of the vCard cannot be read."),
        (cards("FN:Ann") + "Hello\r\n", "Line 5 is outside any card"),
        (
            cards("FN:Ann\r\nNOTE:" + "x" * (vcard.CARD_MAX + 1)),
            f"The card that starts on line 1 is longer than {vcard.CARD_MAX:,} characters",
        ),
    ],
    ids=[
        "no END", "the last card cut", "=G9", "not UTF-8", "unknown CHARSET",
        "soft break at the end", "unreadable line", "text outside", "too long",
    ],
)  # fmt: skip
def test_a_broken_vcard_is_refused_with_what_to_do(data, message):
    said = refusal(data)
    assert message in said
    assert said.endswith("Export the contacts again as vCard (.vcf) and upload that file.") or (
        "upload the file again" in said
    )


@pytest.mark.parametrize(
    "line",
    ["N;X=" + ",=" * 40 + ';"', "N" + ";X=a,b" * 40 + ';"', "FN_X;Y=" + "a=" * 40 + '"'],
)
def test_a_line_vobject_would_take_minutes_to_refuse_is_refused_at_once(line):
    """vobject's pattern of a property line backtracks exponentially on these (twelve
    pairs took 6 s): vcard.py tells in one pass that they do not match."""
    assert "cannot be read" in refusal(cards("FN:Ann Lee", line))


def test_a_second_encoding_beside_quoted_printable_is_refused_not_a_crash():
    assert refusal(cards("FN;ENCODING=8BIT;ENCODING=QUOTED-PRINTABLE:Ann=20Lee", version="2.1"))
