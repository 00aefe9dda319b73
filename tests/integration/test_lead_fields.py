"""A lead's optional fields (issue 29) over HTTP: *Contact name*, *Address* and *Potential
value* behind *More* on the capture form (not sticky), the phone's queue, the web-to-lead
API, the lead page's one-field forms, the convert page's defaults, the forecast's leads
pipeline, and the leads' CSV export and import."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from quickcrm.domain import team as teams
from quickcrm.models import Lead, Opportunity, TeamSettings
from tests import factories
from tests.conftest import csrf_token
from tests.integration.test_import import finish, import_id_of, start, upload

HTMX = {"HX-Request": "true"}
NEGATIVE = "Enter an amount of 0 or more: a value is never negative."


def aud_team(db) -> None:
    db.add(TeamSettings(id=1, time_zone="Australia/Perth", currency="AUD", locale="en-AU",
                        week_start=teams.MONDAY, phone_region="AU"))  # fmt: skip
    db.commit()


def capture(client, **fields):
    headers = {**HTMX, "X-CSRFToken": csrf_token(client, "/")}
    return client.post("/", data={"uuid": str(uuid.uuid4()), **fields}, headers=headers)


def stored(db) -> list[Lead]:
    db.expire_all()
    return list(db.scalars(select(Lead).order_by(Lead.id)))


def test_the_capture_form_has_them_behind_more(client, rep):
    page = client.get("/").get_data(as_text=True)
    more = page[page.index('id="more-fields"') :]
    more = more[: more.index("</datalist>")]
    assert 'for="contact_name">Contact name</label>' in more
    assert (
        'for="address">Address</label>' in more and '<textarea id="address" name="address"' in more
    )
    assert 'for="potential_value">Potential value</label>' in more
    value = re.search(r'<input id="potential_value"[^>]*>', more).group(0)
    assert 'inputmode="decimal"' in value and 'autocomplete="off"' in value
    assert 'autocomplete="street-address"' in more


def test_a_capture_keeps_them_and_the_next_form_is_empty_but_for_source(client, rep, db):
    response = capture(
        client, name="Acme Ltd", contact_name="Maria Novak", address="1 High St\nLeeds",
        potential_value="12,500", source="Expo",
    )  # fmt: skip
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Saved — <strong>Acme Ltd</strong>" in body
    # Not sticky: the form that comes back keeps Source only.
    assert re.search(r'<input id="contact_name" name="contact_name" type="text" value=""', body)
    assert re.search(
        r'<input id="potential_value" name="potential_value" type="text" value=""', body
    )
    assert re.search(r'<textarea id="address" name="address"[^>]*></textarea>', body)
    assert 'id="source" name="source" type="text" value="Expo"' in body
    [lead] = stored(db)
    assert (lead.contact_name, lead.address, lead.potential_value) == (
        "Maria Novak", "1 High St\nLeeds", Decimal("12500.00"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-5", NEGATIVE),
        ("1e309", "Enter an amount like 12500 or 12500.50."),
        ("NaN", "Enter an amount like 12500 or 12500.50."),
        ("1000000000000", "Enter an amount from 0 up to 999,999,999,999.99."),
    ],
)
def test_a_bad_potential_value_is_refused_next_to_the_field(client, rep, db, typed, message):
    response = capture(client, name="Acme Ltd", potential_value=typed)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f'<p class="field-error" id="potential_value-error">{message}</p>' in body
    assert 'id="more-fields" class="more-fields" >' in body  # More is open on it
    assert "Not saved — check the marked fields." in body
    assert stored(db) == []


def test_hostile_text_in_them_is_refused_with_a_message(client, rep, db):
    # A NUL in a form is refused before any form reads it (quickcrm/web/inputs.py).
    response = capture(client, name="Acme", contact_name="Ma\x00ria", potential_value="1\x00")
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    # JSON may carry a lone surrogate or a NUL: each field says so.
    headers = {"X-CSRFToken": csrf_token(client, "/"), "Accept": "application/json"}
    body = {"uuid": str(uuid.uuid4()), "name": "Acme", "contact_name": "\ud800",
            "address": "Leeds\u0000", "potential_value": "1\u0000"}  # fmt: skip
    response = client.post("/captures", data=json.dumps(body), headers=headers,
                           content_type="application/json")  # fmt: skip
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert stored(db) == []


def test_a_queued_capture_carries_them_and_a_refused_one_says_why(client, rep, db):
    token = csrf_token(client, "/")
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    body = {"uuid": str(uuid.uuid4()), "name": "Acme", "contact_name": "Maria",
            "address": "Leeds", "potential_value": "7 000"}  # fmt: skip
    response = client.post("/captures", json=body, headers=headers)
    assert response.status_code == 201
    [lead] = stored(db)
    assert (lead.contact_name, lead.address, lead.potential_value) == (
        "Maria", "Leeds", Decimal("7000.00"),
    )  # fmt: skip
    refused = {**body, "uuid": str(uuid.uuid4()), "potential_value": "-7"}
    response = client.post("/captures", json=refused, headers=headers)
    # A 4xx: the phone keeps it as "Needs attention" with this message (static/js/outbox.js).
    assert response.status_code == 422
    assert response.json == {"errors": {"potential_value": NEGATIVE}}
    assert len(stored(db)) == 1


def test_the_api_takes_them(client, db, owner):
    secret = factories.api_token(db, owner, "Website", source="website")[1]
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"name": "Acme", "contact_name": "Maria", "address": "Leeds", "potential_value": 12500}
    response = client.post("/api/leads", json=body, headers=headers)
    assert response.status_code == 201
    [lead] = stored(db)
    assert (lead.contact_name, lead.address, lead.potential_value) == (
        "Maria", "Leeds", Decimal("12500.00"),
    )  # fmt: skip
    response = client.post(
        "/api/leads", data={"name": "B", "potential_value": "-1"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json == {"errors": {"potential_value": NEGATIVE}}


def test_the_lead_page_shows_and_edits_them(client, rep, db):
    aud_team(db)
    lead = factories.lead(
        db, rep, "Acme Ltd", contact_name="Maria", address="1 High St\nLeeds",
        potential_value=Decimal("12500"),
    )  # fmt: skip
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    for label in ("contact name", "address", "potential value"):
        assert f'<span class="visually-hidden">Edit {label}</span>' in page
    assert "$12,500" in page and "1 High St\nLeeds" in page
    form = client.get(f"/leads/{lead.id}/fields/potential_value?edit=1", headers=HTMX)
    assert 'value="12500"' in form.get_data(as_text=True)  # as typed, no currency
    token = csrf_token(client, "/")
    url = f"/leads/{lead.id}/fields/potential_value"
    response = client.post(
        url, data={"csrf_token": token, "potential_value": "9 999.5"}, headers=HTMX
    )
    assert response.status_code == 200 and "$9,999.50" in response.get_data(as_text=True)
    for bad, status in (("-1", 422), ("1e309", 422)):
        response = client.post(
            url, data={"csrf_token": token, "potential_value": bad}, headers=HTMX
        )
        assert response.status_code == status
        assert 'id="potential_value-error"' in response.get_data(as_text=True)
    url = f"/leads/{lead.id}/fields/contact_name"
    response = client.post(url, data={"csrf_token": token, "contact_name": "Jo"})
    assert response.status_code == 303
    [lead] = stored(db)
    assert (lead.contact_name, lead.potential_value) == ("Jo", Decimal("9999.50"))


def test_a_potential_value_of_0_is_one(client, rep, db):
    aud_team(db)
    lead = factories.lead(db, rep, "Acme", potential_value=Decimal("0"))
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    row = page[page.index('id="field-potential_value"') :]
    assert '<div class="lead-field-value">$0</div>' in row[:400]
    assert '<details class="lead-optional" open>' in page


def test_another_reps_lead_fields_are_not_theirs(client, rep, make_user, db):
    sam = make_user("sam@example.com", "rep", "Sam")
    lead = factories.lead(db, sam, "Acme", potential_value=Decimal("5"))
    token = csrf_token(client, "/")
    url = f"/leads/{lead.id}/fields/potential_value"
    assert client.get(f"{url}?edit=1").status_code == 403
    assert client.post(url, data={"csrf_token": token, "potential_value": "9"}).status_code == 403
    assert stored(db)[0].potential_value == Decimal("5.00")


def test_the_convert_page_starts_from_them(client, db, coordinator):
    aud_team(db)
    lead = factories.lead(
        db, coordinator, "Acme Ltd", contact_name="Maria Novak", address="1 High St",
        potential_value=Decimal("12500.50"),
    )  # fmt: skip
    page = client.get(f"/leads/{lead.id}/convert").get_data(as_text=True)
    assert re.search(r'<input id="value" name="value" type="text" value="12500.50"', page)
    assert re.search(
        r'<input id="contact_name" name="contact_name" type="text" value="Maria Novak"', page
    )
    assert re.search(
        r'<input id="company_name" name="company_name" type="text" value="Acme Ltd"', page
    )
    assert "checked" in re.search(r'name="create_opportunity"[^>]*>', page).group(0)
    assert "<dt>Potential value</dt><dd>$12,500.50</dd>" in page
    form = {
        name: value
        for name, value in re.findall(
            r'<input id="[^"]+" name="([^"]+)" type="[^"]+" value="([^"]*)"', page
        )
    }
    form |= {"csrf_token": csrf_token(client, f"/leads/{lead.id}/convert"), "company": "new",
             "contact": "new", "create_opportunity": "on", "stage_id": re.search(
                 r'<option value="(\d+)"[^>]*selected', page).group(1)}  # fmt: skip
    response = client.post(f"/leads/{lead.id}/convert", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    deal = db.scalars(select(Opportunity)).one()
    assert deal.value == Decimal("12500.50")
    assert (deal.company.name, deal.company.address, deal.contact.name) == (
        "Acme Ltd", "1 High St", "Maria Novak",
    )  # fmt: skip


def test_review_mode_shows_them_for_the_weekly_meeting(client, db, coordinator):
    aud_team(db)
    factories.lead(db, coordinator, "Acme Ltd", contact_name="Maria", address="Leeds",
                   potential_value=Decimal("12500"))  # fmt: skip
    page = client.get("/leads/review").get_data(as_text=True)
    assert "<dt>Contact name</dt><dd>Maria</dd>" in page
    assert '<dt>Address</dt><dd class="lead-note">Leeds</dd>' in page
    assert "<dt>Potential value</dt><dd>$12,500</dd>" in page


def test_the_forecast_shows_the_leads_unweighted_potential(client, db, coordinator):
    aud_team(db)
    factories.lead(db, coordinator, "A", temperature="hot", potential_value=Decimal("1000"))
    factories.lead(db, coordinator, "B", potential_value=Decimal("500"))
    factories.lead(db, coordinator, "C")
    page = client.get("/forecast").get_data(as_text=True)
    section = page[page.index('id="leads-pipeline"') :]
    assert "Unweighted potential</dt><dd>$1,500 <small>(2 open leads with a value)" in section
    assert '<th scope="row">Hot</th><td class="num">1</td><td class="num">$1,000</td>' in section
    assert '<th scope="row">Not set</th><td class="num">1</td><td class="num">$500</td>' in section


def test_the_forecast_without_potential_says_so(client, db, coordinator):
    page = client.get("/forecast").get_data(as_text=True)
    assert "No open lead has a potential value yet." in page


@pytest.mark.commits
def test_the_leads_export_has_their_columns(client, rep, db):
    factories.lead(db, rep, "Acme", contact_name="Maria", address="1 High St\nLeeds",
                   potential_value=Decimal("12500.5"))  # fmt: skip
    body = client.get("/leads/export.csv").get_data().decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(body, newline="")))
    assert (row["Contact name"], row["Address"], row["Potential value"]) == (
        "Maria", "1 High St\nLeeds", "12500.50",
    )  # fmt: skip


def test_an_import_maps_and_stores_them(client, admin, db):
    data = (
        b"Name,Contact name,Address,Potential value\r\n"
        b'Acme Ltd,Maria Novak,"1 High St\nLeeds","12,500"\r\n'
        b"Bloggs,,,-5\r\n"
    )
    import_id = import_id_of(upload(client, data))
    page = client.get(f"/admin/import/{import_id}").get_data(as_text=True)
    for label in ("Contact name", "Address", "Potential value"):
        assert f">{label}</option>" in page
    assert start(client, import_id).status_code == 303
    finish(client, import_id)
    [lead] = stored(db)
    assert (lead.name, lead.contact_name, lead.address, lead.potential_value) == (
        "Acme Ltd", "Maria Novak", "1 High St\nLeeds", Decimal("12500.00"),
    )  # fmt: skip
    page = client.get(f"/admin/import/{import_id}").get_data(as_text=True)
    assert "1 refused" in page
