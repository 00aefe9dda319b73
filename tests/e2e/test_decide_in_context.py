"""Context where the rep decides, on a phone: an agenda card says what the lead's note says
and what last happened; review mode and the convert page show the capture's card photo
and play its voice note (issue 25, point 5)."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect

from quickcrm.domain import attachments
from quickcrm.models import Activity, Lead, utcnow
from tests.card_photos import sample
from tests.e2e.conftest import open_area, sign_in

# What the capture page's recorder does (static/js/voice.js), with chromium's fake
# microphone: a second of sound, as the phone would upload it.
RECORD = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const recorder = new MediaRecorder(stream, {mimeType: "audio/webm"});
  const chunks = [];
  recorder.ondataavailable = (event) => chunks.push(event.data);
  const stopped = new Promise((done) => { recorder.onstop = done; });
  recorder.start();
  await new Promise((done) => setTimeout(done, 1200));
  recorder.stop();
  await stopped;
  stream.getTracks().forEach((track) => track.stop());
  return Array.from(new Uint8Array(await new Blob(chunks).arrayBuffer()));
}"""


def captured_lead(live_db, owner, voice: bytes) -> Lead:
    """A lead captured with a card photo and a voice note, due for a follow-up today,
    called yesterday."""
    lead = Lead(name="Maria Novak", owner_id=owner.id, company_name="Novak Desks",
                note="Wants 40 desks by March\nCall after 3pm")  # fmt: skip
    attachments.attach(lead, attachments.prepare_photo(sample(3)[1]), owner)
    attachments.attach(lead, attachments.prepare_voice_note(voice), owner)
    called = utcnow() - timedelta(days=1)
    lead.activities = [
        Activity(kind="task", text="Follow up", due_on=date.today(), author_id=owner.id,
                 assignee_id=owner.id),
        Activity(kind="call", text="Left a voicemail", author_id=owner.id, done=True,
                 created_at=called, done_at=called),
    ]  # fmt: skip
    live_db.add(lead)
    live_db.commit()
    return lead


def shows_photo_and_plays_voice_note(page, lead: Lead) -> None:
    photo, voice = (next(a for a in lead.attachments if a.kind == kind)
                    for kind in ("card_photo", "voice_note"))  # fmt: skip
    image = page.get_by_role("img", name="Card photo")
    expect(image).to_be_visible()
    # The thumbnail loaded, and opens the photo itself.
    loaded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(loaded, arg=image.element_handle())
    link = page.get_by_role("link").filter(has=image)
    expect(link).to_have_attribute("href", f"/attachments/{photo.id}")
    full = page.request.get(f"/attachments/{photo.id}")
    assert full.ok and full.headers["content-type"] == "image/jpeg"
    player = page.locator("audio[controls]")
    expect(player).to_have_count(1)
    expect(player.locator("source")).to_have_attribute("src", f"/attachments/{voice.id}")
    # It plays: loaded from the server (its length known), then its time runs.
    audio = player.element_handle()
    page.wait_for_function("a => a.readyState >= 1", arg=audio)
    audio.evaluate("a => { a.muted = true; return a.play(); }")
    page.wait_for_function("a => a.currentTime > 0", arg=audio)


def test_the_agenda_card_and_review_mode_give_the_context(page, make_live_user, live_db):
    coordinator = make_live_user("coordinator@example.com", "coordinator", "Cora Coordinator")
    sign_in(page, "coordinator@example.com")
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    lead = captured_lead(live_db, coordinator, bytes(page.evaluate(RECORD)))

    open_area(page, "Agenda")
    card = page.get_by_role("region", name="Today").get_by_role("listitem")
    card = card.filter(has_text="Maria Novak")
    expect(card.get_by_text("Wants 40 desks by March")).to_be_visible()
    expect(card).not_to_contain_text("Call after 3pm")
    expect(card.get_by_text("Call · yesterday: Left a voicemail")).to_be_visible()
    page.screenshot(path="/tmp/g-agenda-390.png", full_page=True)

    open_area(page, "Leads")
    page.get_by_role("link", name="Review").first.click()
    expect(page.get_by_role("heading", name="Maria Novak")).to_be_visible()
    shows_photo_and_plays_voice_note(page, lead)
    page.screenshot(path="/tmp/g-review-390.png", full_page=True)

    page.get_by_role("link", name="Convert").click()
    expect(page.get_by_role("heading", name="Convert Maria Novak")).to_be_visible()
    shows_photo_and_plays_voice_note(page, lead)
    page.screenshot(path="/tmp/g-convert-390.png", full_page=True)
