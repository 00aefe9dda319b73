"""The web-to-lead API's optional ``categories``: names in the team's list (in any case),
as text or a JSON list; a name not in the list is skipped (a website makes none)."""

from __future__ import annotations

from sqlalchemy import select

from quickcrm.models import Lead
from tests import factories
from tests.integration.test_api import URL, with_token


def _lead(db, name):
    db.expire_all()
    return db.scalars(select(Lead).where(Lead.name == name)).one()


def test_the_api_takes_categories_by_name(client, db, make_user):
    owner = make_user("web@example.com", "rep", "Web Owner")
    secret = factories.api_token(db, owner, "Website")[1]
    factories.category(db, "North", 1)
    factories.category(db, "Retail", 2)
    for name, sent in (("Ann", "retail; Nowhere, north"), ("Bob", ["North"])):
        body = {"name": name, "categories": sent}
        response = client.post(URL, json=body, headers=with_token(secret))
        assert response.status_code == 201, response.json
    assert [c.name for c in _lead(db, "Ann").categories] == ["North", "Retail"]
    assert [c.name for c in _lead(db, "Bob").categories] == ["North"]
    form = client.post(
        URL, data={"name": "Cleo", "categories": "Retail"}, headers=with_token(secret)
    )
    assert form.status_code == 201
    assert [c.name for c in _lead(db, "Cleo").categories] == ["Retail"]
    for bad in (3, {"a": 1}, [1, 2], "A\x00"):
        refused = client.post(
            URL, json={"name": "Dan", "categories": bad}, headers=with_token(secret)
        )
        assert refused.status_code == 422 and "categories" in refused.json["errors"], bad
