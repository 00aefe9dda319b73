"""The capture screen never misleads: a refused save says "Not saved", errors clear as the
fields are corrected, a long queue is one line, and a lead is a name and three taps."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Lead
from tests.card_photos import sample
from tests.e2e.conftest import sign_in
from tests.e2e.test_capture import screenshot_path
from tests.e2e.test_offline import capture, kept, on_server, open_app_ready_for_offline


def test_a_lead_is_a_name_and_three_taps(page, make_live_user, live_db):
    make_live_user()
    sign_in(page)
    page.get_by_label("Name", exact=True).fill("Maria Novak")
    taps = 0
    for control in (
        page.get_by_role("radio", name="Hot"),
        page.get_by_role("button", name="Tomorrow"),
        page.get_by_role("button", name="Save"),
    ):
        control.tap()
        taps += 1
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("Maria Novak")
    assert taps == 3
    on_server(page, "Maria Novak")
    lead = live_db.scalars(select(Lead)).one()
    assert (lead.temperature, lead.next_action_on) == ("hot", date.today() + timedelta(days=1))


def test_a_refused_save_says_not_saved_and_errors_clear_as_fields_are_fixed(page, make_live_user):
    make_live_user()
    sign_in(page)
    page.get_by_label("Name", exact=True).fill("Maria Novak")
    page.get_by_role("button", name="Save").tap()
    status = page.locator("#capture-status")
    expect(status).to_contain_text("Saved — Maria Novak")

    page.get_by_label("Name", exact=True).fill("Lena Vogel")
    page.get_by_role("button", name="More").tap()
    page.get_by_label("Email", exact=True).fill("lena@vogel")
    page.get_by_role("button", name="Save").tap()
    expect(status).to_contain_text("Not saved")
    expect(status).not_to_contain_text("Maria Novak")
    email = page.get_by_label("Email", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Enter an email address")).to_be_visible()

    email.fill("lena@vogel.example")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Enter an email address")).to_be_hidden()
    page.get_by_role("button", name="Save").tap()
    expect(status).to_contain_text("Saved — Lena Vogel")
    on_server(page, "Lena Vogel")


def test_eight_waiting_captures_are_one_line_and_sync_now_waits_for_a_network(
    page, make_live_user, live_db
):
    make_live_user()
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    for i in range(8):
        capture(page, f"Waiting {i}")
        expect(kept(page)).to_contain_text(f"Waiting {i}")
    expect(page.get_by_role("status").filter(has_text="Offline")).to_be_visible()
    count = page.get_by_role("button", name="8 waiting to sync")
    expect(count).to_be_visible()
    expect(page.get_by_role("button", name="Sync now")).to_be_disabled()
    queue = page.get_by_role("region", name="Waiting to sync")
    expect(queue.get_by_role("listitem")).to_have_count(0)
    # Name and Save stay on the first screen, above the bottom bar.
    page.evaluate("window.scrollTo(0, 0)")
    bar_top = page.get_by_role("navigation", name="Main").bounding_box()["y"]
    save = page.get_by_role("button", name="Save").bounding_box()
    assert save["y"] + save["height"] <= bar_top, (save, bar_top)
    assert page.get_by_label("Name", exact=True).bounding_box()["y"] >= 0
    page.screenshot(path=str(screenshot_path("offline.png")))

    count.tap()
    expect(count).to_have_attribute("aria-expanded", "true")
    expect(queue.get_by_role("listitem")).to_have_count(8)
    page.context.set_offline(False)
    expect(page.get_by_text("0 waiting to sync", exact=True)).to_be_visible()
    assert len(live_db.scalars(select(Lead)).all()) == 8


def test_the_card_photo_is_a_camera_button_that_shows_the_photo_taken(page, make_live_user):
    make_live_user()
    sign_in(page)
    button = page.locator(".camera-button")
    expect(button).to_be_visible()
    expect(button).to_have_text("Photograph a card")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    photo = page.get_by_label("Card photo", exact=True)
    expect(photo).to_have_attribute("type", "file")
    expect(photo).to_have_attribute("capture", "environment")
    thumbnail = page.get_by_role("img", name="The card photo")
    expect(thumbnail).to_be_hidden()
    # The label is the button: a tap on it opens the camera (here, the file chooser).
    with page.expect_file_chooser() as chooser:
        button.click()
    _, card = sample(3)
    chooser.value.set_files(files=[{"name": "card.jpg", "mimeType": "image/jpeg", "buffer": card}])
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.naturalWidth") > 0
    expect(button).to_have_text("Photograph it again")
