"""Record pages lead with the record (issue 28): on a phone and on a laptop the lead's facts
and the first item of its history are on the first screen; *Log activity* is one control
that opens the form; a field is edited in place from its value."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Activity, Lead
from tests import factories
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import violations

SCREENS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1280, "height": 800}}


def worked_lead(db):
    """A coordinator and a rep's lead with every field filled and five activities."""
    cora = factories.user(db, "cora@example.com", "coordinator", "Cora Coordinator")
    rep = factories.user(db, "rep@example.com", "rep", "Rita Rep")
    lead = factories.lead(
        db, rep, name="Maria Novak", company_name="Novak Bakery", phone="+44 20 7946 0958",
        email="maria@novak.example", temperature="hot", source="Trade show", note="Wants ovens",
    )  # fmt: skip
    for number, kind in enumerate(("call", "email", "meeting", "note", "call"), start=1):
        db.add(Activity(kind=kind, text=f"Spoke {number}", author_id=cora.id, lead=lead))
    db.commit()
    return lead


def first_screen_bottom(page) -> float:
    """What the first screen shows ends at the bottom bar (a phone) or the viewport."""
    return page.evaluate(
        """() => {
          const bar = document.querySelector("nav[aria-label=Main]");
          const top = bar && getComputedStyle(bar).position === "fixed"
            ? bar.getBoundingClientRect().top : innerHeight;
          return Math.min(top, innerHeight);
        }"""
    )


@pytest.mark.parametrize("screen", SCREENS)
def test_the_lead_page_leads_with_the_record(page, live_db, screen):
    lead = worked_lead(live_db)
    page.set_viewport_size(SCREENS[screen])
    sign_in(page, "cora@example.com")
    page.goto(f"/leads/{lead.id}")

    # The facts and the newest of the history on the first screen, no sideways scroll.
    history = page.get_by_role("region", name="Timeline")
    items = history.get_by_role("listitem")
    expect(items).to_have_count(5)
    bottom = first_screen_bottom(page)
    for fact in (page.locator("#field-next_action"), items.first):
        box = fact.bounding_box()
        assert box["y"] + box["height"] <= bottom, (screen, box, bottom)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    # One Edit control per field, no column of buttons: a pencil of at most 44 px.
    pencil = page.get_by_role("link", name="Edit source")
    assert pencil.bounding_box()["width"] <= 48
    # The decision is there too.
    expect(page.get_by_role("link", name="Convert")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Disqualify")).to_be_in_viewport()

    # Log a call: one control opens the form; the call tops the history.
    expect(page.get_by_label("What happened or what to do")).to_be_hidden()
    page.get_by_text("Log activity").click()
    expect(page.get_by_label("Kind")).to_be_focused()
    assert violations(page) == []  # the form open, in the page's flow
    page.get_by_label("Kind").select_option("Call")
    page.get_by_label("What happened or what to do").fill("Called back, demo on Friday")
    page.get_by_role("button", name="Log it").click()
    expect(items).to_have_count(6)
    expect(items.first).to_contain_text("Called back, demo on Friday")
    expect(items.first).to_contain_text("Call")
    expect(page.get_by_label("What happened or what to do")).to_be_hidden()

    # Edit in place: a tap on the value opens the field, Enter saves it.
    page.locator("#field-source").get_by_text("Trade show").click()
    source = page.get_by_label("Source")
    expect(source).to_be_focused()
    assert violations(page) == []  # a field open in place
    source.fill("Bakery fair")
    source.press("Enter")
    row = page.locator("#field-source")
    expect(row.get_by_role("status")).to_have_text("Saved")
    expect(row).to_contain_text("Bakery fair")
    expect(page.get_by_label("Source")).to_have_count(0)

    live_db.expire_all()
    assert live_db.get(Lead, lead.id).source == "Bakery fair"
    texts = live_db.scalars(
        select(Activity.text).where(Activity.lead_id == lead.id, Activity.kind == "call")
    ).all()
    assert "Called back, demo on Friday" in texts


def test_a_company_is_edited_in_place_and_its_history_comes_first(page, live_db):
    cora = factories.user(live_db, "cora@example.com", "coordinator", "Cora Coordinator")
    acme = factories.company(live_db, "Acme Ltd", phone="+44 20 7946 0001")
    factories.contact(live_db, acme, "Ann Smith")
    for number in range(1, 6):
        live_db.add(Activity(kind="call", text=f"Spoke {number}", author_id=cora.id, company=acme))
    live_db.commit()
    sign_in(page, "cora@example.com")
    page.goto(f"/companies/{acme.id}")

    history = page.get_by_role("region", name="Timeline")
    box = history.get_by_role("listitem").first.bounding_box()
    assert box["y"] + box["height"] <= first_screen_bottom(page)
    assert page.get_by_role("region", name="Contacts").bounding_box()["y"] > box["y"]

    # One Edit opens the form where the facts are; Save changes refreshes them.
    expect(page.get_by_label("Phone")).to_be_hidden()
    page.get_by_text("Edit", exact=True).click()
    page.get_by_label("Phone").fill("+44 20 7946 0999")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="Saved — Acme Ltd")).to_be_visible()
    expect(page.get_by_role("link", name="Call +44 20 7946 0999")).to_be_visible()
    live_db.expire_all()
    assert live_db.get(type(acme), acme.id).phone == "+44 20 7946 0999"
