"""Looks right everywhere: the phone's dark setting, landscape, a tablet held either way, and
a calendar that subscribes in one tap."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

COVERED = """el => {
  const box = el.getBoundingClientRect();
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return !(top === el || el.contains(top));
}"""


def test_the_theme_follows_the_phones_setting(page, make_live_user):
    make_live_user()
    sign_in(page)
    background = "getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="light")
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate(background)
    assert light != dark
    # Dark really is dark: the sum of the channels is low.
    assert sum(int(c) for c in dark[4:-1].split(",")) < 3 * 60, dark


def test_in_landscape_save_can_be_reached_and_is_not_covered(page, make_live_user):
    make_live_user()
    sign_in(page)
    page.set_viewport_size({"width": 844, "height": 390})
    page.get_by_label("Name", exact=True).fill("Sideways Sam")
    save = page.get_by_role("button", name="Save")
    save.scroll_into_view_if_needed()
    assert not save.evaluate(COVERED), "something sits on top of Save"
    save.tap()
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("Sideways Sam")


def test_the_app_is_not_locked_to_portrait(page, make_live_user):
    make_live_user()
    sign_in(page)
    manifest = page.request.get("/static/manifest.webmanifest").json()
    assert manifest.get("orientation", "any") in ("any", "natural")


def test_the_calendar_page_subscribes_with_webcal(page, make_live_user):
    make_live_user()
    sign_in(page)
    page.goto("/agenda/calendar")
    page.get_by_role("button", name="Create my calendar address").tap()
    address = page.get_by_label("Or copy the calendar address").input_value()
    assert address.startswith("http://127.0.0.1")
    subscribe = page.get_by_role("link", name="Subscribe")
    expect(subscribe).to_have_attribute("href", "webcal://" + address.split("://", 1)[1])
