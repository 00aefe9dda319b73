"""A long day on one phone: the queue survives the phone killing the browser, and a capture
the server keeps refusing is never dropped."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.test_offline import (
    capture,
    kept,
    lead_names,
    on_server,
    open_app_ready_for_offline,
    queue_region,
    queued,
    waiting,
)


def phone(browser_type, launch_args, base_url, profile, **more):
    """The phone's browser on its own profile folder (IndexedDB, the worker, cookies)."""
    return browser_type.launch_persistent_context(
        str(profile), **launch_args, base_url=base_url, viewport=PHONE, is_mobile=True,
        has_touch=True, locale="en-GB", **more,
    )  # fmt: skip


def test_captures_queued_offline_survive_the_browser_being_killed(
    browser_type, browser_type_launch_args, base_url, make_live_user, live_db, tmp_path
):
    make_live_user()
    names = ["Before Kill 1", "Before Kill 2", "Before Kill 3"]
    context = phone(browser_type, browser_type_launch_args, base_url, tmp_path / "profile")
    page = context.pages[0] if context.pages else context.new_page()
    open_app_ready_for_offline(page)
    context.set_offline(True)
    for name in names:
        capture(page, name)
        expect(kept(page)).to_contain_text(name)
    expect(waiting(page, 3)).to_be_visible()
    context.close()  # the phone kills the browser, with no network

    context = phone(
        browser_type, browser_type_launch_args, base_url, tmp_path / "profile", offline=True
    )
    page = context.pages[0] if context.pages else context.new_page()
    page.goto("/")
    expect(waiting(page, 3)).to_be_visible()
    assert lead_names(live_db) == []
    context.set_offline(False)
    expect(waiting(page, 0)).to_be_visible()
    assert lead_names(live_db) == names
    context.close()


def test_a_capture_the_server_keeps_refusing_is_never_dropped(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    page.get_by_role("button", name="More").click()
    page.get_by_label("Name", exact=True).fill("Bad Phone")
    page.get_by_label("Phone", exact=True).fill("12")
    page.get_by_role("button", name="Save").click()
    for name in ("Good One", "Good Two"):
        capture(page, name)
    page.context.set_offline(False)
    row = queued(page, "Bad Phone")
    expect(row.get_by_text("Needs attention")).to_be_visible()
    expect(waiting(page, 0)).to_be_visible()
    assert lead_names(live_db) == ["Good One", "Good Two"]
    # Rounds later, a new day (the app opened again), more captures: it is still there.
    for day in range(2):
        page.reload()
        capture(page, f"Day {day}")
        on_server(page, f"Day {day}")
        expect(queued(page, "Bad Phone").get_by_text("Needs attention")).to_be_visible()
        expect(queue_region(page).get_by_text("1 needs attention")).to_be_visible()
    assert lead_names(live_db) == ["Day 0", "Day 1", "Good One", "Good Two"]
