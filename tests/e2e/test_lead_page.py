"""A rep on a phone works a lead on its page: one field at a time, the next action, a call."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.domain import leads
from quickcrm.models import Activity, Lead
from tests.e2e.conftest import sign_in


def test_edit_the_phone_and_the_next_action_then_log_a_call(page, make_live_user, live_db):
    rep = make_live_user()
    lead = Lead(owner=rep, name="Maria Novak", phone="+44 20 7946 0958")
    live_db.add(lead)
    live_db.commit()
    sign_in(page)
    page.goto(f"/leads/{lead.id}")

    # The phone: Edit, type, Enter.
    page.get_by_role("link", name="Edit phone").tap()
    phone = page.get_by_label("Phone")
    expect(phone).to_be_focused()
    phone.fill("+44 20 7946 0000")
    phone.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    call = page.get_by_role("link", name="Call +44 20 7946 0000")
    expect(call).to_have_attribute("href", "tel:+442079460000")
    expect(page.get_by_role("link", name="Edit phone")).to_be_focused()
    expect(page.get_by_label("Phone")).to_have_count(0)

    # Escape closes a row without saving.
    page.get_by_role("link", name="Edit source").tap()
    page.get_by_label("Source").fill("Never saved")
    page.get_by_label("Source").press("Escape")
    expect(page.get_by_role("link", name="Edit source")).to_be_focused()

    # The next action: a text and Next week.
    page.get_by_role("link", name="Edit next action").tap()
    page.get_by_label("Next action", exact=True).fill("Send the quote")
    page.get_by_role("button", name="Next week").tap()
    next_week = date.today() + timedelta(days=7)
    expect(page.get_by_label("Next action date")).to_have_value(next_week.isoformat())
    page.get_by_role("button", name="Save").tap()
    row = page.locator("#field-next_action")
    expect(row.get_by_role("status")).to_have_text("Saved")
    expect(row).to_contain_text("Send the quote")

    # A call, logged through the kinds form behind Log activity, joins the timeline.
    page.get_by_text("Log activity").tap()
    page.get_by_label("Kind").select_option("Call")
    page.get_by_label("What happened or what to do").fill("Called, wants a demo on Friday")
    page.get_by_role("button", name="Log it").tap()
    first = page.get_by_role("listitem").filter(has_text="Called, wants a demo on Friday")
    expect(first).to_contain_text("Call")

    live_db.expire_all()
    lead = live_db.get(Lead, lead.id)
    assert (lead.phone, lead.source) == ("+44 20 7946 0000", None)
    action = leads.next_action(live_db, lead)
    assert (action.text, action.due_on) == ("Send the quote", next_week)
    kinds = live_db.scalars(select(Activity.kind).where(Activity.lead_id == lead.id)).all()
    assert sorted(kinds) == ["call", "task"]
