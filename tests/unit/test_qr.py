"""What a card's or badge's QR code holds, read as a lead's fields (quickcrm/domain/cards/
qr.py): vCard 2.1, 3.0 and 4.0, a vCard inside other text, MeCard with its escapes, a
website alone — and nothing from garbage, binary, huge or empty text. The same payloads
go through the browser's twin parser in tests/e2e/test_qr.py."""

from __future__ import annotations

from datetime import date

import pytest

from quickcrm.domain.cards import qr
from quickcrm.domain.leads import field_checks

VCARD_21 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BCller\r\n"
    "ORG:Kessler Maschinenbau GmbH\r\n"
    "TITLE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Gesch=C3=A4ftsf=C3=BChrer\r\n"
    "TEL;WORK;VOICE:+49 30 1234567\r\n"
    "TEL;CELL:+49 170 1234567\r\n"
    "EMAIL;INTERNET:j.mueller@kessler.de\r\n"
    "ADR;WORK;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;Hauptstra=C3=9Fe 12;Berlin;;10115;=\r\n"
    "Germany\r\n"
    "NOTE;ENCODING=QUOTED-PRINTABLE:Met at the fair=0D=0Ahall 3\r\n"
    "END:VCARD\r\n"
)
VCARD_30 = (
    "BEGIN:VCARD\n"
    "VERSION:3.0\n"
    "N:Doe;Jane;;;\n"
    "FN:Jane Doe\n"
    "ORG:Brightwave Technologies Ltd;Sales\n"
    "TITLE:Head of Sales\n"
    "TEL;TYPE=WORK,VOICE:+44 20 7946 0958\n"
    "EMAIL;TYPE=INTERNET,WORK:jane.doe@brightwave.co.uk\n"
    "URL:https\\://www.brightwave.co.uk\n"
    "ADR;TYPE=WORK:;;12 High Street;London;;EC1A 1BB;UK\n"
    "NOTE:Wants a demo\\, next week\\nCall after 10\n"
    "END:VCARD\n"
)
VCARD_40 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Ann Lee\r\n"
    "N:Lee;Ann;;;\r\n"
    'ORG:Harbor "Analytics" Inc\r\n'
    "EMAIL;TYPE=home:ann@home.example\r\n"
    "EMAIL;PREF=1;TYPE=work:ann.lee@harbor.example\r\n"
    'TEL;VALUE=uri;TYPE="cell,voice":tel:+1-415-555-0100\r\n'
    "URL:https://harbor.example/ann\r\n"
    "END:VCARD\r\n"
)
IN_TEXT = (
    "Thanks for visiting stand B12!\n"
    "BEGIN:VCARD\nVERSION:3.0\nFN:Marco Rossi\nORG:Redstone Consulting Ltd\n"
    "EMAIL:marco@redstone.example\nEND:VCARD\nScan again for the brochure."
)
MECARD = (
    "MECARD:N:Dubois,Pierre;TEL:+33142685300;TEL:+33612345678;EMAIL:pierre@acme.example;"
    "ORG:Smith\\; Sons\\, Ltd;TITLE:Directeur commercial;URL:https\\://acme.example;"
    "ADR:12 rue de la Paix\\, 75002 Paris;NOTE:Prefers email\\: mornings \\\\ weekdays;;"
)
URL_ONLY = "https://www.northwind.example/jsmith"

# (payload, what it holds) — shared with tests/e2e/test_qr.py, which runs static/js/qr.js.
PAYLOADS = [
    (
        VCARD_21,
        {"kind": "contact", "name": "Jürgen Müller", "company": "Kessler Maschinenbau GmbH",
         "title": "Geschäftsführer", "email": "j.mueller@kessler.de",
         "phone": "+49 170 1234567", "website": "",
         "address": "Hauptstraße 12, Berlin, 10115, Germany",
         "note": "Met at the fair\nhall 3\nWork phone: +49 30 1234567"},
    ),
    (
        VCARD_30,
        {"kind": "contact", "name": "Jane Doe", "company": "Brightwave Technologies Ltd",
         "title": "Head of Sales", "email": "jane.doe@brightwave.co.uk",
         "phone": "+44 20 7946 0958", "website": "https://www.brightwave.co.uk",
         "address": "12 High Street, London, EC1A 1BB, UK",
         "note": "Wants a demo, next week\nCall after 10"},
    ),
    (
        VCARD_40,
        {"kind": "contact", "name": "Ann Lee", "company": 'Harbor "Analytics" Inc',
         "title": "", "email": "ann.lee@harbor.example", "phone": "+1-415-555-0100",
         "website": "https://harbor.example/ann", "address": "",
         "note": "Home email: ann@home.example"},
    ),
    (
        IN_TEXT,
        {"kind": "contact", "name": "Marco Rossi", "company": "Redstone Consulting Ltd",
         "title": "", "email": "marco@redstone.example", "phone": "", "website": "",
         "address": "", "note": ""},
    ),
    (
        MECARD,
        {"kind": "contact", "name": "Pierre Dubois", "company": "Smith; Sons, Ltd",
         "title": "Directeur commercial", "email": "pierre@acme.example",
         "phone": "+33142685300", "website": "https://acme.example",
         "address": "12 rue de la Paix, 75002 Paris",
         "note": "Prefers email: mornings \\ weekdays\nOther phone: +33612345678"},
    ),
    (
        URL_ONLY,
        {"kind": "url", "name": "", "company": "", "title": "", "email": "", "phone": "",
         "website": URL_ONLY, "address": "", "note": ""},
    ),
    ("  www.lumen.example  ", {"kind": "url", "name": "", "company": "", "title": "",
                               "email": "", "phone": "", "website": "www.lumen.example",
                               "address": "", "note": ""}),
]  # fmt: skip

