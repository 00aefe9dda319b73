"""The main navigation on a phone: it fits the screen, the other areas are under More."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from quickcrm.models import Activity, Lead
from tests.e2e.conftest import sign_in

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_the_phone_header_fits_and_more_opens_the_other_areas(page, make_live_user, live_db):
    admin = make_live_user("admin@example.com", "admin", "Ada Admin")
    lead = Lead(owner=admin, name="Due Dora")
    live_db.add(lead)
    live_db.add(Activity(kind="task", text="Call", due_on=date.today(), lead=lead, author=admin,
                         assignee_id=admin.id))  # fmt: skip
    live_db.commit()
    sign_in(page, "admin@example.com")

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Capture")).to_be_visible()
    expect(nav.get_by_role("link", name=re.compile("^Agenda"))).to_contain_text("1")
    expect(nav.get_by_role("link", name="Contacts")).to_be_hidden()
    assert page.evaluate(FITS), "the header is wider than the phone"
    header = page.locator(".app-header").bounding_box()
    assert header["height"] < 80, "the header wrapped onto a second line"

    more = nav.get_by_text("More")
    more.click()
    for area in ("Leads", "Companies", "Contacts", "Opportunities", "Forecast", "Admin"):
        expect(nav.get_by_role("link", name=area)).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Contacts")).to_be_hidden()

    more.click()
    nav.get_by_role("link", name="Contacts").click()
    expect(page).to_have_url(re.compile(r"/contacts/?$"))
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    # Where you are stays visible: More is marked current while its menu is closed.
    expect(nav.locator("summary")).to_have_class(re.compile("current"))

    more.click()
    page.mouse.click(195, 800)  # a tap elsewhere closes it
    expect(nav.get_by_role("link", name="Leads")).to_be_hidden()


def test_a_wide_screen_shows_every_area_without_more(page, make_live_user):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "admin@example.com")
    nav = page.get_by_role("navigation", name="Main")
    for area in ("Capture", "Agenda", "Leads", "Companies", "Contacts", "Opportunities",
                 "Forecast", "Admin"):  # fmt: skip
        expect(nav.get_by_role("link", name=area)).to_be_visible()
    expect(nav.get_by_text("More")).to_be_hidden()
    assert page.evaluate(FITS)
