"""The agenda opened with no signal from the phone's copy works as online: its scripts come
from the service worker's shell (a page kept offline whose script is not kept would show
neither Done nor Snooze), and a Done made there waits to sync."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.test_field_day import KEPT, agenda_day, kept_pages
from tests.e2e.test_offline import open_app_ready_for_offline


def test_the_agenda_kept_on_the_phone_opens_its_panels_offline(make_live_user, live_db, page):
    rep = make_live_user()
    agenda_day(live_db, rep)
    # The agenda is never opened online here: the worker keeps it by itself, so its files
    # can only come from the worker's shell, not from the browser's own cache.
    open_app_ready_for_offline(page)
    assert page.evaluate(KEPT, ["/agenda"]), kept_pages(page)

    page.context.set_offline(True)
    page.goto("/agenda")
    expect(page.get_by_role("status").filter(has_text="Offline")).to_be_visible()
    item = (
        page.get_by_role("region", name="Today")
        .get_by_role("listitem")
        .filter(has_text="Maria Novak")
    )
    snooze = item.get_by_role("button", name="Snooze")
    snooze.click()
    expect(snooze).to_have_attribute("aria-expanded", "true")
    expect(item.get_by_role("button", name="+1 week")).to_be_visible()
    snooze.click()
    expect(item.get_by_role("button", name="+1 week")).to_be_hidden()

    done = item.get_by_role("button", name="Done")
    done.click()
    expect(done).to_have_attribute("aria-expanded", "true")
    item.get_by_role("button", name="Tomorrow").click()
    expect(item).to_contain_text("Done — Maria Novak — waiting to sync")
    expect(page.get_by_text("1 update waiting to sync")).to_be_visible()
