"""Converting a lead into a company, a contact and an opportunity (domain/convert.py)."""

from __future__ import annotations

from datetime import date

import pytest

from quickcrm.domain import validation as v
from quickcrm.domain.convert import ConvertForm, convert_lead
from quickcrm.models import Activity, Company, Contact, Opportunity
from tests import factories

TODAY = date(2026, 11, 23)


def _convert_form(db, lead, **changes) -> ConvertForm:
    raw = ConvertForm.initial(db, lead, [], TODAY).raw
    return ConvertForm.clean(db, {**raw, **changes}, phone_region="GB")


def test_conversion_links_the_lead_and_moves_its_timeline(db, make_user):
    owner = make_user()
    lead = factories.lead(
        db, owner, company_name="Acme Inc", email="jo@acme.com", note="Wants 5 units"
    )
    db.add(Activity(kind="task", text="Follow up", due_on=TODAY, lead=lead, author=owner))
    db.commit()
    form = _convert_form(db, lead, value="1200")
    assert form.ok, form.errors
    result = convert_lead(db, lead, owner, form, phone_region="GB")
    assert lead.status == "converted"
    assert (lead.company_id, lead.contact_id) == (result.company.id, result.contact.id)
    assert lead.opportunity_id == result.opportunity.id
    assert result.company.name_key == "acme" and result.company.email_domain == "acme.com"
    assert result.opportunity.value == 1200 and result.opportunity.stage.name == "New"
    activities = db.query(Activity).filter_by(lead_id=lead.id).all()
    assert {a.kind for a in activities} == {"note", "task"}
    assert all(a.company_id == result.company.id for a in activities)
    assert all(a.contact_id == result.contact.id for a in activities)
    task = next(a for a in activities if a.kind == "task")
    assert task.opportunity_id == result.opportunity.id


def test_second_conversion_creates_nothing(db, make_user):
    owner = make_user()
    lead = factories.lead(db, owner, company_name="Acme")
    ticked = {"create_opportunity": "on"}
    convert_lead(db, lead, owner, _convert_form(db, lead, **ticked), phone_region="GB")
    with pytest.raises(v.Conflict):
        convert_lead(db, lead, owner, _convert_form(db, lead, **ticked), phone_region="GB")
    assert db.query(Company).count() == 1
    assert db.query(Contact).count() == 1
    assert db.query(Opportunity).count() == 1


def test_conversion_into_an_existing_company_and_contact(db, make_user):
    owner = make_user()
    acme = factories.company(db, "Acme")
    jo = factories.contact(db, acme, "Jo Bloggs")
    lead = factories.lead(db, owner, company_name="ACME Ltd")
    form = _convert_form(db, lead, company=str(acme.id), contact=str(jo.id), create_opportunity="")
    result = convert_lead(db, lead, owner, form, phone_region="GB")
    assert (result.company, result.contact, result.opportunity) == (acme, jo, None)
    assert db.query(Company).count() == 1


def test_an_existing_contact_gains_the_leads_details_it_lacked(db, make_user):
    owner = make_user()
    acme = factories.company(db, "Acme")
    jo = factories.contact(db, acme, "Jo Bloggs", email="jo@acme.example")
    lead = factories.lead(
        db, owner, email="jo.private@acme-group.example", phone="+44 20 7946 0958"
    )
    form = _convert_form(db, lead, company=str(acme.id), contact=str(jo.id), create_opportunity="")
    convert_lead(db, lead, owner, form, phone_region="GB")
    db.expire_all()
    jo, acme = db.get(Contact, jo.id), db.get(Company, acme.id)
    assert (jo.email, jo.phone) == ("jo@acme.example", "+44 20 7946 0958")  # kept, filled
    assert jo.phone_key == "+442079460958"
    assert acme.email_domain == "acme-group.example"


def test_bad_conversion_input_is_refused_field_by_field(db, make_user):
    owner = make_user()
    lead = factories.lead(db, owner)
    form = _convert_form(db, lead, company="new", company_name="", value="lots", probability="140")
    assert set(form.errors) == {"company_name", "value", "probability"}
