"""A Categories column in a CSV import: names split on ";" or ",", matched without case,
a new name added to Admin → Categories (an import is an admin's)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from quickcrm.domain import categories
from quickcrm.models import Company, Lead
from tests import factories
from tests.integration.test_import import finish, import_id_of, mapping_form, start, upload


def test_imported_leads_get_their_categories(client, admin, db):
    factories.category(db, "North of the river", 1)
    data = (
        b"Name,Email,Tags\n"
        b"Ann Smith,ann@acme.example,north of the river; Retail\n"
        b"Bob Jones,bob@globex.example,\n"
        b'Cleo Ng,cleo@initech.example,"Retail, Big firm, retail"\n'
    )
    import_id = import_id_of(upload(client, data))
    guessed = mapping_form(client, import_id)
    assert guessed["column_2"] == "categories"
    assert ">Categories<" in client.get(f"/admin/import/{import_id}").get_data(as_text=True)
    assert start(client, import_id).status_code == 303
    finish(client, import_id)
    db.expire_all()
    tags = {lead.name: [c.name for c in lead.categories] for lead in db.scalars(select(Lead))}
    assert tags == {
        "Ann Smith": ["North of the river", "Retail"],
        "Bob Jones": [],
        "Cleo Ng": ["Retail", "Big firm"],
    }
    assert [c.name for c in categories.ordered(db)] == ["North of the river", "Retail", "Big firm"]


@pytest.mark.parametrize("kind", ["companies"])
def test_imported_companies_get_their_categories(client, admin, db, kind):
    data = (
        b"Company name,Contact,Categories\n"
        b"Acme Ltd,Ann Smith,South\n"
        b"ACME,Bob Jones,Retail;South\n"
        b"Initech,,\n"
    )
    import_id = import_id_of(upload(client, data, kind=kind))
    assert mapping_form(client, import_id)["column_2"] == "categories"
    assert start(client, import_id).status_code == 303
    finish(client, import_id)
    db.expire_all()
    tags = {c.name: [x.name for x in c.categories] for c in db.scalars(select(Company))}
    assert tags == {"Acme Ltd": ["South", "Retail"], "Initech": []}
