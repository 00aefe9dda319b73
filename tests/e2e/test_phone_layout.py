"""Every screen fits a phone: nothing makes the page scroll sideways at 390 px, on a 320 px
screen, or at 200 % zoom (a 390 px phone then lays out in 195 px)."""

from __future__ import annotations

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
