"""Every screen fits a phone: nothing makes the page scroll sideways at 390 px, on a 320 px
screen, or at 200 % zoom (a 390 px phone then lays out in 195 px); the bottom bar stays one
row, Save is a screen away at most, and names on the agenda wrap instead of being cut."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import User
from tests.e2e.conftest import PHONE, sign_in, text_zoom

# A phone browser widens its layout to fit content that overflows (innerWidth follows), so
# the test measures against the phone's own width.
WIDER_THAN_PHONE = """width => [...document.querySelectorAll("body *")]
  .filter(el => el.getBoundingClientRect().right > width + 1
                && !el.closest(".table-scroll, .board, table"))
  .slice(0, 5).map(el => el.outerHTML.slice(0, 120))"""


def test_no_screen_scrolls_sideways_on_a_phone(page, demo_screens):
    sign_in(page, "admin@example.com")
    too_wide = {}
    # A data table may scroll inside itself (WCAG 1.4.10 allows it); the page never does.
    for label, width in (("390 px", PHONE["width"]), ("320 px", 320), ("200 %", None)):
        if width is None:
            width = text_zoom(page)
        else:
            page.set_viewport_size({"width": width, "height": PHONE["height"]})
        for url in demo_screens:
            page.goto(url)
            overflow = page.evaluate(WIDER_THAN_PHONE, width)
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if overflow or scroll_width > width:
                too_wide[f"{label} {url}"] = (scroll_width, overflow)
    assert list(too_wide) == [], too_wide


# Every visible area of the bottom bar, by the top of its box: one value is one row.
BAR_ROWS = """() => new Set([...document.querySelectorAll("nav[aria-label=Main] .nav-areas > li")]
  .filter(li => li.offsetParent !== null)
  .map(li => Math.round(li.getBoundingClientRect().top))).size"""
# Each label of the bar on one line (the current one too): none broken inside a word.
ONE_LINE_LABELS = """() => [...document.querySelectorAll("nav[aria-label=Main] .nav-label")]
  .filter(el => el.offsetParent !== null)
  .every(el => el.getClientRects().length === 1 && el.getBoundingClientRect().height < 24)"""
# A person's or a company's name on the agenda that is cut instead of wrapped.
CUT_NAMES = """() => [...document.querySelectorAll(".agenda-who, .agenda-who a, .agenda-company")]
  .filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.textContent.trim())"""


def test_at_200_percent_text_and_320_px_the_bar_is_one_row_and_names_wrap(
    page, demo_screens, live_db
):
    sign_in(page, "admin@example.com")
    sam = live_db.scalar(select(User).where(User.email == "rep.sam@demo.quickcrm"))
    agenda = f"/agenda?user={sam.id}"
    for label in ("320 px", "200 %"):
        if label == "320 px":
            width = 320
            page.set_viewport_size({"width": width, "height": PHONE["height"]})
        else:
            width = text_zoom(page)
        height = page.viewport_size["height"]
        page.goto("/")
        assert page.evaluate(BAR_ROWS) == 1, label
        assert page.evaluate(ONE_LINE_LABELS), label
        bar = page.get_by_role("navigation", name="Main").bounding_box()
        assert bar["height"] < 0.15 * height, (label, bar)
        # Save within one screen of scrolling, clear of the bar.
        save = page.get_by_role("button", name="Save").bounding_box()
        assert save["y"] + save["height"] <= 2 * height - bar["height"], (label, save)
        for url in ("/", agenda, "/leads/"):
            page.goto(url)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (label, url)
        page.goto(agenda)
        assert page.locator(".agenda-who").count() > 3
        assert page.evaluate(CUT_NAMES) == [], label
    # Contacts, out of the bar, is behind More.
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("More", exact=True).click()
    nav.get_by_role("link", name="Contacts").click()
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
