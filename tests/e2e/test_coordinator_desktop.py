"""A coordinator at a desk: convert two leads of one company, review a filtered list,
disqualify and reopen a lead."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from quickcrm.models import Company
from tests import factories
from tests.e2e.conftest import sign_in

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """The desk is used on a desktop: a wide viewport, a mouse, no touch."""
    return {**browser_context_args, "viewport": DESKTOP, "device_scale_factor": 1,
            "is_mobile": False, "has_touch": False}  # fmt: skip


def test_second_conversion_suggests_the_company_made_by_the_first(page, make_live_user, live_db):
    cora = make_live_user("cora@example.com", "coordinator", "Cora")
    first = factories.lead(
        live_db, cora, name="Jo Bloggs", company_name="Acme Inc", email="jo@acme.com"
    )
    second = factories.lead(live_db, cora, name="Sam Smith", company_name="ACME, Inc.")
    sign_in(page, "cora@example.com")

    page.goto(f"/leads/{first.id}")
    page.get_by_role("link", name="Convert").click()
    expect(page.get_by_role("radio", name="New company")).to_be_checked()
    expect(page.get_by_label("Company name")).to_have_value("Acme Inc")
    expect(page.get_by_role("checkbox", name="Create opportunity")).not_to_be_checked()
    page.get_by_role("checkbox", name="Create opportunity").check()
    page.get_by_label("Stage").select_option("Proposal")
    expect(page.get_by_label("Probability")).to_have_value("50")
    page.get_by_label("Value").fill("12000")
    page.get_by_role("button", name="Convert").click()
    expect(page.get_by_role("status").first).to_contain_text("Converted")
    expect(page.get_by_role("heading", name="Acme Inc")).to_be_visible()

    page.goto(f"/leads/{second.id}/convert")
    expect(page.get_by_role("radio", name="Acme Inc")).to_be_checked()
    # Company name only means something with New company (static/js/convert.js).
    expect(page.get_by_label("Company name")).to_be_disabled()
    page.get_by_role("radio", name="New company").check()
    expect(page.get_by_label("Company name")).to_be_enabled()
    page.get_by_role("radio", name="Acme Inc").check()
    page.get_by_role("radio", name="New contact").check()
    page.get_by_role("button", name="Convert").click()
    expect(page.get_by_role("link", name="Sam Smith")).to_be_visible()
    assert live_db.query(Company).count() == 1


def keys_ready(page) -> None:
    """The page a link opened has run its deferred scripts (the review keys' handler): a
    heading is visible as soon as the HTML is parsed, and a key pressed before then is
    lost — a busy CI machine did."""
    page.wait_for_load_state("load")


def test_review_mode_steps_through_a_filtered_list(page, make_live_user, live_db):
    cora = make_live_user("cora@example.com", "coordinator", "Cora")
    for name in ("Ann Expo", "Ben Expo", "Cat Expo"):
        factories.lead(live_db, cora, name=name, source="Expo", temperature="hot")
    factories.lead(live_db, cora, name="Dan Web", source="Web", temperature="hot")
    sign_in(page, "cora@example.com")

    page.goto("/leads/")
    page.get_by_label("Source").select_option("Expo")
    page.get_by_label("Sort by").select_option("name")
    expect(page.get_by_role("link", name="Dan Web")).to_have_count(0)
    # The list (and its Review link) is refreshed by htmx: wait for the sorted one.
    review = page.get_by_role("link", name="Review")
    expect(review).to_have_attribute("href", re.compile(r"sort=name"))
    expect(review).to_have_attribute("href", re.compile(r"source=Expo"))
    review.click()
    expect(page.get_by_text("1 of 3")).to_be_visible()
    expect(page.get_by_role("heading", name="Ann Expo")).to_be_visible()
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text("2 of 3")).to_be_visible()
    expect(page.get_by_role("heading", name="Ben Expo")).to_be_visible()
    page.get_by_role("link", name="Previous").click()
    expect(page.get_by_role("heading", name="Ann Expo")).to_be_visible()
    keys_ready(page)
    page.keyboard.press("ArrowRight")
    expect(page.get_by_text("2 of 3")).to_be_visible()
    page.get_by_role("button", name="Snooze a week").click()
    expect(page.get_by_role("status").first).to_contain_text("Snoozed — Ben Expo")
    expect(page.get_by_text("2 of 3")).to_be_visible()

    # The other keys: s snoozes, d moves to the disqualify reason, c opens the convert page.
    keys_ready(page)
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("heading", name="Cat Expo")).to_be_visible()
    keys_ready(page)
    page.keyboard.press("s")
    expect(page.get_by_role("status").first).to_contain_text("Snoozed — Cat Expo")
    keys_ready(page)  # the snooze loaded the page again
    page.keyboard.press("d")
    expect(page.get_by_label("Reason")).to_be_focused()
    page.evaluate("document.activeElement.blur()")  # keys typed in a field stay there
    page.keyboard.press("c")
    expect(page).to_have_url(re.compile(r"/leads/\d+/convert"))


def test_a_disqualified_lead_can_be_reopened(page, make_live_user, live_db):
    cora = make_live_user("cora@example.com", "coordinator", "Cora")
    lead = factories.lead(live_db, cora, name="Jo Bloggs")
    sign_in(page, "cora@example.com")

    page.goto(f"/leads/{lead.id}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Reason").select_option("no response")
    page.get_by_role("button", name="Disqualify").click()
    expect(page.get_by_text("Disqualified: no response.")).to_be_visible()
    page.get_by_role("button", name="Reopen").click()
    expect(page.get_by_role("button", name="Disqualify")).to_be_visible()
    live_db.refresh(lead)
    assert lead.status == "open"
