"""The keys duplicate matching compares (quickcrm/domain/keys.py), and how the models keep
them in step with the values they are made from, whichever way a lead or contact is
written."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from quickcrm.domain.keys import email_key, keys_of, person_key, phone_tail
from quickcrm.domain.leads import LeadForm, store_capture
from quickcrm.models import Contact, Lead
from tests import factories


@pytest.mark.parametrize(
    "a, b",
    [
        ("Maria Novak", "maria novak"),
        ("Novák, Maria", "MARIA  NOVÁK"),
        ("  Łukasz Żółć ", "zolc lukasz"),
        ("Jean-Luc Picard", "Picard Jean Luc"),
        ("Ørsted", "orsted"),
    ],
)
def test_person_keys_match_across_order_case_accents_and_punctuation(a, b):
    assert person_key(a) == person_key(b) != ""


@pytest.mark.parametrize("a, b", [("Maria Novak", "Mario Novak"), ("Ann Lee", "Ann Leed")])
def test_different_people_keep_different_keys(a, b):
    assert person_key(a) != person_key(b)


def test_person_key_of_nothing_is_empty_and_never_longer_than_its_column():
    assert person_key(None) == person_key("  ,. ") == ""
    assert len(person_key("ﷺ " * 200)) == 200


def test_email_keys_ignore_case_and_spaces_and_need_an_at():
    assert email_key("  Maria.Novak@ACME.com ") == "maria.novak@acme.com"
    assert email_key("not an address") is None
    assert email_key(None) is None


@pytest.mark.parametrize(
    "phone",
    ["+44 20 7946 0958", "020 7946 0958", "0044 (20) 7946-0958", "+44 20 7946 0958 ext. 12"],
)
def test_one_number_written_many_ways_has_one_tail(phone):
    assert phone_tail(phone) == "079460958"


def test_a_short_number_has_no_tail():
    assert phone_tail("12 34") is None
    assert phone_tail("") is None
    assert phone_tail(None) is None


def test_full_width_digits_count_as_digits():
    assert phone_tail("０２０ ７９４６ ０９５８") == "079460958"


def test_keys_of_a_bulk_write_cover_only_the_values_it_sets():
    assert keys_of("lead", {"name": "Ann Lee", "note": "x"}) == {"name_key": "ann lee"}
    assert keys_of("lead", {"email": "A@B.C", "phone": "+1 415 555 0100"}) == {
        "email_key": "a@b.c",
        "phone_tail": "155550100",
    }
    assert keys_of("contact", {"name": "Bo", "email": "b@c.d"}) == {"name_key": "bo"}
    assert keys_of("company", {"name": "Acme"}) == {}


def test_a_lead_gets_its_keys_when_made_and_when_edited(db, make_user):
    lead = factories.lead(
        db, make_user(), name="Novák, Maria", email="M@Acme.com", phone="020 7946 0958"
    )
    assert (lead.name_key, lead.email_key, lead.phone_tail) == (
        "maria novak",
        "m@acme.com",
        "079460958",
    )
    lead.name, lead.email, lead.phone = "Ann Lee", None, "+1 415 555 0100"
    db.commit()
    db.expire_all()
    stored = db.get(Lead, lead.id)
    assert (stored.name_key, stored.email_key, stored.phone_tail) == ("ann lee", None, "155550100")


def test_a_capture_stored_without_the_orm_gets_its_keys(db, make_user):
    form = LeadForm.clean(
        None,
        {"name": "Maria Novak", "email": "Maria@Acme.com", "phone": "+44 20 7946 0958"},
        today=date(2026, 12, 6),
        phone_region="GB",
    )
    outcome = store_capture(db, make_user(), form, uuid.uuid4())
    db.commit()
    keys = db.execute(
        select(Lead.name_key, Lead.email_key, Lead.phone_tail).where(Lead.id == outcome.lead_id)
    ).one()
    assert tuple(keys) == ("maria novak", "maria@acme.com", "079460958")


def test_a_contact_gets_its_name_key(db):
    contact = factories.contact(db, factories.company(db), name="Émile  ZOLA")
    assert contact.name_key == "emile zola"
    contact.name = "Zola Émile"
    db.commit()
    assert db.scalar(select(Contact.name_key).where(Contact.id == contact.id)) == "emile zola"
