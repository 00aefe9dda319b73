"""The main navigation on a phone: one row that fits the screen and swipes sideways, with
the current area in view."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from quickcrm.models import Activity, Lead
from tests.e2e.conftest import PHONE, sign_in

# A phone browser widens its layout to fit overflowing content, so innerWidth would follow.
PAGE_FITS = f"() => document.documentElement.scrollWidth <= {PHONE['width']}"


def _in_view(page, name: str) -> bool:
    """Whether the link ``name`` lies wholly inside the visible part of the navigation."""
    return page.evaluate(
        """name => {
          const nav = document.querySelector("nav[aria-label=Main]").getBoundingClientRect();
          const link = [...document.querySelectorAll("nav[aria-label=Main] a")]
            .find(a => a.textContent.trim().startsWith(name)).getBoundingClientRect();
          return link.left >= nav.left - 1 && link.right <= nav.right + 1;
        }""",
        name,
    )


def test_the_phone_header_is_one_row_that_swipes(page, make_live_user, live_db):
    admin = make_live_user("admin@example.com", "admin", "Ada Admin")
    lead = Lead(owner=admin, name="Due Dora")
    live_db.add(lead)
    live_db.add(Activity(kind="task", text="Call", due_on=date.today(), lead=lead, author=admin,
                         assignee_id=admin.id))  # fmt: skip
    live_db.commit()
    sign_in(page, "admin@example.com")

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name=re.compile("^Agenda"))).to_contain_text("1")
    assert page.evaluate(PAGE_FITS), "the page is wider than the phone"
    assert page.locator(".app-header").bounding_box()["height"] < 80, "the header wrapped"
    assert _in_view(page, "Capture") and _in_view(page, "Agenda")
    assert not _in_view(page, "Admin")
    expect(nav).to_have_class(re.compile("more-right"))  # the cut-off side fades

    nav.get_by_role("link", name="Forecast").click()
    expect(page).to_have_url(re.compile(r"/forecast"))
    assert _in_view(page, "Forecast"), "the current area is scrolled into view"
    expect(nav.get_by_role("link", name="Forecast")).to_have_attribute("aria-current", "page")
    assert page.evaluate(PAGE_FITS)


def test_a_wide_screen_shows_every_area(page, make_live_user):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "admin@example.com")
    for area in ("Capture", "Agenda", "Leads", "Companies", "Contacts", "Opportunities",
                 "Forecast", "Admin"):  # fmt: skip
        assert _in_view(page, area), area
    expect(page.get_by_role("navigation", name="Main")).not_to_have_class(re.compile("more-"))
