"""Duplicate hints while typing (quickcrm/domain/duplicates.py): the records a typed name,
company, email or phone may already be, by the normalised keys, and what each viewer is
told about them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quickcrm.domain import duplicates
from quickcrm.domain.duplicates import Typed
from quickcrm.domain.validation import phone_key
from tests import factories


def found(db, region="GB", **typed):
    return [(m.by, m.kind, m.name) for m in duplicates.find(db, Typed(**typed), region)]


@pytest.fixture
def chris(make_user):
    return make_user("chris@example.com", "rep", "Chris Rep")


@pytest.mark.parametrize("typed", ["Maria Novak", "novak maria", "MARIA NOVÁK", " Novák, Maria "])
def test_a_name_matches_in_any_order_case_and_accents(db, chris, typed):
    factories.lead(db, chris, "María Novák", company_name="Acme")
    assert found(db, name=typed) == [("name", "lead", "María Novák")]


def test_another_name_matches_nothing(db, chris):
    factories.lead(db, chris, "Maria Novak")
    assert found(db, name="Maria Nova") == []
    assert found(db, name="Mario Novak") == []
    assert found(db, name="  ,. ") == []


@pytest.mark.parametrize("typed", ["Maria@Acme.COM", " maria@acme.com "])
def test_an_email_matches_ignoring_case(db, chris, typed):
    factories.lead(db, chris, "Maria Novak", email="maria@acme.com")
    acme = factories.company(db, "Acme Ltd", email_domain="acme.com")
    factories.contact(db, acme, "M. Novak", email="Maria@acme.com")
    assert found(db, email=typed) == [
        ("email", "lead", "Maria Novak"),
        ("email", "contact", "M. Novak"),
        ("email", "company", "Acme Ltd"),
    ]


def test_a_half_typed_email_matches_nothing(db, chris):
    factories.lead(db, chris, "Maria Novak", email="maria@acme.com")
    assert found(db, email="maria") == []
    assert found(db, email="maria@acme") == []


def test_a_free_mail_domain_is_no_company(db, chris):
    factories.company(db, "Gmail users", email_domain="gmail.com")
    factories.company(db, "Acme", email_domain="acme.com")
    assert found(db, email="someone.else@gmail.com") == []
    assert found(db, email="someone.else@acme.com") == [("email", "company", "Acme")]


@pytest.mark.parametrize(
    "typed", ["+44 20 7946 0958", "020 7946 0958", "0044 (20) 7946-0958", "02079460958"]
)
def test_a_phone_matches_in_any_format(db, chris, typed):
    factories.lead(db, chris, "Maria Novak", phone="+44 20 7946 0958")
    acme = factories.company(db, "Acme", phone="020 7946 0958", phone_key="+442079460958")
    factories.contact(db, acme, "Petra Novak", phone="020 7946 0958", phone_key="+442079460958")
    assert found(db, phone=typed) == [
        ("phone", "lead", "Maria Novak"),
        ("phone", "contact", "Petra Novak"),
        ("phone", "company", "Acme"),
    ]


def test_a_short_phone_matches_nothing(db, chris):
    factories.lead(db, chris, "Maria Novak", phone="123 4567")
    assert found(db, phone="4567") == []


def test_a_company_matches_without_its_legal_form(db):
    factories.company(db, "ACME, Inc.")
    assert found(db, company_name="acme ltd") == [("company_name", "company", "ACME, Inc.")]
    assert found(db, company_name="Acme Tools") == []


def test_a_contact_by_name_says_its_company(db, chris):
    acme = factories.company(db, "Acme")
    factories.contact(db, acme, "Maria Novak")
    [match] = duplicates.find(db, Typed(name="novak maria"), "GB")
    assert (match.kind, match.company) == ("contact", "Acme")
    assert duplicates.describe(match, chris, str) == "Maria Novak is already a contact at Acme"


def test_a_business_name_matches_its_company(db):
    factories.company(db, "Acme Ltd")
    assert found(db, name="ACME") == [("name", "company", "Acme Ltd")]


def test_merged_leads_and_companies_are_skipped(db, chris):
    kept = factories.lead(db, chris, "Maria Novak")
    factories.lead(db, chris, "Maria Novak", merged_into_id=kept.id)
    acme = factories.company(db, "Acme")
    factories.company(db, "Acme", merged_into_id=acme.id)
    assert [m.id for m in duplicates.find(db, Typed(name="Maria Novak"), "GB")] == [kept.id]
    assert [m.id for m in duplicates.find(db, Typed(company_name="Acme"), "GB")] == [acme.id]


def test_each_kind_is_limited(db, chris):
    made = [factories.lead(db, chris, "Maria Novak") for _ in range(duplicates.MATCH_LIMIT + 2)]
    matches = duplicates.find(db, Typed(name="Maria Novak"), "GB")
    # The newest first.
    assert [m.id for m in matches] == [lead.id for lead in made[::-1]][: duplicates.MATCH_LIMIT]


def test_a_record_is_told_once_under_the_first_field_that_matched(db, chris):
    factories.lead(db, chris, "Maria Novak", email="maria@acme.com", phone="020 7946 0958")
    typed = Typed(name="Maria Novak", email="maria@acme.com", phone="020 7946 0958")
    assert [m.by for m in duplicates.find(db, typed, "GB")] == ["name"]


def test_a_value_longer_than_any_column_matches_nothing(db, chris):
    factories.lead(db, chris, "x" * 200)
    assert found(db, name="x" * 10_000, email="a@" + "b" * 10_000, phone="9" * 5000) == []


def test_what_a_rep_is_told_of_a_lead(db, chris, make_user):
    other = make_user("ann@example.com", "rep", "Ann Other")
    coordinator = make_user("co@example.com", "coordinator", "Cora")
    lead = factories.lead(
        db, chris, "Maria Novak", company_name="Acme",
        captured_at=datetime(2026, 12, 3, 9, tzinfo=UTC),
    )  # fmt: skip
    [match] = duplicates.find(db, Typed(name="Maria Novak"), "GB")
    assert (match.status, match.owner_name) == ("open", "Chris Rep")

    def day(when):
        return f"{when.day} Dec"

    text = duplicates.describe(match, other, day)
    assert text == "Maria Novak (Acme) is already an open lead of Chris Rep, captured 3 Dec"
    assert duplicates.describe(match, chris, day) == (
        "Maria Novak (Acme) is already your open lead, captured 3 Dec"
    )
    # Who may open it: its owner, coordinators and admins; not another rep.
    assert not duplicates.openable(match, other)
    assert duplicates.openable(match, chris)
    assert duplicates.openable(match, coordinator)
    lead.status, lead.disqualified_reason = "disqualified", "No budget"
    db.commit()
    [match] = duplicates.find(db, Typed(name="Maria Novak"), "GB")
    assert "is already a disqualified lead of Chris Rep" in duplicates.describe(match, other, day)


def test_a_rep_never_gets_a_leads_email_phone_or_note(db, chris):
    factories.lead(
        db, chris, "Maria Novak", email="maria@acme.com", phone="020 7946 0958", note="secret"
    )
    [match] = duplicates.find(db, Typed(email="maria@acme.com"), "GB")
    told = repr(match)
    assert "maria@acme.com" not in told and "7946" not in told and "secret" not in told


def test_companies_and_contacts_open_for_everyone(db, chris):
    acme = factories.company(db, "Acme", phone_key=phone_key("020 7946 0958", "GB"))
    assert all(duplicates.openable(m, chris) for m in duplicates.find(db, Typed(name="Acme"), "GB"))
    assert duplicates.describe(duplicates.find(db, Typed(name="Acme"), "GB")[0], chris, str) == (
        "Acme is already a company"
    )
    assert acme.id
