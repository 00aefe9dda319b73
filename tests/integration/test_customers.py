"""Existing customers over HTTP: new companies, contacts and opportunities, who may make
them, and what a refusal looks like."""

from __future__ import annotations

from decimal import Decimal

import vobject
from sqlalchemy import select

from quickcrm.models import Activity, Company, Contact, Opportunity, Segment, Stage
from tests import factories
from tests.conftest import csrf_token


def _acme_and_ann(db, **extra):
    acme = factories.company(db, "Acme", **extra)
    return acme, factories.contact(db, acme, phone="+44 20 7946 0001")


def _stage(db, name="Proposal"):
    return db.scalar(select(Stage).where(Stage.name == name))


def test_coordinator_adds_a_company_with_a_segment(client, db, coordinator):
    retail = Segment(name="Retail", position=1)
    db.add(retail)
    db.commit()
    page = client.get("/companies/new").get_data(as_text=True)
    assert 'name="segment_id"' in page and "Retail" in page
    token = csrf_token(client, "/companies/new")
    data = {
        "csrf_token": token,
        "name": "Brightside Dental",
        "type": "customer",
        "rating": "A",
        "segment_id": str(retail.id),
        "owner_id": str(coordinator.id),
    }
    response = client.post("/companies/new", data=data)
    assert response.status_code == 303
    company = db.scalar(select(Company).where(Company.name == "Brightside Dental"))
    assert (company.type, company.rating, company.segment_id) == ("customer", "A", retail.id)
    assert company.name_key == "brightside dental" and company.owner_id == coordinator.id
    listed = client.get(f"/companies/?segment={retail.id}&rating=A").get_data(as_text=True)
    assert "Brightside Dental" in listed
    assert "Brightside Dental" not in client.get("/companies/?rating=B").get_data(as_text=True)


