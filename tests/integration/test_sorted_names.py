"""Names sort as people expect on the pages and after an import (issue 22): imported rows
get their sort keys from the bulk insert, which bypasses the ORM."""

from __future__ import annotations

from sqlalchemy import select

from quickcrm.domain.sorting import sort_key
from quickcrm.models import Company, Contact, Lead
from tests.integration.test_import import finish, import_id_of, start, upload


def test_the_companies_page_lists_names_as_people_expect(client, rep, db):
    for name in ("Zeta", "  Énergie", "acme"):
        db.add(Company(name=name, name_key=name))
    db.commit()
    page = client.get("/companies/").get_data(as_text=True)
    assert page.index("acme") < page.index("Énergie") < page.index("Zeta")


def test_imported_leads_companies_and_contacts_get_their_sort_keys(client, admin, db):
    leads_csv = "Name,Email\n Énergie Ann,ann@example.com\nZOË Bloggs,zoe@example.com\n"
    import_id = import_id_of(upload(client, leads_csv.encode()))
    assert start(client, import_id).status_code == 303
    finish(client, import_id)
    companies_csv = "Company name,Contact\nÉcole Zeta,Ann Ørsted\n"
    import_id = import_id_of(upload(client, companies_csv.encode(), kind="companies"))
    assert start(client, import_id).status_code == 303
    finish(client, import_id)
    db.expire_all()
    for model in (Lead, Company, Contact):
        rows = db.scalars(select(model)).all()
        assert rows and all(row.name_sort == sort_key(row.name) for row in rows), model
    assert {row.name_sort for row in db.scalars(select(Lead))} == {"energie ann", "zoe bloggs"}