# Text that holds nothing a lead keeps: no fill, no crash (None in the browser too).
NOTHING = [
    "",
    "   \n ",
    "hello",
    "TICKET-2026-000123",
    "WIFI:T:WPA;S:Fair;P:secret;;",
    "MECARD:;;",
    "MECARD:",
    "BEGIN:VCARD\nVERSION:3.0\nEND:VCARD",
    "BEGIN:VCARD\nVERSION:3.0\nX-SOMETHING:else\nEND:VCARD",
    "BEGIN:VCARD\nthis is not a property\nEND:VCARD",
    "BEGIN:VCARD\nFN;ENCODING=QUOTED-PRINTABLE:broken=ZZ\nEND:VCARD",
    "Ann\x00Lee",
    "BEGIN:VCARD\nFN:Ann\x00Lee\nEND:VCARD",
    "MECARD:N:Lee,Ann\x07;;",
    "https://example.com/has space",
    "javascript:alert(1)",
    "x" * (qr.PAYLOAD_MAX + 1),
    # vobject's pattern backtracks exponentially on these (minutes): refused in one pass
    "BEGIN:VCARD\nN;X=" + ",=" * 40 + ';"\nEND:VCARD',
    "BEGIN:VCARD\nN" + ";X=a,b" * 40 + ';"\nEND:VCARD',
    "BEGIN:VCARD\nFN_X;Y=" + "a=" * 40 + '"\nEND:VCARD',
    # a second ENCODING beside quoted-printable (vobject raised TypeError)
    "BEGIN:VCARD\nFN;ENCODING=8BIT;ENCODING=QUOTED-PRINTABLE:Ann=20Lee\nEND:VCARD",
    "BEGIN:VCARD\nFN:Ann\nNOTE:" + "y" * qr.PAYLOAD_MAX + "\nEND:VCARD",
]


@pytest.mark.parametrize(("payload", "want"), PAYLOADS, ids=lambda p: str(p)[:20])
def test_each_kind_of_payload_gives_its_exact_values(payload, want):
    card = qr.parse(payload)
    assert card is not None
    assert card.as_dict() == want
    assert card.exact == (want["kind"] == "contact")


@pytest.mark.parametrize("payload", NOTHING, ids=lambda p: repr(p)[:24])
def test_garbage_empty_and_huge_text_give_nothing(payload):
    assert qr.parse(payload) is None


@pytest.mark.parametrize(
    "payload",
    [None, 42, b"\xff\xfe\x00\x01binary", "Ann \ud800 Lee", "BEGIN:VCARD\nFN:\udfff\nEND:VCARD"],
)
def test_binary_surrogates_and_other_objects_give_nothing(payload):
    assert qr.parse(payload) is None


def test_utf8_bytes_are_read_as_text():
    card = qr.parse("MECARD:N:Müller,Jürgen;;".encode())
    assert card is not None and card.name == "Jürgen Müller"


def test_a_vcard_without_its_end_line_is_read_to_the_end_of_the_text():
    card = qr.parse("BEGIN:VCARD\nVERSION:3.0\nFN:Noah Clarke\nTEL:+44 20 7946 0001")
    assert card is not None
    assert (card.name, card.phone) == ("Noah Clarke", "+44 20 7946 0001")


def test_a_card_that_names_only_its_company():
    card = qr.parse("BEGIN:VCARD\nVERSION:3.0\nORG:Lumen Systems GmbH\nEND:VCARD")
    assert card is not None and card.name == ""
    assert qr.form_fields(card, checks())["name"] == "Lumen Systems GmbH"


# --- As the capture form's fields ----------------------------------------------------------


def checks(**extra):
    return {**field_checks(today=date(2026, 12, 6), phone_region="GB"), **extra}


def test_a_vcard_fills_the_form_with_title_website_and_address_in_the_note():
    # A form without an Address field (the photo path's fields before issue 29's item 5).
    no_address = {name: check for name, check in checks().items() if name != "address"}
    fields = qr.form_fields(qr.parse(VCARD_30), no_address)
    assert fields == {
        "name": "Jane Doe",
        "company_name": "Brightwave Technologies Ltd",
        "email": "jane.doe@brightwave.co.uk",
        "phone": "+44 20 7946 0958",
        "note": "Head of Sales\nWebsite: https://www.brightwave.co.uk\n"
        "Address: 12 High Street, London, EC1A 1BB, UK\nWants a demo, next week\nCall after 10",
    }


def test_the_address_goes_to_its_field_where_the_form_has_one():
    fields = qr.form_fields(qr.parse(VCARD_30), checks(address=lambda s: s))
    assert fields["address"] == "12 High Street, London, EC1A 1BB, UK"
    assert "Address:" not in fields["note"]


def test_a_website_alone_fills_the_note():
    assert qr.form_fields(qr.parse(URL_ONLY), checks()) == {"note": f"Website: {URL_ONLY}"}


def test_a_value_the_form_refuses_is_kept_in_the_note_not_lost():
    card = qr.parse("MECARD:N:Lee,Ann;TEL:12;EMAIL:not-an-email;;")
    fields = qr.form_fields(card, checks())
    assert fields == {"name": "Ann Lee", "note": "Email: not-an-email\nPhone: 12"}


def test_a_name_longer_than_the_form_takes_is_left_out():
    card = qr.parse("MECARD:N:" + "A" * 300 + ";EMAIL:ann@example.com;;")
    assert qr.form_fields(card, checks()) == {"email": "ann@example.com"}
