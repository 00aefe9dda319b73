"""Matching a lead to the companies and contacts it may belong to (domain/matching.py)."""

from __future__ import annotations

import pytest

from quickcrm.domain import matching
from quickcrm.models import Company
from tests import factories


@pytest.mark.parametrize(
    ("a", "b"),
    [("Acme Inc", "ACME, Inc."), ("Müller GmbH", "muller"), ("Foo S.A.R.L.", "foo"),
     ("Bar B.V.", "BAR bv"), ("Widgets Ltd.", "widgets limited")],
)  # fmt: skip
def test_company_names_match_ignoring_case_punctuation_and_legal_form(a, b):
    assert matching.name_key(a) == matching.name_key(b)


def test_different_companies_do_not_match():
    assert matching.name_key("Acme Inc") != matching.name_key("Acme Tools Inc")


def test_free_mail_domains_never_match():
    assert matching.email_domain("jo@gmail.com") is None
    assert matching.email_domain("Jo@Acme.COM") == "acme.com"


def test_suggestions_by_name_domain_and_phone_but_not_gmail(db, make_user):
    owner = make_user()
    acme = Company(name="ACME, Inc.", name_key="acme", email_domain="acme.com")
    other = Company(name="Other", name_key="other", phone_key="+442079460000")
    gmail = Company(name="Gmail user co", name_key="gmail user co", email_domain="gmail.com")
    db.add_all([acme, other, gmail])
    db.commit()
    by_name = factories.lead(db, owner, company_name="Acme Inc")
    by_domain = factories.lead(db, owner, email="jo@acme.com")
    by_phone = factories.lead(db, owner, phone="020 7946 0000")
    free = factories.lead(db, owner, email="jo@gmail.com")
    assert matching.suggest_companies(db, by_name, "GB") == [acme]
    assert matching.suggest_companies(db, by_domain, "GB") == [acme]
    assert matching.suggest_companies(db, by_phone, "GB") == [other]
    assert matching.suggest_companies(db, by_phone, "GB") == [other]
    assert matching.suggest_companies(db, free, "GB") == []
