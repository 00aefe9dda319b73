"""Card photo and voice notes on a phone: a card read online fills the form for the rep to
check; a card photo or voice note captured offline reaches the lead at sync."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Lead
from tests.card_photos import sample
from tests.e2e.conftest import sign_in
from tests.e2e.test_offline import kept, on_server, open_app_ready_for_offline, waiting

# The OCR process starts on the first card of a test run (and the machine is shared).
READING = 180_000


def card_file(seed: int):
    truth, photo = sample(seed)
    return truth, {"name": "card.jpg", "mimeType": "image/jpeg", "buffer": photo}


def stored_lead(live_db) -> Lead:
    live_db.expire_all()
    return live_db.scalars(select(Lead)).one()


def test_a_card_photo_fills_the_form_to_check_then_save(make_live_user, live_db, page):
    make_live_user()
    sign_in(page)
    truth, photo = card_file(3)
    page.get_by_label("Card photo").set_input_files(files=[photo])
    expect(page.get_by_label("Name", exact=True)).to_have_value(truth.name, timeout=READING)
    expect(page.get_by_label("Email")).to_have_value(truth.email)
    expect(page.locator("#email-from-card")).to_have_text("from the card")
    expect(page.get_by_label("Note")).to_have_value(re.compile(re.escape(truth.title)))
    # The rep corrects the company: it is theirs now, no longer marked.
    page.get_by_label("Company").fill("Brightwave Ltd")
    expect(page.locator("#company_name-from-card")).to_have_count(0)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text(truth.name)
    expect(page.get_by_role("status").filter(has_text="Saved")).to_contain_text(
        "on the server ✓", timeout=READING
    )
    lead = stored_lead(live_db)
    assert (lead.company_name, lead.email, lead.from_card) == ("Brightwave Ltd", truth.email, False)
    assert [a.kind for a in lead.attachments] == ["card_photo"]


def test_a_card_photo_taken_offline_is_read_at_sync_and_marked(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    page.reload()
    truth, photo = card_file(5)
    page.get_by_label("Card photo").set_input_files(files=[photo])
    expect(page.get_by_text("the card will be read when this capture syncs")).to_be_visible()
    page.get_by_role("button", name="Save").click()  # no name typed: the card stands for it
    expect(kept(page)).to_contain_text("Card photo")
    expect(waiting(page, 1)).to_be_visible()

    page.context.set_offline(False)
    expect(waiting(page, 0)).to_be_visible(timeout=READING)
    lead = stored_lead(live_db)
    assert (lead.name, lead.email, lead.from_card) == (truth.name, truth.email, True)
    page.goto(f"/leads/{lead.id}")
    expect(page.get_by_text("from a card — check")).to_be_visible()
    expect(page.get_by_role("img", name="Card photo")).to_be_visible()


def test_a_voice_note_recorded_offline_plays_on_the_lead_page(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    page.reload()
    page.get_by_label("Name", exact=True).fill("Vera Voice")
    page.get_by_role("button", name="Record voice note").click()
    expect(page.get_by_text("Recording…")).to_be_visible()
    # a second of sound: a note stopped at once may hold no audio frame to play
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_contain_text("0:01")
    stop.click()
    expect(page.get_by_text("Voice note recorded")).to_be_visible()
    page.get_by_role("button", name="Save").click()
    expect(kept(page)).to_contain_text("Vera Voice")

    page.context.set_offline(False)
    # Sent as soon as the network is back — before the "waiting to sync" panel may even
    # have shown: the recent captures say when it is on the server.
    on_server(page, "Vera Voice", timeout=15_000)
    lead = stored_lead(live_db)
    assert [a.kind for a in lead.attachments] == ["voice_note"]
    page.goto(f"/leads/{lead.id}")
    audio = page.locator("audio").first
    expect(audio).to_be_visible()
    # the recording loads from the server: the player knows its length
    page.wait_for_function("() => document.querySelector('audio').readyState >= 1")


def test_a_voice_note_recorded_on_a_lead_page_offline_waits_on_the_phone_then_syncs_once(
    make_live_user, live_db, page
):
    make_live_user()
    open_app_ready_for_offline(page)
    page.get_by_label("Name", exact=True).fill("Ola Offline")
    page.get_by_role("button", name="Save").click()
    on_server(page, "Ola Offline", timeout=15_000)
    lead = stored_lead(live_db)
    page.goto(f"/leads/{lead.id}")
    page.get_by_role("button", name="Record voice note").click()
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_contain_text("0:01")
    page.context.set_offline(True)
    stop.click()
    expect(page.get_by_text("Voice note kept on this phone")).to_be_visible()
    expect(page.get_by_text("1 update waiting to sync")).to_be_visible()
    live_db.expire_all()
    assert live_db.get(Lead, lead.id).attachments == []

    page.context.set_offline(False)
    expect(page.get_by_text("1 update waiting to sync")).to_be_hidden(timeout=15_000)
    live_db.expire_all()
    assert [a.kind for a in live_db.get(Lead, lead.id).attachments] == ["voice_note"]
    page.reload()
    expect(page.locator("audio").first).to_be_visible()


def test_a_tap_on_card_photo_wakes_the_card_reader_once_a_minute(make_live_user, page):
    make_live_user()
    sign_in(page)
    # capture.js (the tap's listener) runs once the page and its modules are in: a tap
    # before that opens the camera without the wake-up (a busy machine did).
    page.wait_for_load_state("load")
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/cards/warm-up") else None)
    # The rep taps the camera button, the label of the Card photo input.
    camera = page.get_by_text("Photograph a card", exact=True)
    with page.expect_response("**/cards/warm-up") as answer, page.expect_file_chooser():
        camera.tap()
    assert answer.value.status == 204
    with page.expect_file_chooser():  # the camera again, a moment later: no second wake-up
        camera.tap()
    page.wait_for_timeout(300)
    assert len(asked) == 1, asked
