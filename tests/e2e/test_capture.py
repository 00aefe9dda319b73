"""A rep on a phone: sign in, capture in seconds, undo, sign out."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Activity, Lead
from tests.e2e.conftest import sign_in, sign_out

ROOT = Path(__file__).resolve().parents[2]


def screenshot_path(name: str) -> Path:
    """README screenshots are refreshed with QUICKCRM_UPDATE_SCREENSHOTS=1; other runs
    keep theirs out of the tree."""
    if os.environ.get("QUICKCRM_UPDATE_SCREENSHOTS"):
        return ROOT / "docs" / "screenshots" / name
    return ROOT / "test-results" / name


def test_capture_a_hot_lead_for_tomorrow_then_undo_and_sign_out(page, make_live_user, live_db):
    rep = make_live_user()
    sign_in(page)

    name = page.get_by_label("Name", exact=True)
    expect(name).to_be_focused()
    name.fill("Maria Novak")
    page.get_by_role("radio", name="Hot").check()
    page.get_by_role("button", name="Tomorrow").click()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    expect(page.get_by_label("Next action date")).to_have_value(tomorrow)
    expect(page.get_by_role("button", name="Tomorrow")).to_have_attribute("aria-pressed", "true")
    page.get_by_label("Note").fill("Wants a quote for 20 seats")
    page.screenshot(path=screenshot_path("capture-filled.png"))
    page.get_by_role("button", name="Save").click()

    status = page.get_by_role("status").filter(has_text="Saved")
    expect(status).to_contain_text("Saved — Maria Novak")
    expect(status.get_by_role("button", name="Undo")).to_be_visible()
    expect(status.get_by_role("link", name="Edit")).to_be_visible()
    # The form is ready for the next card.
    expect(name).to_have_value("")
    expect(name).to_be_focused()
    expect(page.get_by_role("radio", name="Hot")).not_to_be_checked()
    expect(page.get_by_label("Next action date")).to_have_value("")
    recent = page.get_by_role("region", name="My recent captures")
    expect(recent).to_contain_text("Maria Novak")
    expect(recent).to_contain_text("Hot")
    # Written to the phone first, then on the server: Edit opens the lead's page.
    expect(status).to_contain_text("on the server ✓")
    page.screenshot(path=screenshot_path("capture.png"))

    lead = live_db.scalars(select(Lead)).one()
    assert (lead.name, lead.temperature, lead.note, lead.owner_id) == (
        "Maria Novak",
        "hot",
        "Wants a quote for 20 seats",
        rep.id,
    )
    assert live_db.scalars(select(Activity.due_on)).one().isoformat() == tomorrow

    status.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status").filter(has_text="Removed")).to_contain_text(
        "Removed — Maria Novak"
    )
    expect(recent).not_to_contain_text("Maria Novak")
    live_db.expire_all()
    assert live_db.scalars(select(Lead)).all() == []

    sign_out(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url("/login?next=/")


def test_an_empty_name_gets_a_message_and_nothing_is_saved(page, make_live_user, live_db):
    make_live_user()
    sign_in(page)
    page.get_by_role("radio", name="Warm").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter a name — a person or a business.")).to_be_visible()
    name = page.get_by_label("Name", exact=True)
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_be_focused()
    # What the rep already chose is kept.
    expect(page.get_by_role("radio", name="Warm")).to_be_checked()
    assert live_db.scalars(select(Lead)).all() == []


def test_more_reveals_details_and_the_source_sticks_for_the_next_card(page, make_live_user):
    make_live_user()
    sign_in(page)
    expect(page.get_by_label("Company")).to_be_hidden()
    page.get_by_role("button", name="More").click()
    expect(page.get_by_role("button", name="More")).to_have_attribute("aria-expanded", "true")
    page.get_by_label("Name", exact=True).fill("John Smith")
    page.get_by_label("Company").fill("Acme Ltd")
    page.get_by_label("Phone").fill("12")
    page.get_by_label("Source").fill("Trade show Lyon")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Enter a phone number")).to_be_visible()
    page.get_by_label("Phone").fill("+44 20 7946 0958")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text("John Smith")
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text("on the server ✓")
    expect(page.get_by_text("Source: Trade show Lyon")).to_be_visible()
    page.get_by_role("button", name="More").click()
    expect(page.get_by_label("Source")).to_have_value("Trade show Lyon")
    expect(page.get_by_label("Company")).to_have_value("")


def test_capture_works_as_a_plain_form_without_javascript(
    browser, base_url, make_live_user, live_db
):
    make_live_user()
    context = browser.new_context(
        java_script_enabled=False, base_url=base_url, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    sign_in(page)
    # Without JavaScript the details are simply shown.
    expect(page.get_by_label("Company")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("No Script")
    page.get_by_role("radio", name="Cold").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text("No Script")
    assert live_db.scalars(select(Lead.temperature)).one() == "cold"
    context.close()


def test_the_capture_screen_is_comfortable_on_a_phone(page, make_live_user):
    make_live_user()
    sign_in(page)
    page.get_by_role("button", name="More").click()
    too_small = page.evaluate(
        """() => Array.from(document.querySelectorAll(
                '#capture-form button, #capture-form input:not([type=hidden]), '
                + '#capture-form textarea, .toggle, header a, header summary'))
            .filter((el) => el.offsetParent !== null)
            .map((el) => ({el: el.outerHTML.slice(0, 60), box: el.getBoundingClientRect(),
                           font: parseFloat(getComputedStyle(el).fontSize),
                           typing: el.matches(
                               'textarea, input:not([type=radio]):not([type=checkbox])')}))
            .filter(({box, font, typing}) => box.height < 44 || (typing && font < 16))"""
    )
    assert too_small == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_app_can_be_installed_to_the_home_screen(page, make_live_user):
    make_live_user()
    sign_in(page)
    href = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = page.evaluate("(href) => fetch(href).then((r) => r.json())", href)
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert manifest["theme_color"] and manifest["background_color"]
    sizes = {icon["sizes"]: icon for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= set(sizes)
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        status = page.evaluate("(src) => fetch(src).then((r) => r.status)", icon["src"])
        assert status == 200, icon["src"]
    assert page.locator("meta[name=theme-color]").get_attribute("content")
    assert page.locator("link[rel=apple-touch-icon]").count() == 1
