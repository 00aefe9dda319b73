"""A capture or a queued action the server answers with an error every time is not tried
forever without a word: after 8 tries it needs attention, like a refusal, with Edit (a
capture) and Discard. The page's clock runs the pauses between tries (no sleeps)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote

from playwright.sync_api import expect
from sqlalchemy import func, select

from quickcrm.models import OfflineAction
from tests.e2e.test_field_day import agenda_day
from tests.e2e.test_offline import (
    lead_names,
    open_app_ready_for_offline,
    queue_offline,
    queue_region,
    queued,
    waiting,
)

TRIES = 8
SERVER_MESSAGE = "The error was logged. Please try again."
GAVE_UP = "The server could not store this (tried 8 times)"
A_NUMBER = re.compile(r"^\d+$")


def test_a_capture_answered_500_every_time_needs_attention_after_8_tries(
    make_live_user, live_db, page
):
    page.clock.install()
    make_live_user()
    open_app_ready_for_offline(page)
    queue_offline(page, ["Broken Server"])
    sent = []

    def fail(route):
        sent.append(route.request.post_data_json["uuid"])
        route.fulfill(status=500, json={"error": SERVER_MESSAGE})

    page.route("**/captures", fail)
    panel = queue_region(page)
    row = queued(page, "Broken Server")
    with page.expect_response("**/captures"):
        page.context.set_offline(False)
    for _ in range(TRIES - 1):
        # Tried again by itself after a pause that grows (5 s, 10 s … up to 5 minutes).
        expect(row).to_contain_text("the server had a problem (error 500)")
        expect(panel).to_have_attribute("data-retry-in", A_NUMBER)
        with page.expect_response("**/captures"):
            page.clock.fast_forward(int(panel.get_attribute("data-retry-in")))

    expect(row.get_by_text("Needs attention")).to_be_visible()
    expect(row).to_contain_text(f"{GAVE_UP}: {SERVER_MESSAGE}")
    expect(panel.get_by_text("1 needs attention")).to_be_visible()
    expect(waiting(page, 0)).to_be_visible()
    # No more tries by itself: nothing is scheduled, and an hour on nothing was sent.
    expect(panel).not_to_have_attribute("data-retry-in", A_NUMBER)
    page.clock.fast_forward(60 * 60 * 1000)
    assert len(sent) == TRIES and len(set(sent)) == 1
    assert lead_names(live_db) == []

    # As for a refusal: Edit puts it back in the form, and Save sends it under its UUID.
    page.unroute("**/captures")
    row.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Broken Server")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("Broken Server")
    expect(page.get_by_text("Everything captured is on the server.")).to_be_visible()
    assert lead_names(live_db) == ["Broken Server"]


def test_a_save_answered_500_is_the_first_try_and_discard_forgets_it(make_live_user, live_db, page):
    page.clock.install()
    make_live_user()
    open_app_ready_for_offline(page)
    page.route(
        "**/",
        lambda route: (
            route.fulfill(status=503) if route.request.method == "POST" else route.fallback()
        ),
    )
    page.route("**/captures", lambda route: route.fulfill(status=503))
    panel = queue_region(page)
    page.get_by_label("Name", exact=True).fill("Never Stored")
    page.get_by_role("button", name="Save").click()
    row = queued(page, "Never Stored")
    for _ in range(TRIES - 1):
        expect(panel).to_have_attribute("data-retry-in", A_NUMBER)
        with page.expect_response("**/captures"):
            page.clock.fast_forward(int(panel.get_attribute("data-retry-in")))
    expect(row.get_by_text("Needs attention")).to_be_visible()
    expect(row).to_contain_text(f"{GAVE_UP}.")

    row.get_by_role("button", name="Discard").click()
    row.get_by_role("button", name="Yes, discard").click()
    expect(queued(page, "Never Stored")).to_have_count(0)
    assert lead_names(live_db) == []


def test_a_done_answered_500_every_time_needs_attention_after_8_tries(
    make_live_user, live_db, page
):
    page.clock.install()
    rep = make_live_user()
    agenda_day(live_db, rep)
    open_app_ready_for_offline(page)
    page.goto("/agenda")
    sent = []

    def fail(route):
        sent.append(parse_qs(route.request.post_data)["client_key"][0])
        headers = {"X-QuickCRM-Message": quote(SERVER_MESSAGE)}
        route.fulfill(status=500, headers=headers, body="<h1>Something went wrong</h1>")

    page.route("**/agenda/*/done", fail)
    item = (
        page.get_by_role("region", name="Today")
        .get_by_role("listitem")
        .filter(has_text="Maria Novak")
    )
    item.get_by_role("button", name="Done").click()
    item.get_by_role("button", name="Tomorrow").click()
    expect(item).to_contain_text("Done — Maria Novak — waiting to sync")
    panel = page.locator("[data-queue]")
    for _ in range(TRIES - 1):
        # Tried again by itself after 3 s, 6 s … up to a minute.
        expect(panel).to_have_attribute("data-retry-in", A_NUMBER)
        with page.expect_response("**/agenda/*/done"):
            page.clock.fast_forward(int(panel.get_attribute("data-retry-in")))

    row = panel.get_by_role("listitem").filter(has_text="Done — Maria Novak")
    expect(row.get_by_text("Needs attention")).to_be_visible()
    expect(row).to_contain_text(f"{GAVE_UP}: {SERVER_MESSAGE}")
    expect(item).to_contain_text(f"not taken — {GAVE_UP}")
    expect(panel).not_to_have_attribute("data-retry-in", A_NUMBER)
    assert len(sent) == TRIES and len(set(sent)) == 1
    live_db.expire_all()
    assert live_db.scalar(select(func.count(OfflineAction.key))) == 0

    row.get_by_role("button", name="Discard").click()
    expect(panel).to_be_hidden()
