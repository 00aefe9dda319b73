"""vCards read back by a vCard parser (vobject): one card, the contact's own fields, and no
property that a value smuggled in with a line break."""

from __future__ import annotations

import pytest
import vobject

from quickcrm.domain import companies
from quickcrm.models import Company, Contact

# Every kind of line break a reader may split on: CR LF, CR, LF, vertical tab, form feed,
# the file/group/record separators, NEL, and Unicode's line and paragraph separators.
BREAKS = {
    "CRLF": "\r\n", "CR": "\r", "LF": "\n", "VT": "\x0b", "FF": "\x0c", "FS": "\x1c", "GS": "\x1d",
    "RS": "\x1e", "NEL": "\x85", "LS": "\u2028", "PS": "\u2029",
}  # fmt: skip
PROPERTIES = {"version", "fn", "n", "org", "title", "tel", "email"}


def contact(**fields) -> Contact:
    company = fields.pop("company", "Acme")
    return Contact(company=Company(name=company, name_key="acme"), **fields)


def read_one(card: str):
    """The only card in ``card``, parsed."""
    cards = list(vobject.readComponents(card))
    assert len(cards) == 1, card
    return cards[0]


def test_a_plain_contact_reads_back_field_for_field():
    card = read_one(
        companies.vcard(
            contact(
                name="Jo Bloggs",
                title="Buyer",
                company="Acme, Inc.",
                phone="+44 20 7946 0000",
                email="jo@acme.example",
            )
        )  # fmt: skip
    )
    assert set(card.contents) == PROPERTIES
    assert (card.fn.value, card.n.value.family, card.n.value.given) == ("Jo Bloggs", "Bloggs", "Jo")
    assert (card.org.value, card.title.value) == (["Acme, Inc."], "Buyer")
    assert (card.tel.value, card.tel.params["TYPE"]) == ("+44 20 7946 0000", ["WORK", "VOICE"])
    assert (card.email.value, card.email.params["TYPE"]) == ("jo@acme.example", ["INTERNET"])


@pytest.mark.parametrize("brk", BREAKS.values(), ids=BREAKS.keys())
def test_no_line_break_in_any_field_starts_a_property_of_its_own(brk):
    """A line break in a one-line field is a space: the card holds the same words, on one
    line each, and nothing the values tried to add."""
    hostile = contact(
        name=f"Jo{brk}EMAIL:evil@attacker.example{brk}Bloggs",
        title=f"Buyer{brk}URL:http://attacker.example",
        company=f"Acme;{brk}END:VCARD{brk}BEGIN:VCARD",
        phone=f"+44 20 7946 0000{brk}TEL:+1 900 555 0100",
        email=f"jo@acme.example{brk}X-EVIL:1",
    )
    text = companies.vcard(hostile)
    card = read_one(text)
    assert set(card.contents) == PROPERTIES
    assert card.fn.value == "Jo EMAIL:evil@attacker.example Bloggs"
    assert (card.n.value.family, card.n.value.given) == ("Bloggs", "Jo EMAIL:evil@attacker.example")
    assert card.title.value == "Buyer URL:http://attacker.example"
    assert card.org.value == ["Acme; END:VCARD BEGIN:VCARD"]
    assert card.tel.value == "+44 20 7946 0000 TEL:+1 900 555 0100"
    assert card.email.value == "jo@acme.example X-EVIL:1"
    # Read as lines by any rule (Python's splits on every kind above), each line is one of
    # the card's own properties or a folded continuation.
    starts = ("BEGIN:", "VERSION:", "FN:", "N:", "ORG:", "TITLE:", "TEL;", "EMAIL;", "END:", " ")
    assert all(line.startswith(starts) for line in text.splitlines()), text
    assert [line for line in text.splitlines() if line.startswith(("BEGIN:", "END:"))] == [
        "BEGIN:VCARD",
        "END:VCARD",
    ]


def test_separators_backslashes_and_long_unicode_values_round_trip():
    name = "Zoë \\ Müller; Ng, 山田" + " é" * 60  # longer than a line: folded, not cut
    title = "Head of sales; EMEA, APAC \\ partners"
    company = "Keller & Sons; GmbH, \\Zürich"
    card = read_one(companies.vcard(contact(name=name, title=title, company=company)))
    assert set(card.contents) == {"version", "fn", "n", "org", "title"}
    assert (card.fn.value, card.title.value, card.org.value) == (name, title, [company])
    family, given = name.rsplit(" ", 1)[::-1]
    assert (card.n.value.family, card.n.value.given) == (family, given)


def test_a_break_and_spaces_around_it_become_one_space():
    card = read_one(companies.vcard(contact(name="  Jo \r\n\t Bloggs\u2028", title="A\n\nB")))
    assert (card.fn.value, card.title.value) == ("Jo Bloggs", "A B")
