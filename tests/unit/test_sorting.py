"""Names sort as people expect (issue 22): accents, case and leading spaces do not move a
name, on SQLite and PostgreSQL alike, and paging across them loses and repeats nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert, select, update

from quickcrm.domain import companies, leads, sorting, users
from quickcrm.models import Company, Contact, Lead, User
from tests.conftest import every_page

TODAY = date(2026, 11, 23)
# In the order people expect them, each twice in other clothes.
NAMES = [
    ["acme", "ACME", "  Acme"],
    ["Ångström Labs", "angstrom labs"],
    ["Énergie", "energie", " ÉNERGIE "],
    ["Łódź Trading", "Lodz Trading"],
    ["Ørsted", "orsted"],
    ["zeta", "Zeta", "\tZETA"],
]
ORDER = [key for names in NAMES for key in [sorting.sort_key(names[0])] * len(names)]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("acme", "acme"),
        ("  Énergie  ", "energie"),
        ("Zoë  Quartz\u00a0Smith", "zoe quartz smith"),
        ("Straße", "strasse"),
        ("ﬁsh", "fish"),
        ("Łódź", "lodz"),
        ("ÆON Œuvre", "aeon oeuvre"),
        ("東京 商事", "東京 商事"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_sort_key_drops_accents_case_and_extra_spaces(name, key):
    assert sorting.sort_key(name) == key


def test_a_sort_key_fits_its_column():
    assert len(sorting.sort_key("ﷺ" * 200)) == sorting.SORT_KEY_MAX


def _mixed(names):
    """``names`` interleaved so the ids are not already in the expected order."""
    flat = [name for group in names for name in group]
    return flat[::2] + flat[1::2]


def test_an_object_keeps_its_key_in_step_with_its_name(db):
    company = Company(name="  Énergie", name_key="energie")
    db.add(company)
    db.commit()
    assert company.name_sort == "energie"
    company.name = "Zeta"
    db.commit()
    db.expire_all()
    assert db.get(Company, company.id).name_sort == "zeta"


def test_a_row_inserted_from_a_dict_gets_its_key_from_its_name(db):
    db.execute(insert(Contact), [{"name": " Énergie"}, {"name": "ACME"}])
    db.commit()
    assert set(db.scalars(select(Contact.name_sort))) == {"energie", "acme"}


def test_companies_and_contacts_come_in_the_expected_order_across_pages(db, monkeypatch):
    monkeypatch.setattr(companies, "LIST_LIMIT", 4)
    for name in _mixed(NAMES):
        db.add(Company(name=name, name_key=name))
        db.add(Contact(name=name))
    db.commit()
    listed = {
        Company: lambda after: companies.company_page(db, companies.CompanyQuery(after=after)),
        Contact: lambda after: companies.contact_page(db, companies.ContactQuery(after=after)),
    }
    for model, page_after in listed.items():
        seen, after = [], ""
        while True:
            page = page_after(after)
            assert len(page.rows) <= 4
            seen += page.rows
            if page.after is None:
                break
            after = str(page.after)
        assert [row.name_sort for row in seen] == ORDER, model
        assert len({row.id for row in seen}) == len(ORDER), model
        # Ties (the same key) in the order they were added: by id.
        assert seen == sorted(seen, key=lambda row: (row.name_sort, row.id)), model


def test_the_leads_list_by_name_comes_in_the_expected_order_across_pages(
    db, make_user, monkeypatch
):
    monkeypatch.setattr(leads.listing, "PAGE_SIZE", 4)
    owner = make_user()
    for name in _mixed(NAMES):
        db.add(Lead(name=name, owner=owner))
    db.commit()
    query = leads.LeadQuery.from_args({"sort": "name"})
    seen = every_page(db, query, owner, TODAY)
    assert len(seen) == len(set(seen)) == len(ORDER)
    assert [db.get(Lead, lead_id).name_sort for lead_id in seen] == ORDER
    assert seen == leads.lead_ids(db, query, owner, today=TODAY)


def test_the_users_lists_come_in_the_expected_order(db, make_user):
    for n, name in enumerate(["Zeta", "Émile", "Bob", "adam"]):
        make_user(f"u{n}@example.com", name=name)
    db.execute(update(User).where(User.name == "Bob").values(active=False))
    db.commit()
    db.expire_all()
    assert [u.name for u in users.everyone_by_name(db)] == ["adam", "Bob", "Émile", "Zeta"]
    assert [u.name for u in users.active_users(db)] == ["adam", "Émile", "Zeta"]
    assert [u.name for u in users.list_users(db)] == ["adam", "Émile", "Zeta", "Bob"]


def test_the_migration_computes_the_keys_as_the_application_does():
    import importlib

    migration = importlib.import_module("quickcrm.migrations.versions.0020_name_sort_keys")
    for names in NAMES + [["ÆON", "Straße", "ﬁsh", "東京", "ﷺ" * 200, ""]]:
        for name in names:
            assert migration.sort_key(name) == sorting.sort_key(name)
