"""The convert page over HTTP: what it shows beside the form, the opportunity only when
asked for, back to review mode at the next lead, and undoing a conversion."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select

from quickcrm.models import Company, Contact, Opportunity
from tests import factories
from tests.conftest import csrf_token


def test_the_page_shows_the_lead_and_why_a_company_matched(client, db, coordinator, make_user):
    sam = make_user("sam@example.com", "rep", "Sam Rep")
    acme = Company(name="Acme", name_key="acme", email_domain="acme.com", owner_id=sam.id)
    db.add_all([acme, Contact(company=acme, name="Ann Smith")])
    lead = factories.lead(db, sam, "Jo Bloggs", company_name="ACME Ltd", email="jo@acme.com",
                 note="Wants 5 units", temperature="hot", source="Trade show")  # fmt: skip
    page = client.get(f"/leads/{lead.id}/convert").get_data(as_text=True)
    shown_beside = (
        "Wants 5 units",
        "Hot",
        "Trade show",
        "Same name, same email domain",
        "owner Sam Rep",
        "contacts: Ann Smith",
        "Used only with New company",
    )
    for shown in shown_beside:
        assert shown in page
    assert re.search(r'name="create_opportunity"[^>]*>', page)
    assert "checked" not in re.search(r'name="create_opportunity"[^>]*>', page).group(0)


def test_converting_without_ticking_makes_no_opportunity(client, db, coordinator):
    lead = factories.lead(db, coordinator, "Jo Bloggs")
    token = csrf_token(client, f"/leads/{lead.id}/convert")
    data = {"csrf_token": token, "company": "new", "company_name": "Jo's shop",
            "contact": "new", "contact_name": "Jo Bloggs", "value": ""}  # fmt: skip
    response = client.post(f"/leads/{lead.id}/convert", data=data)
    assert response.status_code == 303
    assert db.scalar(select(Opportunity.id)) is None
    assert db.scalar(select(Company.name)) == "Jo's shop"


def test_from_review_mode_back_to_the_next_lead(client, db, coordinator):
    first = factories.lead(db, coordinator, "Anna First")
    second = factories.lead(db, coordinator, "Bert Second")
    review = client.get("/leads/review?sort=name&status=all").get_data(as_text=True)
    link = re.search(rf'href="(/leads/{first.id}/convert\?next=[^"]+)"', review).group(1)
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    back = re.search(r'name="next" value="([^"]+)"', form).group(1).replace("&amp;", "&")
    token = csrf_token(client, f"/leads/{first.id}/convert")
    data = {"csrf_token": token, "company": "new", "company_name": "Anna Co", "contact": "new",
            "contact_name": "Anna First", "next": back}  # fmt: skip
    response = client.post(f"/leads/{first.id}/convert", data=data)
    assert response.status_code == 303 and response.headers["Location"] == back
    page = client.get(back).get_data(as_text=True)
    assert "Converted — Anna First is now a contact at" in page and ">Anna Co</a>" in page
    assert "2 of 2" in page and "Bert Second" in page
    assert second.status == "open"


def test_undo_from_the_lead_page_and_refusals(client, db, coordinator, make_user):
    lead = factories.lead(db, coordinator, "Jo Bloggs")
    token = csrf_token(client, f"/leads/{lead.id}/convert")
    not_yet = client.post(f"/leads/{lead.id}/convert/undo", data={"csrf_token": token})
    assert not_yet.status_code == 409 and "not converted" in not_yet.get_data(as_text=True)
    data = {"csrf_token": token, "company": "new", "company_name": "Jo Co", "contact": "new",
            "contact_name": "Jo Bloggs", "create_opportunity": "on", "opportunity_title": "Deal",
            "stage_id": "1", "probability": "10"}  # fmt: skip
    assert client.post(f"/leads/{lead.id}/convert", data=data).status_code == 303
    assert "Undo conversion" in client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert client.post(f"/leads/{lead.id}/convert/undo", data={}).status_code == 400  # CSRF
    response = client.post(f"/leads/{lead.id}/convert/undo", data={"csrf_token": token})
    assert response.status_code == 303
    db.refresh(lead)
    assert lead.status == "open" and db.scalar(select(Company.id)) is None
    assert "Conversion undone" in client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert (
        client.post("/leads/2147483647/convert/undo", data={"csrf_token": token}).status_code == 404
    )


def test_a_rep_cannot_undo(client, db, rep):
    lead = factories.lead(db, rep, "Jo", status="converted")
    token = csrf_token(client, "/")
    assert (
        client.post(f"/leads/{lead.id}/convert/undo", data={"csrf_token": token}).status_code == 403
    )


def _convert_data(client, lead_id: int) -> dict:
    token = csrf_token(client, f"/leads/{lead_id}/convert")
    return {
        "csrf_token": token, "company": "new", "company_name": "Acme", "contact": "new",
        "contact_name": "Jo Bloggs", "create_opportunity": "on", "opportunity_title": "Acme deal",
        "value": "500", "stage_id": "1", "probability": "10", "close_on": "",
    }  # fmt: skip


def test_convert_page_suggests_the_company_of_an_earlier_conversion(client, db, coordinator):
    first = factories.lead(db, coordinator, name="Jo", company_name="Acme Inc")
    data = _convert_data(client, first.id)
    assert client.post(f"/leads/{first.id}/convert", data=data).status_code == 303
    second = factories.lead(db, coordinator, name="Sam", company_name="ACME, Inc.")
    page = client.get(f"/leads/{second.id}/convert").get_data(as_text=True)
    company = db.query(Company).one()
    assert f'name="company" value="{company.id}"' in page


def test_bad_convert_input_answers_422(client, db, coordinator):
    lead = factories.lead(db, coordinator)
    data = {**_convert_data(client, lead.id), "company_name": "", "value": "lots"}
    response = client.post(f"/leads/{lead.id}/convert", data=data)
    assert response.status_code == 422
    assert "Enter the company" in response.get_data(as_text=True)
    assert db.query(Company).count() == 0


@pytest.mark.commits  # threads, each with a connection of its own
def test_double_conversion_race_creates_everything_once(app, db, make_user):
    owner = make_user("coordinator@example.com", "coordinator", "Cora")
    lead = factories.lead(db, owner, company_name="Acme")
    clients = [app.test_client() for _ in range(4)]
    forms = []
    for client in clients:
        client.post(
            "/login",
            data={"email": owner.email, "password": "correct horse battery",
                  "csrf_token": csrf_token(client)},
        )  # fmt: skip
        forms.append(_convert_data(client, lead.id))
    barrier = threading.Barrier(len(clients))
    statuses = []

    def convert(client, data):
        barrier.wait()
        response = client.post(f"/leads/{lead.id}/convert", data=data)
        statuses.append((response.status_code, response.get_data(as_text=True)))

    threads = [
        threading.Thread(target=convert, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(code for code, _ in statuses)
    assert codes == [303, 409, 409, 409]
    assert all("already converted" in body for code, body in statuses if code == 409)
    assert db.query(Company).count() == 1
    assert db.query(Contact).count() == 1
    assert db.query(Opportunity).count() == 1


def test_the_page_shows_the_card_photo_and_plays_the_voice_note(client, db, coordinator):
    lead = factories.lead(db, coordinator, "Jo Bloggs")
    photo = factories.attachment(db, lead, "card_photo")
    voice = factories.attachment(db, lead, "voice_note")
    page = client.get(f"/leads/{lead.id}/convert").get_data(as_text=True)
    beside = re.search(r'<aside class="convert-lead".*?</aside>', page, re.S)[0]
    assert f'<a href="/attachments/{photo.id}"' in beside
    assert f'<img class="card-thumb" src="/attachments/{photo.id}"' in beside
    assert re.search(rf'<audio controls[^>]*>\s*<source src="/attachments/{voice.id}"', beside)

    bare = factories.lead(db, coordinator, "Kim Bare")
    page = client.get(f"/leads/{bare.id}/convert").get_data(as_text=True)
    assert "/attachments/" not in page and "<audio" not in page
