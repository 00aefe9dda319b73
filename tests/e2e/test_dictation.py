"""The microphone beside Note: shown only where the browser offers speech recognition, and
what the rep says lands in Note. The browser's API is replaced by a stand-in we control."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

NO_SPEECH = "delete window.SpeechRecognition; delete window.webkitSpeechRecognition;"

FAKE_SPEECH = """
window.SpeechRecognition = class {
  start() { window.dictation = this; }
  stop() { this.onend && this.onend(); }
  say(words) {
    this.onresult({results: [[{transcript: words}]]});
    this.onend();
  }
  fail(error) { this.onerror({error}); }
};
"""


def test_the_microphone_is_hidden_where_the_browser_has_no_speech_recognition(page, make_live_user):
    make_live_user()
    page.add_init_script(NO_SPEECH)
    sign_in(page)
    expect(page.get_by_label("Note")).to_be_visible()
    expect(page.get_by_role("button", name="Dictate note")).to_be_hidden()


def test_dictation_fills_the_note(page, make_live_user):
    make_live_user()
    page.add_init_script(NO_SPEECH + FAKE_SPEECH)
    sign_in(page)
    mic = page.get_by_role("button", name="Dictate note")
    note = page.get_by_label("Note")
    note.fill("Met at the stand.")
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "true")
    page.evaluate("window.dictation.say('Wants a demo next week')")
    expect(note).to_have_value("Met at the stand. Wants a demo next week")
    expect(mic).to_have_attribute("aria-pressed", "false")


def test_a_blocked_microphone_says_so(page, make_live_user):
    make_live_user()
    page.add_init_script(NO_SPEECH + FAKE_SPEECH)
    sign_in(page)
    mic = page.get_by_role("button", name="Dictate note")
    mic.click()
    page.evaluate("window.dictation.fail('not-allowed')")
    expect(page.get_by_role("alert").filter(has_text="microphone is blocked")).to_be_visible()
    expect(mic).to_have_attribute("aria-pressed", "false")
