"""The coordinator's lists on a 1280 x 800 laptop (issue 28, point 1): the whole width, the
filters one bar above the table, the first row in view without scrolling, headers that
sort (with the mouse or the keyboard) and say so, nothing scrolling sideways; axe-core
finds nothing, light or dark. A phone keeps its cards (tests/e2e/test_lists_on_phone.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import violations

LAPTOP = {"width": 1280, "height": 800}

# Each list and the selector of its result rows (review mode: the lead on show).
FIRST_ROWS = {
    "/leads/": ".lead-table tbody tr",
    "/companies/": ".company-table tbody tr",
    "/contacts/": ".contact-table tbody tr",
    "/opportunities/list": ".opp-table tbody tr",
    "/leads/review": "main h1",
}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A laptop: a mouse, no touch."""
    return {**browser_context_args, "viewport": LAPTOP, "device_scale_factor": 1,
            "is_mobile": False, "has_touch": False}  # fmt: skip


def column(page, css: str) -> list[str]:
    return [text.strip() for text in page.locator(css).all_inner_texts()]


def test_lists_fill_the_laptop_and_show_their_first_row(page, demo_screens):
    sign_in(page, "admin@example.com")
    for url, rows in FIRST_ROWS.items():
        page.goto(url)
        first = page.locator(rows).first
        expect(first).to_be_visible()
        box = first.bounding_box()
        assert box["y"] + box["height"] < LAPTOP["height"], f"{url}: first row below the fold"
        width = page.locator("main").bounding_box()["width"]
        assert width > 1000, f"{url}: a {width} px column"
        wide = page.evaluate("document.documentElement.scrollWidth > innerWidth")
        assert not wide, f"{url} scrolls sideways"
    # The leads' filters sit in one bar above the table, Search first.
    page.goto("/leads/")
    search = page.get_by_label("Search").bounding_box()
    status = page.get_by_label("Status").bounding_box()
    assert abs(search["y"] - status["y"]) < 2, "Search and the filters share a row"
    expect(page.get_by_role("button", name="Filters")).to_be_hidden()


def test_headers_sort_by_mouse_and_keyboard(page, demo_screens):
    sign_in(page, "admin@example.com")
    page.goto("/leads/?temperature=hot")
    expect(page.get_by_role("columnheader", name="Captured")).to_have_attribute(
        "aria-sort", "descending"
    )
    name = page.get_by_role("link", name="Name", exact=True)
    name.focus()
    page.keyboard.press("Enter")
    header = page.get_by_role("columnheader", name="Name")
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(page).to_have_url(re.compile(r"temperature=hot"))
    names = column(page, ".lead-table .cell-name")
    assert names == sorted(names) and len(names) >= 2
    expect(page.get_by_label("Sort by")).to_have_value("name")
    page.get_by_role("link", name="Name", exact=True).click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert column(page, ".lead-table .cell-name") == sorted(names, reverse=True)
    # The row's main action: an open lead is converted from its row.
    row = page.locator(".lead-row").filter(has_text=names[0])
    row.get_by_role("link", name=f"Convert {names[0]}").click()
    expect(page).to_have_url(re.compile(r"/leads/\d+/convert"))

    page.goto("/companies/")
    acme, bluebird = "Acme Ltd", "Bluebird Logistics"
    listed = column(page, ".company-table .cell-name")
    assert listed.index(acme) < listed.index(bluebird)
    page.get_by_role("link", name="Name", exact=True).click()
    expect(page.get_by_role("columnheader", name="Name")).to_have_attribute(
        "aria-sort", "descending"
    )
    listed = column(page, ".company-table .cell-name")
    assert listed.index(bluebird) < listed.index(acme)

    page.goto("/opportunities/list")
    page.get_by_role("link", name="Value", exact=True).click()
    expect(page.get_by_role("columnheader", name="Value")).to_have_attribute(
        "aria-sort", "descending"
    )
    expect(page.get_by_role("columnheader", name="Close")).not_to_have_attribute(
        "aria-sort", re.compile(".")
    )
    values = [float(re.sub(r"[^\d.]", "", v)) for v in column(page, ".opp-table .cell-value")]
    assert values == sorted(values, reverse=True) and len(values) >= 2


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_desk_lists_pass_axe(page, demo_screens, scheme):
    page.emulate_media(color_scheme=scheme)
    sign_in(page, "admin@example.com")
    found = {}
    for url in (*FIRST_ROWS, "/leads/?sort=-name", "/forecast", "/meeting", "/admin"):
        page.goto(url)
        found[url] = violations(page)
    found = {url: v for url, v in found.items() if v}
    assert found == {}, found
