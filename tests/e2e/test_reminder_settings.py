"""Account → Reminders on a phone (390 x 844): a rep finds it from their account, sets the
time and days of their morning list, and the page keeps them (issue 27)."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from playwright.sync_api import expect

from quickcrm.models import User
from tests.e2e.conftest import sign_in

RESULTS = Path(__file__).resolve().parents[2] / "test-results"


def test_a_rep_sets_their_morning_list_on_a_phone(page, make_live_user, live_db):
    rep = make_live_user()
    sign_in(page)
    page.goto("/account")
    page.get_by_role("link", name="Reminders").click()
    expect(page.get_by_role("heading", name="Reminders", level=1)).to_be_visible()
    expect(page.get_by_text("Mail is not set up on this server: ask your admin.")).to_be_visible()

    email = page.get_by_label("Email me my morning list")
    expect(email).to_be_checked()
    expect(page.get_by_label("Time")).to_have_value("07:30")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        expect(page.get_by_label(day)).to_be_checked()
    expect(page.get_by_label("Saturday")).not_to_be_checked()
    expect(page.get_by_label("Monday digest")).to_have_count(0)  # a coordinator's

    page.get_by_label("Time").fill("06:45")
    page.get_by_label("Friday").uncheck()
    page.get_by_label("Saturday").check()
    save = page.get_by_role("button", name="Save")
    save.scroll_into_view_if_needed()
    box = save.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    save.click()

    expect(page.get_by_text("Saved: your reminders are set.")).to_be_visible()
    expect(page.get_by_label("Time")).to_have_value("06:45")
    expect(page.get_by_label("Friday")).not_to_be_checked()
    expect(page.get_by_label("Saturday")).to_be_checked()
    # Nothing sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(RESULTS / "reminders-390.png"), full_page=True)
    live_db.expire_all()
    saved = live_db.get(User, rep.id)
    assert (saved.reminder_at, saved.reminder_days) == (time(6, 45), "12346")

    # Turning the list off with no day chosen is fine; on with none is refused in place.
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Saturday"):
        page.get_by_label(day).uncheck()
    page.get_by_role("button", name="Save").click()
    refused = page.get_by_text("Choose at least one day, or turn the morning list off.")
    expect(refused).to_be_visible()
    email.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved: your reminders are set.")).to_be_visible()
    expect(page.get_by_label("Email me my morning list")).not_to_be_checked()
