"""Merging duplicate companies, vCards, last contacted, logging activities."""

from __future__ import annotations

import pytest

from quickcrm.domain import activities, companies
from quickcrm.domain import validation as v
from quickcrm.models import Activity, Company, Contact, Opportunity, Stage


def test_merge_moves_contacts_opportunities_and_timeline(db, make_user):
    user = make_user()
    keep = Company(name="Acme", name_key="acme")
    dupe = Company(name="ACME Inc", name_key="acme", website="acme.example")
    jo = Contact(name="Jo", company=dupe)
    stage = db.query(Stage).order_by(Stage.position).first()
    deal = Opportunity(company=dupe, title="Deal", stage=stage, probability=10)
    db.add_all([keep, dupe, jo, deal])
    db.commit()
    note = activities.log_activity(db, dupe, user, kind="note", text="Met them")
    companies.merge_companies(db, keep, dupe)
    assert jo.company_id == keep.id and deal.company_id == keep.id
    assert db.get(Activity, note.id).company_id == keep.id
    assert dupe.merged_into_id == keep.id and keep.website == "acme.example"
    assert companies.search_companies(db, "acme") == [keep]
    with pytest.raises(v.Refused):
        companies.merge_companies(db, keep, dupe)


def test_vcard_has_the_contact_details_escaped():
    contact = Contact(name="Jo Bloggs", email="jo@acme.com", phone="+44 20 7946 0000",
                      company=Company(name="Acme, Inc.", name_key="acme"))  # fmt: skip
    card = companies.vcard(contact)
    assert card.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
    assert "FN:Jo Bloggs\r\nN:Bloggs;Jo;;;" in card
    assert "ORG:Acme\\, Inc." in card and "EMAIL;TYPE=INTERNET:jo@acme.com" in card


def test_last_contacted_is_the_latest_logged_activity_not_a_task(db, make_user):
    user = make_user()
    jo = Contact(name="Jo")
    db.add(jo)
    db.commit()
    assert companies.last_contacted(db, jo) is None
    call = activities.log_activity(db, jo, user, kind="call", text="Called")
    activities.log_activity(db, jo, user, kind="task", text="Send price list")
    assert companies.last_contacted(db, jo) == call.created_at


def test_log_activity_refuses_empty_text_and_unknown_kinds(db, make_user):
    user = make_user()
    jo = Contact(name="Jo")
    db.add(jo)
    db.commit()
    with pytest.raises(v.Refused):
        activities.log_activity(db, jo, user, kind="note", text="  ")
    with pytest.raises(v.Refused):
        activities.log_activity(db, jo, user, kind="fax", text="hi")
    assert activities.timeline(db, jo) == []


def test_company_form_checks_fields():
    raw = {"name": "", "rating": "Z", "phone": "abc"}
    form = companies.CompanyForm.clean(None, raw, region="GB")
    assert set(form.errors) == {"name", "rating", "phone"}


def test_searching_companies_and_contacts_ignores_case_and_takes_wildcards_literally(db):
    sale = Company(name="50% Off Ltd", name_key="50 off")
    other = Company(name="500 Offers", name_key="500 offers")
    db.add_all([sale, other, Contact(name="Jo_Smith", company=sale), Contact(name="JoXSmith")])
    db.commit()
    assert companies.search_companies(db, "50% OFF") == [sale]
    assert companies.search_companies(db, "0_") == []
    assert [c.name for c in companies.search_contacts(db, "jo_s")] == ["Jo_Smith"]
