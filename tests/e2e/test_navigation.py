"""The main navigation on a phone: a bar along the bottom, within the thumb's reach
(Capture, Agenda, Leads, Contacts, More), that never scrolls sideways — at 200 % text too."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from quickcrm.models import Activity, Lead
from tests.e2e.conftest import PHONE, open_area, sign_in, text_zoom
from tests.e2e.test_capture import screenshot_path

# A phone browser widens its layout to fit overflowing content, so innerWidth would follow.
PAGE_FITS = f"() => document.documentElement.scrollWidth <= {PHONE['width']}"


def bar_items(page) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelectorAll("nav[aria-label=Main] .nav-areas > li")]
          .filter(li => li.offsetParent !== null)
          .map(li => li.querySelector(".nav-label").textContent)"""
    )


def test_the_phone_has_a_bottom_bar_and_more(page, make_live_user, live_db):
    admin = make_live_user("admin@example.com", "admin", "Ada Admin")
    lead = Lead(owner=admin, name="Due Dora")
    live_db.add(lead)
    live_db.add(Activity(kind="task", text="Call", due_on=date.today(), lead=lead, author=admin,
                         assignee_id=admin.id))  # fmt: skip
    live_db.commit()
    sign_in(page, "admin@example.com")

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Agenda")).to_contain_text("1")
    assert bar_items(page) == ["Capture", "Agenda", "Leads", "Contacts", "More"]
    box = nav.bounding_box()
    assert box["y"] + box["height"] == PHONE["height"], "the bar sits along the bottom"
    assert page.evaluate(PAGE_FITS), "the page is wider than the phone"
    page.screenshot(path=str(screenshot_path("bottom-bar.png")))

    nav.get_by_role("link", name="Contacts").tap()
    expect(page).to_have_url(re.compile(r"/contacts/"))
    expect(nav.get_by_role("link", name="Contacts")).to_have_attribute("aria-current", "page")
    open_area(page, "Forecast")
    expect(page).to_have_url(re.compile(r"/forecast"))
    nav.get_by_text("More", exact=True).tap()
    expect(nav.get_by_role("link", name="Forecast")).to_have_attribute("aria-current", "page")
    for area in ("Companies", "Opportunities", "Admin"):
        expect(nav.get_by_role("link", name=area)).to_be_visible()
    assert page.evaluate(PAGE_FITS)


def test_at_200_percent_text_every_area_is_still_reachable(page, make_live_user):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    sign_in(page, "admin@example.com")
    width = text_zoom(page)
    for area, url in (("Agenda", "/agenda"), ("Leads", "/leads/"), ("Contacts", "/contacts/"),
                      ("Opportunities", "/opportunities"), ("Capture", "/")):  # fmt: skip
        fits = page.evaluate(f"() => document.documentElement.scrollWidth <= {width}")
        assert fits, f"sideways scrolling at 200 % text before {area}"
        open_area(page, area)
        expect(page).to_have_url(re.compile(re.escape(url) + "$"))
        nav = page.get_by_role("navigation", name="Main").bounding_box()
        assert nav["y"] + nav["height"] <= width * 844 / 390 + 1, "the bar is on the screen"
    page.screenshot(path=str(screenshot_path("bottom-bar-200.png")))


def test_a_wide_screen_shows_every_area_in_the_header(page, make_live_user):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "admin@example.com")
    nav = page.get_by_role("navigation", name="Main")
    for area in ("Capture", "Agenda", "Leads", "Companies", "Contacts", "Opportunities",
                 "Forecast", "Admin"):  # fmt: skip
        expect(nav.get_by_role("link", name=area, exact=True)).to_be_visible()
    expect(nav.get_by_text("More", exact=True)).to_be_hidden()
    assert nav.bounding_box()["y"] < 80, "in the header"
