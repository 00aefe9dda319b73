"""Admin → Categories over HTTP: add, rename, reorder, remove (saying how many had it)."""

from __future__ import annotations

import pytest

from quickcrm.domain import categories
from quickcrm.models import Category, LeadCategory
from tests import factories
from tests.conftest import csrf_token


def test_an_admin_manages_the_categories(client, admin, db):
    index = client.get("/admin").get_data(as_text=True)
    assert ">Categories</a>" in index
    token = csrf_token(client, "/admin/categories")
    for name in ("Retail", "North of the river"):
        added = client.post("/admin/categories", data={"csrf_token": token, "name": name})
        assert added.status_code == 303
    page = client.get("/admin/categories").get_data(as_text=True)
    assert "Retail" in page and "not used yet" in page
    twice = client.post("/admin/categories", data={"csrf_token": token, "name": "retail"})
    assert twice.status_code == 422
    assert "already in the list" in twice.get_data(as_text=True)
    north = db.query(Category).filter_by(name="North of the river").one()
    moved = client.post(
        f"/admin/categories/{north.id}/move", data={"csrf_token": token, "direction": "up"}
    )
    assert moved.status_code == 303
    renamed = client.post(
        f"/admin/categories/{north.id}", data={"csrf_token": token, "name": "North"}
    )
    assert renamed.status_code == 303
    db.expire_all()
    assert [c.name for c in categories.ordered(db)] == ["North", "Retail"]
    blank = client.post(f"/admin/categories/{north.id}", data={"csrf_token": token, "name": ""})
    assert blank.status_code == 422 and "Enter the category" in blank.get_data(as_text=True)
    lead = factories.lead(db, admin)
    db.add(LeadCategory(lead_id=lead.id, category_id=north.id))
    db.commit()
    page = client.get("/admin/categories").get_data(as_text=True)
    assert "1 lead will lose it" in page  # what the confirmation asks
    removed = client.post(
        f"/admin/categories/{north.id}/remove", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Removed the category North (1 lead had it)." in removed.get_data(as_text=True)
    db.expire_all()
    assert [c.name for c in categories.ordered(db)] == ["Retail"]


def test_hostile_names_get_a_message(client, admin):
    token = csrf_token(client, "/admin/categories")
    for name in ("A\x00B", "x" * 121):
        response = client.post("/admin/categories", data={"csrf_token": token, "name": name})
        assert response.status_code in (400, 422), name[:5]


@pytest.mark.commits  # the export streams from a session of its own
def test_the_leads_list_filter_keeps_the_category_in_its_links(client, coordinator, db):
    north = factories.category(db, "North", 1)
    ann = factories.lead(db, coordinator, "Ann Tagged")
    factories.lead(db, coordinator, "Bob Untagged")
    db.add(LeadCategory(lead_id=ann.id, category_id=north.id))
    db.commit()
    page = client.get(f"/leads/?category={north.id}").get_data(as_text=True)
    assert "Ann Tagged" in page and "Bob Untagged" not in page
    assert f"category={north.id}" in page  # export, sort and review links keep it
    assert 'for="category">Category' in page
    review = client.get(f"/leads/review?category={north.id}").get_data(as_text=True)
    assert "Ann Tagged" in review and "1 of 1" in review and "Categories" in review
    export = client.get(f"/leads/export.csv?category={north.id}").get_data(as_text=True)
    assert "Ann Tagged" in export and "Bob Untagged" not in export


def test_the_lead_page_shows_and_edits_categories(client, rep, db, make_user):
    north = factories.category(db, "North", 1)
    south = factories.category(db, "South", 2)
    lead = factories.lead(db, rep, "Ann Tagged")
    db.add(LeadCategory(lead_id=lead.id, category_id=north.id))
    db.commit()
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "<dt>Categories</dt>" in page and "<li>North</li>" in page
    form = client.get(f"/leads/{lead.id}/fields/categories?edit=1", headers={"HX-Request": "1"})
    assert f'value="{north.id}" checked' in form.get_data(as_text=True)
    token = csrf_token(client, "/")
    url = f"/leads/{lead.id}/fields/categories"
    saved = client.post(
        url, data={"csrf_token": token, "categories": [str(south.id), "999999", "x"]}
    )
    assert saved.status_code == 303
    db.expire_all()
    assert [c.name for c in db.get(type(lead), lead.id).categories] == ["South"]
    cleared = client.post(url, data={"csrf_token": token})
    assert cleared.status_code == 303
    db.expire_all()
    assert db.get(type(lead), lead.id).categories == []
    others = factories.lead(db, make_user("other@example.com"), "Not Mine")
    mine_not = client.post(f"/leads/{others.id}/fields/categories", data={"csrf_token": token})
    assert mine_not.status_code == 403


def test_the_company_page_shows_its_categories(client, rep, db):
    from quickcrm.models import CompanyCategory

    north = factories.category(db, "North of the river", 1)
    acme = factories.company(db, "Acme")
    db.add(CompanyCategory(company_id=acme.id, category_id=north.id))
    db.commit()
    page = client.get(f"/companies/{acme.id}").get_data(as_text=True)
    assert "Categories: </span>" in page and ">North of the river</span>" in page


def test_the_forecast_shows_the_breakdown_by_category(client, coordinator, db):
    page = client.get("/forecast").get_data(as_text=True)
    assert "By category" not in page  # no categories, no table
    factories.category(db, "North", 1)
    page = client.get("/forecast").get_data(as_text=True)
    assert 'id="by-category">By category' in page and "counts in both" in page
    assert "(no category)" in page


def test_a_coordinator_edits_a_companys_categories(client, coordinator, db):
    from quickcrm.models import Company

    north = factories.category(db, "North", 1)
    south = factories.category(db, "South", 2)
    acme = factories.company(db, "Acme")
    page = client.get(f"/companies/{acme.id}").get_data(as_text=True)
    assert 'name="categories_shown"' in page and f'value="{north.id}"' in page
    token = csrf_token(client, f"/companies/{acme.id}")
    form = {"csrf_token": token, "name": "Acme", "type": "prospect", "categories_shown": "1"}
    saved = client.post(
        f"/companies/{acme.id}",
        data={**form, "categories": [str(south.id), "999999"]},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert f'value="{south.id}" checked' in saved.get_data(as_text=True)
    db.expire_all()
    assert [c.name for c in db.get(Company, acme.id).categories] == ["South"]
    # A form without the chips (a team that had none when it opened) leaves them as they are.
    del form["categories_shown"]
    assert client.post(f"/companies/{acme.id}", data=form).status_code == 303
    db.expire_all()
    assert [c.name for c in db.get(Company, acme.id).categories] == ["South"]
