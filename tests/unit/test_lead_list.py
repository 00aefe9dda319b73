"""The leads list: keyset pages, orders, the capped count and the sources filter."""

from __future__ import annotations

from datetime import date, timedelta

from quickcrm.domain import leads
from quickcrm.models import Activity, Lead
from tests import factories
from tests.conftest import every_page

TODAY = date(2026, 11, 23)


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
        query = leads.LeadQuery.from_args({"sort": sort})
        seen = every_page(db, query, owner, TODAY)
        assert len(seen) == len(set(seen)) == count, sort
        assert seen == leads.lead_ids(db, query, owner, today=TODAY), sort


def test_next_action_order_is_soonest_first_then_leads_without_one(db, make_user):
    owner = make_user()
    later, none, soon = (factories.lead(db, owner) for _ in range(3))
    for lead, due in ((later, TODAY + timedelta(days=9)), (soon, TODAY)):
        db.add(Activity(kind="task", text="Call", due_on=due, lead=lead, author=owner))
    db.commit()
    page = leads.list_leads(db, leads.LeadQuery(sort="next"), owner, today=TODAY)
    assert [lead.id for lead in page.leads] == [soon.id, later.id, none.id]


def test_the_count_stops_at_the_cap(db, make_user, monkeypatch):
    owner = make_user()
    for _ in range(5):
        factories.lead(db, owner)
    query = leads.LeadQuery.from_args({})
    assert leads.list_leads(db, query, owner, today=TODAY).total == 5
    monkeypatch.setattr(leads.listing, "COUNT_CAP", 3)
    page = leads.list_leads(db, query, owner, today=TODAY)
    assert (page.total, page.more, len(page.leads)) == (3, True, 5)


def test_sources_are_distinct_and_alphabetical(db, make_user):
    owner = make_user()
    for source in ("Web", "Expo", None, "Web", "Referral", "Expo"):
        factories.lead(db, owner, source=source)
    assert leads.sources(db) == ["Expo", "Referral", "Web"]
    assert leads.sources(db, limit=2) == ["Expo", "Referral"]
