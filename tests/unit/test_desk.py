"""Matching, conversion, disqualify/reopen and the leads list query, on the real database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from quickcrm.domain import leads, matching
from quickcrm.domain.convert import AlreadyConverted, ConvertForm, convert_lead
from quickcrm.models import Activity, Company, Contact, Lead, Opportunity
from tests.conftest import every_page

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("a", "b"),
    [("Acme Inc", "ACME, Inc."), ("Müller GmbH", "muller"), ("Foo S.A.R.L.", "foo"),
     ("Bar B.V.", "BAR bv"), ("Widgets Ltd.", "widgets limited")],
)  # fmt: skip
def test_company_names_match_ignoring_case_punctuation_and_legal_form(a, b):
    assert matching.name_key(a) == matching.name_key(b)


def test_different_companies_do_not_match():
    assert matching.name_key("Acme Inc") != matching.name_key("Acme Tools Inc")


def test_free_mail_domains_never_match():
    assert matching.email_domain("jo@gmail.com") is None
    assert matching.email_domain("Jo@Acme.COM") == "acme.com"


def _lead(db, owner, **fields) -> Lead:
    lead = Lead(owner=owner, name=fields.pop("name", "Jo Bloggs"), **fields)
    db.add(lead)
    db.commit()
    return lead


def test_suggestions_by_name_domain_and_phone_but_not_gmail(db, make_user):
    owner = make_user()
    acme = Company(name="ACME, Inc.", name_key="acme", email_domain="acme.com")
    other = Company(name="Other", name_key="other", phone_key="+442079460000")
    gmail = Company(name="Gmail user co", name_key="gmail user co", email_domain="gmail.com")
    db.add_all([acme, other, gmail])
    db.commit()
    by_name = _lead(db, owner, company_name="Acme Inc")
    by_domain = _lead(db, owner, email="jo@acme.com")
    by_phone = _lead(db, owner, phone="020 7946 0000")
    free = _lead(db, owner, email="jo@gmail.com")
    assert matching.suggest_companies(db, by_name, "GB") == [acme]
    assert matching.suggest_companies(db, by_domain, "GB") == [acme]
    assert matching.suggest_companies(db, by_phone, "GB") == [other]
    assert matching.suggest_companies(db, by_phone, "GB") == [other]
    assert matching.suggest_companies(db, free, "GB") == []


def _convert_form(db, lead, **changes) -> ConvertForm:
    form = ConvertForm.initial(db, lead, [], TODAY)
    form.raw.update(changes)
    return form.clean(db, phone_region="GB")


def test_conversion_links_the_lead_and_moves_its_timeline(db, make_user):
    owner = make_user()
    lead = _lead(db, owner, company_name="Acme Inc", email="jo@acme.com", note="Wants 5 units")
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
    lead = _lead(db, owner, company_name="Acme")
    ticked = {"create_opportunity": "on"}
    convert_lead(db, lead, owner, _convert_form(db, lead, **ticked), phone_region="GB")
    with pytest.raises(AlreadyConverted):
        convert_lead(db, lead, owner, _convert_form(db, lead, **ticked), phone_region="GB")
    assert db.query(Company).count() == 1
    assert db.query(Contact).count() == 1
    assert db.query(Opportunity).count() == 1


def test_conversion_into_an_existing_company_and_contact(db, make_user):
    owner = make_user()
    acme = Company(name="Acme", name_key="acme")
    jo = Contact(name="Jo Bloggs", company=acme)
    db.add_all([acme, jo])
    db.commit()
    lead = _lead(db, owner, company_name="ACME Ltd")
    form = _convert_form(db, lead, company=str(acme.id), contact=str(jo.id), create_opportunity="")
    result = convert_lead(db, lead, owner, form, phone_region="GB")
    assert (result.company, result.contact, result.opportunity) == (acme, jo, None)
    assert db.query(Company).count() == 1


def test_an_existing_contact_gains_the_leads_details_it_lacked(db, make_user):
    owner = make_user()
    acme = Company(name="Acme", name_key="acme")
    jo = Contact(name="Jo Bloggs", company=acme, email="jo@acme.example")
    db.add_all([acme, jo])
    db.commit()
    lead = _lead(db, owner, email="jo.private@acme-group.example", phone="+44 20 7946 0958")
    form = _convert_form(db, lead, company=str(acme.id), contact=str(jo.id), create_opportunity="")
    convert_lead(db, lead, owner, form, phone_region="GB")
    db.expire_all()
    jo, acme = db.get(Contact, jo.id), db.get(Company, acme.id)
    assert (jo.email, jo.phone) == ("jo@acme.example", "+44 20 7946 0958")  # kept, filled
    assert jo.phone_key == "+442079460958"
    assert acme.email_domain == "acme-group.example"


def test_bad_conversion_input_is_refused_field_by_field(db, make_user):
    owner = make_user()
    lead = _lead(db, owner)
    form = _convert_form(db, lead, company="new", company_name="", value="lots", probability="140")
    assert set(form.errors) == {"company_name", "value", "probability"}


def test_disqualify_needs_a_reason_and_reopen_undoes_it(db, make_user):
    owner = make_user()
    lead = _lead(db, owner)
    with pytest.raises(ValueError):
        leads.disqualify(db, lead, "bored")
    leads.disqualify(db, lead, "no budget")
    assert (lead.status, lead.disqualified_reason) == ("disqualified", "no budget")
    with pytest.raises(leads.NotOpen):
        leads.disqualify(db, lead, "no fit")
    leads.reopen(db, lead)
    assert (lead.status, lead.disqualified_reason) == ("open", None)


def test_keyset_pages_cover_every_lead_once_in_order(db, make_user):
    owner = make_user()
    count = leads.PAGE_SIZE * 2 + 7
    for n in range(count):
        lead = Lead(owner=owner, name=f"Lead {n % 40:03}")
        db.add(lead)
        if n % 3:  # two leads in three have a next action, many on the same day
            due = TODAY + timedelta(days=n % 11)
            db.add(Activity(kind="task", text="Call", due_on=due, lead=lead, author=owner))
    db.commit()
    for sort in ("captured", "next", "name"):
        query = leads.LeadQuery.from_mapping({"sort": sort})
        seen = every_page(db, query, owner, TODAY)
        assert len(seen) == len(set(seen)) == count, sort
        assert seen == leads.lead_ids(db, query, owner, today=TODAY), sort


def test_next_action_order_is_soonest_first_then_leads_without_one(db, make_user):
    owner = make_user()
    later, none, soon = (_lead(db, owner) for _ in range(3))
    for lead, due in ((later, TODAY + timedelta(days=9)), (soon, TODAY)):
        db.add(Activity(kind="task", text="Call", due_on=due, lead=lead, author=owner))
    db.commit()
    page = leads.list_leads(db, leads.LeadQuery(sort="next"), owner, today=TODAY)
    assert [lead.id for lead in page.leads] == [soon.id, later.id, none.id]


def test_snooze_moves_the_next_action_a_week_from_today_or_its_date(db, make_user):
    owner = make_user()
    lead = _lead(db, owner)
    assert leads.snooze(db, lead, owner, today=TODAY).due_on == date(2026, 11, 30)
    assert leads.snooze(db, lead, owner, today=TODAY).due_on == date(2026, 12, 7)
    assert db.query(Activity).filter_by(lead_id=lead.id).count() == 1


def test_the_count_stops_at_the_cap(db, make_user, monkeypatch):
    owner = make_user()
    for _ in range(5):
        _lead(db, owner)
    query = leads.LeadQuery.from_mapping({})
    assert leads.list_leads(db, query, owner, today=TODAY).total == 5
    monkeypatch.setattr(leads.listing, "COUNT_CAP", 3)
    page = leads.list_leads(db, query, owner, today=TODAY)
    assert (page.total, page.more, len(page.leads)) == (3, True, 5)


def test_sources_are_distinct_and_alphabetical(db, make_user):
    owner = make_user()
    for source in ("Web", "Expo", None, "Web", "Referral", "Expo"):
        _lead(db, owner, source=source)
    assert leads.sources(db) == ["Expo", "Referral", "Web"]
    assert leads.sources(db, limit=2) == ["Expo", "Referral"]
