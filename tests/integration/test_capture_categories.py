"""Categories on the capture screen: chips behind More, sticky for the next capture, a
queued capture's ids synced, an id that is gone skipped (never a refused capture)."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from quickcrm.models import Lead
from tests import factories
from tests.conftest import csrf_token

HTMX = {"HX-Request": "true"}


def _names(db, name: str) -> list[str]:
    db.expire_all()
    lead = db.scalars(select(Lead).where(Lead.name == name)).one()
    return [c.name for c in lead.categories]


def test_chips_are_saved_and_stay_on_for_the_next_capture(client, rep, db):
    north = factories.category(db, "North", 1)
    retail = factories.category(db, "Retail", 2)
    page = client.get("/").get_data(as_text=True)
    assert f'name="categories" value="{north.id}"' in page and ">Retail<" in page
    token = csrf_token(client, "/")
    gone = north.id + retail.id + 100
    data = {"name": "Ann", "categories": [str(retail.id), str(gone), "x"]}
    answer = client.post("/", data=data, headers={**HTMX, "X-CSRFToken": token})
    assert answer.status_code == 200
    assert _names(db, "Ann") == ["Retail"]
    # The empty form the answer carries has Retail on, and so has the page next time.
    chip = f'name="categories" value="{retail.id}" checked'
    assert chip in answer.get_data(as_text=True)
    assert chip in client.get("/").get_data(as_text=True)
    assert f'value="{north.id}" checked' not in client.get("/").get_data(as_text=True)
    # Without JavaScript too; none chosen clears them.
    plain = client.post("/", data={"name": "Bob", "csrf_token": token})
    assert plain.status_code == 303
    assert _names(db, "Bob") == []
    assert chip not in client.get("/").get_data(as_text=True)


def test_a_refused_capture_keeps_its_chips(client, rep, db):
    north = factories.category(db, "North", 1)
    token = csrf_token(client, "/")
    data = {"name": "", "categories": str(north.id)}
    answer = client.post("/", data=data, headers={**HTMX, "X-CSRFToken": token})
    assert answer.status_code == 422
    assert f'value="{north.id}" checked' in answer.get_data(as_text=True)


def test_a_queued_capture_syncs_its_categories(client, rep, db):
    north = factories.category(db, "North", 1)
    south = factories.category(db, "South", 2)
    token = csrf_token(client, "/")
    headers = {"X-CSRFToken": token, "Content-Type": "application/json"}
    for name, sent in (("Cleo", f"{south.id},{north.id},999999"), ("Dan", [north.id])):
        body = {"uuid": str(uuid.uuid4()), "name": name, "categories": sent}
        answer = client.post("/captures", data=json.dumps(body), headers=headers)
        assert answer.status_code == 201, answer.get_data(as_text=True)
    assert _names(db, "Cleo") == ["North", "South"]
    assert _names(db, "Dan") == ["North"]
    assert f'value="{north.id}" checked' in client.get("/").get_data(as_text=True)
    # Multipart (a capture with a card photo or voice note) sends them the same way.
    form = {"uuid": str(uuid.uuid4()), "name": "Eve", "categories": str(south.id)}
    answer = client.post(
        "/captures", data=form, headers={"X-CSRFToken": token}, content_type="multipart/form-data"
    )
    assert answer.status_code == 201
    assert _names(db, "Eve") == ["South"]
