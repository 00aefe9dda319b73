"""Reading a business card's text lines into a lead's fields (no OCR here: the lines are
what the OCR model gives, with its known slips)."""

from __future__ import annotations

from datetime import datetime

import pytest

from quickcrm.domain import cards
from quickcrm.domain.leads import field_checks

LAYOUTS = [
    # company on top, run together; title glued; phone and email/website on their lines
    (
        ["BRIGHTWAVETECHNOLOGIESLTD", "Jane Doe", "Headof Sales", "Tel +44 20 7946 0958",
         "jane.doe@brightwave.co.ukwww.brightwave.co.uk", "12 High Street, London EC1A 1BB"],
        {"name": "Jane Doe", "company": "BRIGHTWAVE TECHNOLOGIES LTD", "title": "Head of Sales",
         "email": "jane.doe@brightwave.co.uk", "phone": "+44 20 7946 0958",
         "website": "www.brightwave.co.uk"},
    ),
    # German card: local numbers read in the address's region, a fax left out, umlauts
    # the OCR dropped restored where the email spells them ("mueller"; not the initial "j")
    (
        ["Kessler Maschinenbau GmbH", "Jurgen Muller", "Geschaftsfuhrer", "Hauptstraße 12",
         "10115 Berlin", "Fax 030 1234568", "Tel. 030 1234567", "j.mueller@kessler.de"],
        {"name": "Jurgen Müller", "company": "Kessler Maschinenbau GmbH",
         "title": "Geschäftsführer", "email": "j.mueller@kessler.de", "phone": "+49 30 1234567",
         "website": None},
    ),
    # person first, title and name on one line, labelled phones side by side
    (
        ["Jane Smith, VP Sales", "Northwind Traders Inc.", "T: (415) 555-0132 | M: (415) 555-0199",
         "jsmith@northwind.com | www.northwind.com", "500 Market St, San Francisco, CA 94105"],
        {"name": "Jane Smith", "company": "Northwind Traders Inc.", "title": "VP Sales",
         "email": "jsmith@northwind.com", "phone": "+1 415-555-0132",
         "website": "www.northwind.com"},
    ),
    # a French card in capitals without a legal form: the company from the email's domain
    (
        ["ACME ROBOTICS", "PIERRE DUBOIS", "Directeur commercial",
         "12 rue de la Paix, 75002 Paris", "+33 1 42 68 53 00", "pierre.dubois@acme-robotics.fr"],
        {"name": "Pierre Dubois", "company": "ACME ROBOTICS", "title": "Directeur commercial",
         "email": "pierre.dubois@acme-robotics.fr", "phone": "+33 1 42 68 53 00",
         "website": None},
    ),
    # an initial read as a digit, spaces lost around the phone's label
    (
        ["Lukas Schneider", "Key Account Manager", "NORTHWINDTRADERSINC", "Tel+1415-555-4279",
         "1.schneider@northwind.com", "www.northwind.com"],
        {"name": "Lukas Schneider", "company": "NORTHWIND TRADERS INC",
         "title": "Key Account Manager", "email": "l.schneider@northwind.com",
         "phone": "+1 415-555-4279", "website": "www.northwind.com"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("lines", "want"), LAYOUTS)
def test_a_card_of_each_layout_gives_its_fields(lines, want):
    card = cards.read_card(lines)
    assert {field: getattr(card, field) for field in want} == want


def test_an_initial_misread_in_the_email_is_mended_from_the_name():
    assert cards.read_card(["Lukas Schneider", "i.schneider@northwind.com"]).email == (
        "l.schneider@northwind.com"
    )
    assert cards.read_card(["Ian Shaw", "i.shaw@example.com"]).email == "i.shaw@example.com"


def test_a_word_glued_after_the_email_is_cut_off():
    card = cards.read_card(["Oliver Bennett", "oliver.bennett@brightwave.co.ukLondon EC1A 1BB"])
    assert card.email == "oliver.bennett@brightwave.co.uk"


def test_local_numbers_use_the_configured_region_when_the_card_has_no_address():
    card = cards.read_card(["Ann Lee", "ann@example.org", "020 7946 0958"], region="GB")
    assert card.phone == "+44 20 7946 0958"


def test_the_tallest_line_is_the_name_when_nothing_else_tells():
    card = cards.read_card([("Sales Manager", 30), ("Maria Lopez", 60), ("Tom Baker", 30)])
    assert card.name == "Maria Lopez"
    assert card.title == "Sales Manager"


def test_nothing_readable_gives_an_empty_card():
    card = cards.read_card(["", "   ", "~~"])
    assert not card.email and not card.phone and not card.name


def test_a_capture_is_filled_only_where_the_rep_left_it_empty():
    card = cards.read_card(LAYOUTS[0][0])
    checks = field_checks(today=datetime(2026, 11, 29).date(), phone_region=None)
    typed = {"name": "Jane D.", "email": "", "note": "Met at the fair"}
    filled = cards.fill_capture(typed, card, checks=checks, when=datetime(2026, 11, 29, 10, 32))
    assert filled["name"] == "Jane D."
    assert filled["email"] == "jane.doe@brightwave.co.uk"
    assert filled["company_name"] == "BRIGHTWAVE TECHNOLOGIES LTD"
    assert filled["note"] == "Met at the fair\nHead of Sales\nwww.brightwave.co.uk"


def test_a_card_with_no_name_is_called_after_its_time():
    checks = field_checks(today=datetime(2026, 11, 29).date(), phone_region=None)
    filled = cards.fill_capture(
        {"name": ""}, None, checks=checks, when=datetime(2026, 11, 29, 10, 32)
    )
    assert filled["name"] == "Card of 29 Nov 10:32"


def test_a_misread_value_the_form_would_refuse_is_left_out():
    card = cards.Card(name="Ann Lee", phone="12")
    checks = field_checks(today=datetime(2026, 11, 29).date(), phone_region=None)
    assert cards.form_fields(card, checks) == {"name": "Ann Lee"}
