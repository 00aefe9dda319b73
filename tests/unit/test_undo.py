"""Undoing a conversion (docs/pipeline.md, "Undo a conversion"): who, how long, and what stops it;
and what a conversion makes when nobody asks for an opportunity."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from quickcrm.domain import activities, matching
from quickcrm.domain import validation as v
from quickcrm.domain.convert import (
    ConvertForm,
    convert_lead,
    undo_conversion,
    undo_refusal,
)
from quickcrm.models import Activity, Attachment, Company, Contact, Lead, Opportunity, utcnow
from tests import factories

TODAY = date(2026, 11, 23)


@pytest.fixture
def people(make_user):
    return {
        "rep": make_user("rep@example.com", "rep", "Rita Rep"),
        "coordinator": make_user("c@example.com", "coordinator", "Cora"),
        "other": make_user("o@example.com", "coordinator", "Olga"),
        "admin": make_user("a@example.com", "admin", "Ada"),
    }


def _converted(db, people, **form_changes):
    lead = Lead(name="Jo Bloggs", company_name="Acme Inc", email="jo@acme.com",
                note="Wants 5 units", owner=people["rep"])  # fmt: skip
    db.add(lead)
    db.add(Activity(kind="task", text="Call back", due_on=TODAY, lead=lead, author=people["rep"]))
    db.commit()
    raw = {**ConvertForm.initial(db, lead, [], TODAY).raw, **form_changes}
    form = ConvertForm.clean(db, raw, phone_region="GB")
    convert_lead(db, lead, people["coordinator"], form, phone_region="GB")
    return lead


def test_no_opportunity_unless_ticked_or_valued(db, people):
    lead = _converted(db, people)
    assert lead.opportunity_id is None and db.query(Opportunity).count() == 0
    assert lead.converted_by_id == people["coordinator"].id
    assert lead.created_company and lead.created_contact
    valued = factories.lead(db, people["rep"], "Val")
    raw = {**ConvertForm.initial(db, valued, [], TODAY).raw, "value": "500"}
    form = ConvertForm.clean(db, raw, phone_region="GB")
    convert_lead(db, valued, people["coordinator"], form, phone_region="GB")
    assert valued.opportunity_id is not None


def test_undo_puts_the_lead_back_and_removes_what_it_made(db, people):
    lead = _converted(db, people, create_opportunity="on")
    company_id, contact_id = lead.company_id, lead.contact_id
    assert undo_refusal(db, lead, people["coordinator"]) is None
    undo_conversion(db, lead, people["coordinator"])
    db.refresh(lead)
    assert lead.status == "open" and lead.company_id is None and lead.converted_at is None
    assert db.get(Company, company_id) is None and db.get(Contact, contact_id) is None
    assert db.query(Opportunity).count() == 0
    kept = db.query(Activity).filter_by(lead_id=lead.id).all()
    assert [(a.kind, a.company_id, a.opportunity_id) for a in kept] == [("task", None, None)]
    assert lead.next_action_on == TODAY


def test_only_the_converter_or_an_admin_within_a_day(db, people):
    lead = _converted(db, people)
    assert "Only the coordinator who converted" in undo_refusal(db, lead, people["other"])
    assert "Only the coordinator who converted" in undo_refusal(db, lead, people["rep"])
    assert undo_refusal(db, lead, people["admin"]) is None
    later = utcnow() + timedelta(hours=24, minutes=1)
    assert "24 hours" in undo_refusal(db, lead, people["coordinator"], later)
    with pytest.raises(v.Conflict):
        undo_conversion(db, lead, people["coordinator"], later)
    db.refresh(lead)
    assert lead.status == "converted"


def test_something_added_since_stops_the_undo_and_says_what_and_who(db, people):
    lead = _converted(db, people, create_opportunity="on")
    company = db.get(Company, lead.company_id)
    activities.log_activity(db, company, people["other"], kind="call", text="Called")
    db.add(Contact(company=company, name="Bob Jones"))
    db.commit()
    refusal = undo_refusal(db, lead, people["coordinator"])
    assert "a call by Olga" in refusal and "the contact Bob Jones" in refusal
    with pytest.raises(v.Conflict):
        undo_conversion(db, lead, people["coordinator"])
    assert db.get(Company, company.id) is not None


def test_undo_into_an_existing_company_keeps_the_company(db, people):
    acme = factories.company(db, "Acme", email_domain="acme.com")
    lead = _converted(db, people, company=str(acme.id))
    assert not lead.created_company and lead.created_contact
    undo_conversion(db, lead, people["admin"])
    assert db.get(Company, acme.id) is not None and db.query(Contact).count() == 0


def _with_card(db, people, **form_changes):
    """A converted lead that came with a card photo and a voice note."""
    lead = Lead(name="Jo Bloggs", company_name="Acme Inc", email="jo@acme.com",
                owner=people["rep"], from_card=True)  # fmt: skip
    db.add(lead)
    db.commit()
    kept = [factories.attachment(db, lead, "card_photo"), factories.attachment(db, lead)]
    raw = {**ConvertForm.initial(db, lead, [], TODAY).raw, **form_changes}
    form = ConvertForm.clean(db, raw, phone_region="GB")
    convert_lead(db, lead, people["coordinator"], form, phone_region="GB")
    assert {a.contact_id for a in db.query(Attachment)} == {lead.contact_id}
    return lead, [a.id for a in kept]


def test_undo_of_a_new_contact_gives_the_card_photo_and_voice_note_back_to_the_lead(db, people):
    lead, kept = _with_card(db, people, create_opportunity="on")
    contact_id = lead.contact_id
    undo_conversion(db, lead, people["coordinator"])
    db.refresh(lead)
    assert lead.status == "open" and db.get(Contact, contact_id) is None
    found = db.query(Attachment).order_by(Attachment.id).all()
    assert [(a.id, a.lead_id, a.contact_id) for a in found] == [(i, lead.id, None) for i in kept]


def test_undo_into_an_existing_contact_takes_only_this_leads_files_back(db, people):
    acme = factories.company(db, "Acme Inc", email_domain="acme.com")
    jo = Contact(company=acme, name="Jo Bloggs", email="jo@acme.com")
    db.add(jo)
    db.commit()
    earlier = factories.lead(db, people["rep"], "Jo at the fair", status="converted",
                             company_id=acme.id, contact_id=jo.id)  # fmt: skip
    theirs = factories.attachment(db, earlier, contact_id=jo.id)
    lead, kept = _with_card(db, people, company=str(acme.id), contact=str(jo.id))
    assert not lead.created_contact
    undo_conversion(db, lead, people["coordinator"])
    assert db.get(Contact, jo.id) is not None
    mine = db.query(Attachment).filter(Attachment.id.in_(kept)).all()
    assert {(a.lead_id, a.contact_id) for a in mine} == {(lead.id, None)}
    db.refresh(theirs)
    assert (theirs.lead_id, theirs.contact_id) == (earlier.id, jo.id)


def test_a_contact_that_goes_leaves_its_attachments_with_their_lead(db, people):
    """The database's own rule (revision 0017), whatever path removes the contact."""
    lead, kept = _with_card(db, people)
    contact_id = lead.contact_id
    db.query(Lead).filter_by(id=lead.id).update({"contact_id": None})
    db.query(Activity).filter_by(contact_id=contact_id).update({"contact_id": None})
    db.query(Contact).filter_by(id=contact_id).delete()
    db.commit()
    db.expire_all()
    assert {(a.lead_id, a.contact_id) for a in db.query(Attachment)} == {(lead.id, None)}


def test_another_lead_converted_into_the_new_contact_stops_the_undo(db, people):
    lead = _converted(db, people)
    factories.lead(db, people["rep"], "Jo again", status="converted",
                   company_id=lead.company_id, contact_id=lead.contact_id)  # fmt: skip
    assert "the converted lead Jo again" in undo_refusal(db, lead, people["coordinator"])


def test_match_reasons_say_why(db, people):
    acme = Company(name="Acme", name_key="acme", email_domain="acme.com", phone_key="+442079460000")
    lead = Lead(name="Jo", company_name="ACME Ltd", email="jo@acme.com", phone="020 7946 0000",
                owner=people["rep"])  # fmt: skip
    reasons = matching.company_match_reasons(acme, lead, "GB")
    assert reasons == ["same name", "same email domain", "same phone"]