def test_a_bad_company_answers_422_with_messages_and_writes_nothing(client, db, coordinator):
    token = csrf_token(client, "/companies/new")
    data = {"csrf_token": token, "name": "", "segment_id": "2147483647", "owner_id": "x"}
    response = client.post("/companies/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the company&#39;s name." in page and "Choose a segment from the list." in page
    assert "Choose an active user." in page
    assert db.scalar(select(Company.id)) is None


def test_a_rep_adds_a_contact_but_not_a_company_or_opportunity(client, db, rep):
    acme, _ = _acme_and_ann(db)
    assert client.get("/companies/new").status_code == 403
    assert client.get(f"/companies/{acme.id}/opportunities/new").status_code == 403
    page = client.get(f"/companies/{acme.id}").get_data(as_text=True)
    assert "New contact" in page and "New opportunity" not in page
    token = csrf_token(client, f"/companies/{acme.id}/contacts/new")
    data = {"csrf_token": token, "name": "Bob Jones", "phone": "+44 20 7946 0002"}
    response = client.post(f"/companies/{acme.id}/contacts/new", data=data)
    assert response.status_code == 303
    bob = db.scalar(select(Contact).where(Contact.name == "Bob Jones"))
    assert bob.company_id == acme.id and bob.owner_id == rep.id
    assert bob.phone_key == "+442079460002"
    refused = client.post(f"/companies/{acme.id}/contacts/new", data={"csrf_token": token})
    assert refused.status_code == 422 and "Enter the person" in refused.get_data(as_text=True)
    no_csrf = client.post(f"/companies/{acme.id}/contacts/new", data={"name": "Eve"})
    assert no_csrf.status_code == 400
    assert client.get("/companies/2147483647/contacts/new").status_code == 404


def test_a_second_opportunity_for_an_existing_customer(client, db, coordinator):
    acme, ann = _acme_and_ann(db, type="customer")
    proposal = _stage(db)
    page = client.get(f"/companies/{acme.id}").get_data(as_text=True)
    assert "New opportunity" in page
    form = client.get(f"/companies/{acme.id}/opportunities/new").get_data(as_text=True)
    assert "Ann Smith" in form and "Primary contact" in form
    token = csrf_token(client, f"/companies/{acme.id}/opportunities/new")
    data = {
        "csrf_token": token,
        "title": "Second site",
        "value": "12,500",
        "contact_id": str(ann.id),
        "stage_id": str(proposal.id),
        "probability": "",
        "close_on": "2030-03-31",
        "owner_id": str(coordinator.id),
    }
    response = client.post(f"/companies/{acme.id}/opportunities/new", data=data)
    assert response.status_code == 303
    deal = db.scalar(select(Opportunity).where(Opportunity.title == "Second site"))
    assert deal.company_id == acme.id and deal.contact_id == ann.id
    assert deal.value == Decimal("12500.00") and deal.probability == proposal.probability
    assert not deal.probability_manual and deal.outcome == "open"


def test_a_new_opportunity_refuses_bad_values(client, db, coordinator):
    acme, _ = _acme_and_ann(db)
    other = Contact(name="Not Here")
    db.add(other)
    db.commit()
    won = _stage(db, "Won")
    token = csrf_token(client, f"/companies/{acme.id}/opportunities/new")
    data = {
        "csrf_token": token,
        "title": "",
        "value": "999999999999.999",
        "probability": "101",
        "contact_id": str(other.id),
        "stage_id": str(won.id),
        "close_on": "2026-02-30",
    }
    response = client.post(f"/companies/{acme.id}/opportunities/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Enter a title", "Enter an amount", "Choose one of the company&#39;s contacts",
                    "Enter a date like"):  # fmt: skip
        assert message in page
    data |= {"title": "T", "value": "1", "probability": "50", "contact_id": "", "close_on": ""}
    response = client.post(f"/companies/{acme.id}/opportunities/new", data=data)
    assert response.status_code == 422 and "open stages" in response.get_data(as_text=True)
    assert db.scalar(select(Opportunity.id)) is None


def test_a_call_on_an_opportunity_shows_on_its_company_and_contact(client, db, coordinator):
    acme, ann = _acme_and_ann(db)
    deal = Opportunity(company=acme, contact=ann, title="Deal", value=Decimal(1),
                       stage=_stage(db), probability=50)  # fmt: skip
    db.add(deal)
    db.commit()
    token = csrf_token(client, f"/opportunities/{deal.id}")
    data = {"csrf_token": token, "kind": "call", "text": "Talked about the second site"}
    assert client.post(f"/opportunities/{deal.id}/activities", data=data).status_code == 303
    for url in (f"/companies/{acme.id}", f"/contacts/{ann.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "Talked about the second site" in page and "Last contacted: <time" in page
    contacts = client.get("/contacts/").get_data(as_text=True)
    assert 'href="tel:+442079460001"' in contacts and "last contacted" in contacts
    assert "last contacted" in client.get("/companies/").get_data(as_text=True)


def test_a_conversion_note_is_not_a_contact(client, db, coordinator):
    acme, ann = _acme_and_ann(db)
    db.add(Activity(kind="note", text="From the lead", author_id=coordinator.id,
                    company_id=acme.id, contact_id=ann.id))  # fmt: skip
    db.commit()
    assert "Last contacted: never" in client.get(f"/companies/{acme.id}").get_data(as_text=True)


def test_the_primary_contact_can_be_changed_only_to_one_at_the_company(client, db, coordinator):
    acme, ann = _acme_and_ann(db)
    stage = _stage(db)
    bob = Contact(company=acme, name="Bob Jones")
    stranger = Contact(name="Stranger")
    deal = Opportunity(company=acme, contact=ann, title="Deal", value=Decimal(1),
                       stage=stage, probability=50)  # fmt: skip
    db.add_all([bob, stranger, deal])
    db.commit()
    token = csrf_token(client, f"/opportunities/{deal.id}")
    data = {"csrf_token": token, "title": "Deal", "value": "1", "stage_id": str(deal.stage_id),
            "probability": "50", "contact_id": str(stranger.id)}  # fmt: skip
    assert client.post(f"/opportunities/{deal.id}", data=data).status_code == 422
    data["contact_id"] = str(bob.id)
    assert client.post(f"/opportunities/{deal.id}", data=data).status_code == 303
    db.refresh(deal)
    assert deal.contact_id == bob.id


def test_a_vcard_of_a_name_and_title_typed_with_line_breaks_is_one_card_without_extras(
    client, db, coordinator
):
    _, ann = _acme_and_ann(db)
    typed = {
        "csrf_token": csrf_token(client, f"/contacts/{ann.id}"),
        "name": "Ann\rURL:http://evil.example\rSmith",
        "title": "Buyer\u2028EMAIL:x@evil.example",
        "phone": "+44 20 7946 0001",
    }
    assert client.post(f"/contacts/{ann.id}", data=typed).status_code == 303
    response = client.get(f"/contacts/{ann.id}/vcard")
    disposition = response.headers["Content-Disposition"]
    assert response.mimetype == "text/vcard"
    assert disposition == 'attachment; filename="Ann-URL-http-evil-example-Smith.vcf"'
    (card,) = vobject.readComponents(response.get_data(as_text=True))
    assert set(card.contents) == {"version", "fn", "n", "org", "title", "tel"}
    assert card.fn.value == "Ann URL:http://evil.example Smith"
    assert card.title.value == "Buyer EMAIL:x@evil.example"
