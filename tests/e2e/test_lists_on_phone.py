"""Lists on a phone: the leads as cards with the filters behind one button, review mode
without keyboard hints and with Next in reach, and no input small enough to make iOS zoom."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.domain import demo
from quickcrm.models import Lead
from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE, sign_in

SMALL_INPUTS = """() => [...document.querySelectorAll(
  "input:not([type=hidden], [type=radio], [type=checkbox], [type=file]), select, textarea")]
  .filter(el => el.offsetParent !== null && parseFloat(getComputedStyle(el).fontSize) < 16)
  .map(el => el.outerHTML.slice(0, 100))"""


def test_leads_are_cards_with_the_filters_behind_one_button(page, make_live_user, live_db):
    rep = make_live_user()
    live_db.add_all([
        Lead(name="Late Larry", owner_id=rep.id, company_name="Larry & Co", temperature="hot",
             next_action_on=date.today() - timedelta(days=2)),
        Lead(name="Soon Sue", owner_id=rep.id, next_action_on=date.today() + timedelta(days=1)),
    ])  # fmt: skip
    live_db.commit()
    sign_in(page)
    page.goto("/leads/")
    filters = page.get_by_role("button", name="Filters")
    expect(filters).to_be_visible()
    expect(page.get_by_label("Temperature")).to_be_hidden()
    expect(page.get_by_label("Search")).to_be_visible()

    larry = page.locator(".lead-row").filter(has_text="Late Larry")
    expect(larry).to_contain_text("Larry & Co")
    expect(larry).to_contain_text("Hot")
    overdue = larry.locator(".cell-next")
    expect(overdue).to_contain_text("overdue")
    red = overdue.evaluate("el => getComputedStyle(el).color")
    assert red != page.locator(".lead-row").filter(has_text="Soon Sue").locator(
        ".cell-next"
    ).evaluate("el => getComputedStyle(el).color")
    card = larry.bounding_box()
    assert card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"], "a card fits"

    filters.tap()
    expect(filters).to_have_attribute("aria-expanded", "true")
    page.get_by_label("Temperature").select_option("Hot")
    expect(page.locator(".lead-row")).to_have_count(1)
    page.reload()
    expect(page.get_by_role("button", name="Filters")).to_contain_text("(1 on)")


def test_review_mode_on_a_phone_hides_key_hints_and_keeps_next_in_reach(
    page, make_live_user, live_db, live_app
):
    demo.seed(live_db, password=PASSWORD, password_method=live_app.config["PASSWORD_METHOD"])
    live_db.commit()
    make_live_user("coord@example.com", "coordinator", "Cora Coordinator")
    sign_in(page, "coord@example.com")
    page.goto("/leads/review")
    expect(page.get_by_role("status").filter(has_text=" of ")).to_be_visible()
    expect(page.get_by_text("Keys:")).to_be_hidden()
    nxt = page.get_by_role("navigation", name="Review").get_by_role("link", name="Next")
    box = nxt.bounding_box()
    bar_top = page.get_by_role("navigation", name="Main").bounding_box()["y"]
    assert box["y"] + box["height"] <= bar_top, "Next is on the screen, above the bar"
    nxt.tap()
    expect(page.get_by_role("status").filter(has_text="2 of")).to_be_visible()


def test_no_input_is_smaller_than_16_px(page, make_live_user, live_db, live_app):
    demo.seed(live_db, password=PASSWORD, password_method=live_app.config["PASSWORD_METHOD"])
    live_db.commit()
    make_live_user("admin@example.com", "admin", "Ada Admin")
    lead = live_db.scalar(select(Lead).where(Lead.status == "open").limit(1))
    sign_in(page, "admin@example.com")
    small = {}
    screens = ("/", "/agenda", "/leads/", f"/leads/{lead.id}", f"/leads/{lead.id}/convert",
               "/opportunities", "/opportunities/list", "/forecast", "/admin")  # fmt: skip
    for url in screens:
        page.goto(url)
        page.evaluate("""() => document.querySelectorAll("[aria-expanded=false]")
                         .forEach(b => b.matches("[data-disclose-filters]") && b.click())""")
        found = page.evaluate(SMALL_INPUTS)
        if found:
            small[url] = found
    assert small == {}, small
