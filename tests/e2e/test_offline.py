"""Never lose a capture: the app opens with no network, captures wait on the phone, and each
reaches the server exactly once — whatever the network and the session do meanwhile."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Lead
from tests.e2e.conftest import sign_in, sign_out

PAGE_CACHED = """async () => {
  for (const name of await caches.keys()) {
    if (await (await caches.open(name)).match("/", {ignoreVary: true})) return true;
  }
  return false;
}"""


def open_app_ready_for_offline(page):
    """Sign in and wait until the service worker controls the page and keeps it."""
    sign_in(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function(PAGE_CACHED)


def capture(page, name, **more):
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Save").click()


def kept(page):
    """The status after a Save: every Save is kept on the phone first (offline it stays
    there, counted in "N waiting to sync")."""
    return page.get_by_role("status").filter(has_text="Saved —")


def recent(page):
    return page.get_by_role("region", name="My recent captures")


def on_server(page, name: str, timeout: float = 5000):
    """Waits until "My recent captures" says the capture ``name`` is on the server (a Save
    writes to the phone first and sends behind it)."""
    row = recent(page).get_by_role("listitem").filter(has_text=name)
    expect(row.first).to_contain_text("on the server ✓", timeout=timeout)


def lead_names(live_db) -> list[str]:
    live_db.expire_all()
    return sorted(live_db.scalars(select(Lead.name)))


def test_twenty_captures_made_offline_reach_the_server_once_online(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_label("Name", exact=True)).to_be_visible()

    names = [f"Offline Lead {i:02}" for i in range(20)]
    for name in names:
        capture(page, name)
        expect(kept(page)).to_contain_text(name)
        expect(page.get_by_label("Name", exact=True)).to_have_value("")
    expect(page.get_by_text("20 waiting to sync", exact=True)).to_be_visible()
    # A card with no name is not kept: the one rule of a capture holds offline too (a tap
    # past a double tap's second: within it, the tap is the save's own, and ignored).
    page.wait_for_timeout(1100)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Enter a name")).to_be_visible()
    expect(page.get_by_text("20 waiting to sync", exact=True)).to_be_visible()
    assert lead_names(live_db) == []

    page.context.set_offline(False)
    expect(page.get_by_text("0 waiting to sync", exact=True)).to_be_visible()
    assert lead_names(live_db) == names
    expect(page.get_by_text("Everything captured is on the server.")).to_be_visible()
    expect(page.get_by_role("region", name="My recent captures")).to_contain_text(names[-1])


def waiting(page, n: int):
    return page.get_by_text(f"{n} waiting to sync", exact=True)


def queue_offline(page, names):
    """Capture ``names`` with no network; they wait on the phone."""
    page.context.set_offline(True)
    for name in names:
        capture(page, name)
        expect(kept(page)).to_contain_text(name)
    expect(waiting(page, len(names))).to_be_visible()


def sync_until_done(page):
    """What a rep does on a bad network: tap Sync now until nothing waits."""
    panel = page.get_by_role("region", name="Waiting to sync")
    for _ in range(60):
        expect(panel).not_to_have_attribute("aria-busy", "true")
        if waiting(page, 0).is_visible():
            return
        page.get_by_role("button", name="Sync now").click()
    raise AssertionError("the queue never emptied")


def test_a_flaky_network_still_stores_each_capture_exactly_once(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    names = [f"Flaky {i}" for i in range(9)]
    queue_offline(page, names)

    sent = []

    def flaky(route):
        sent.append(route.request.post_data_json["uuid"])
        if len(sent) % 3 == 1:
            route.abort()  # never reaches the server
        elif len(sent) % 3 == 2:
            route.fetch()  # the server stores it, but the reply is lost on the way back
            route.abort()
        else:
            route.continue_()

    page.route("**/captures", flaky)
    page.context.set_offline(False)
    sync_until_done(page)
    expect(recent(page)).to_contain_text(names[-1])

    assert lead_names(live_db) == names
    # Some captures were sent more than once, yet each is stored once.
    assert len(sent) > len(set(sent)) == len(names)


def test_two_tabs_syncing_at_once_send_each_capture_once(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    names = [f"Two Tabs {i}" for i in range(8)]
    queue_offline(page, names)
    other = page.context.new_page()
    other.goto("/")
    expect(waiting(other, len(names))).to_be_visible()

    sent = []

    def count(route):
        response = route.fetch()
        sent.append((route.request.post_data_json["uuid"], response.status))
        route.fulfill(response=response)

    page.context.route("**/captures", count)
    page.context.set_offline(False)  # both tabs hear "online" and start syncing
    expect(waiting(page, 0)).to_be_visible()
    expect(waiting(other, 0)).to_be_visible()
    # Whichever tab sent them, both list them.
    expect(recent(page)).to_contain_text(names[-1])
    expect(recent(other)).to_contain_text(names[-1])

    assert lead_names(live_db) == names
    assert len(sent) == len(names), sent


def test_an_expired_session_keeps_the_queue_until_the_rep_signs_in(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    names = ["Kept One", "Kept Two", "Kept Three"]
    queue_offline(page, names)

    page.context.clear_cookies()
    page.context.set_offline(False)
    expect(page.get_by_role("alert").filter(has_text="Your session has expired")).to_be_visible()
    expect(waiting(page, 3)).to_be_visible()
    assert lead_names(live_db) == []

    page.get_by_role("link", name="sign in").click()
    page.get_by_label("Email").fill("rep@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(waiting(page, 0)).to_be_visible()
    assert lead_names(live_db) == sorted(names)


def queue_region(page):
    return page.get_by_role("region", name="Waiting to sync")


def queued(page, name):
    """The row of the queued capture ``name``."""
    return queue_region(page).get_by_role("listitem").filter(has_text=name)


def test_a_queued_capture_the_server_refuses_can_be_fixed_or_discarded(
    make_live_user, live_db, page
):
    make_live_user()
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    page.get_by_role("button", name="More").click()
    for name in ("Lena Vogel", "Unwanted"):
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Phone", exact=True).fill("12")
        page.get_by_role("button", name="Save").click()
        expect(kept(page)).to_contain_text(name)
    page.context.set_offline(False)

    for name in ("Lena Vogel", "Unwanted"):
        expect(queued(page, name).get_by_text("Needs attention")).to_be_visible()
        expect(queued(page, name)).to_contain_text("Enter a phone number")
    expect(queue_region(page).get_by_text("2 need attention")).to_be_visible()
    expect(waiting(page, 0)).to_be_visible()
    expect(page.get_by_role("button", name="Sync now")).to_be_disabled()
    assert lead_names(live_db) == []

    queued(page, "Lena Vogel").get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Lena Vogel")
    expect(page.get_by_label("Phone", exact=True)).to_be_focused()
    page.get_by_label("Phone", exact=True).fill("+44 20 7946 0958")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("Lena Vogel")
    expect(queued(page, "Lena Vogel")).to_have_count(0)
    expect(queue_region(page).get_by_text("1 needs attention")).to_be_visible()

    # Discard asks first, on the page; Keep keeps it.
    unwanted = queued(page, "Unwanted")
    unwanted.get_by_role("button", name="Discard").click()
    confirm = unwanted.get_by_role("group", name="Discard Unwanted?")
    expect(confirm).to_contain_text("It was never sent")
    expect(confirm.get_by_role("button", name="Keep")).to_be_focused()
    confirm.get_by_role("button", name="Keep").click()
    expect(unwanted.get_by_role("button", name="Discard")).to_be_focused()
    unwanted.get_by_role("button", name="Discard").click()
    unwanted.get_by_role("button", name="Yes, discard").click()
    expect(queued(page, "Unwanted")).to_have_count(0)
    expect(page.get_by_text("Everything captured is on the server.")).to_be_visible()
    assert lead_names(live_db) == ["Lena Vogel"]


def test_a_refusal_shows_the_servers_message_and_never_blocks_the_others(
    make_live_user, live_db, page
):
    make_live_user()
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    page.get_by_role("button", name="More").click()
    page.get_by_label("Name", exact=True).fill("Lena Vogel")
    page.get_by_label("Email", exact=True).fill("lena@vogel")
    page.get_by_role("button", name="Save").click()
    expect(kept(page)).to_contain_text("Lena Vogel")
    for name in ("Other One", "Other Two"):
        capture(page, name)
        expect(kept(page)).to_contain_text(name)

    refused = []

    def refuse_lena(route):
        body = route.request.post_data_json
        if body["name"] != "Lena Vogel":
            route.fallback()
            return
        refused.append(body["uuid"])
        route.fulfill(
            status=422,
            json={"errors": {"email": "Enter an email address like name@example.com."}},
        )

    page.route("**/captures", refuse_lena)
    page.context.set_offline(False)
    lena = queued(page, "Lena Vogel")
    expect(lena.get_by_text("Needs attention")).to_be_visible()
    expect(lena).to_contain_text("Enter an email address like name@example.com.")
    # The one refused is first in the queue; the ones after it are sent all the same.
    expect(waiting(page, 0)).to_be_visible()
    expect(recent(page)).to_contain_text("Other Two")
    assert lead_names(live_db) == ["Other One", "Other Two"]

    page.unroute("**/captures")
    lena.get_by_role("button", name="Edit").click()
    expect(page.get_by_label("Email", exact=True)).to_have_value("lena@vogel")
    expect(page.get_by_label("Email", exact=True)).to_be_focused()
    page.get_by_label("Email", exact=True).fill("lena@vogel.example")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("Lena Vogel")
    expect(page.get_by_text("Everything captured is on the server.")).to_be_visible()
    # Sent again under the UUID the phone gave it: the same capture, stored once.
    assert lead_names(live_db) == ["Lena Vogel", "Other One", "Other Two"]
    lena_lead = live_db.scalars(select(Lead).where(Lead.name == "Lena Vogel")).one()
    assert (str(lena_lead.uuid), lena_lead.email) == (refused[0], "lena@vogel.example")


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (413, "<html><h1>413 Request Entity Too Large</h1></html>", "too large"),
        (409, {"error": "This capture's UUID is already in use."}, "already in use"),
        (400, {"errors": {"name": "Enter a name."}}, "Enter a name."),
    ],
)
def test_any_refusal_for_good_needs_attention_with_a_message(
    make_live_user, live_db, page, status, body, shown
):
    make_live_user()
    open_app_ready_for_offline(page)
    queue_offline(page, ["Refused"])
    if isinstance(body, dict):
        page.route("**/captures", lambda route: route.fulfill(status=status, json=body))
    else:
        page.route("**/captures", lambda route: route.fulfill(status=status, body=body))
    page.context.set_offline(False)
    expect(queued(page, "Refused").get_by_text("Needs attention")).to_be_visible()
    expect(queued(page, "Refused")).to_contain_text(shown)
    assert lead_names(live_db) == []


def test_a_refused_token_keeps_the_capture_waiting_until_sign_in(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    queue_offline(page, ["Forbidden"])
    page.route("**/captures", lambda route: route.fulfill(status=403, body="<h1>Forbidden</h1>"))
    page.context.set_offline(False)
    expect(page.get_by_role("alert").filter(has_text="Your session has expired")).to_be_visible()
    expect(waiting(page, 1)).to_be_visible()
    expect(queue_region(page).get_by_text("Needs attention")).to_have_count(0)
    page.unroute("**/captures")
    page.get_by_role("button", name="Sync now").click()
    expect(waiting(page, 0)).to_be_visible()
    assert lead_names(live_db) == ["Forbidden"]


def test_server_errors_and_foreign_answers_are_retried_with_growing_pauses(
    make_live_user, live_db, page
):
    page.clock.install()
    make_live_user()
    open_app_ready_for_offline(page)
    queue_offline(page, ["Retry One", "Retry Two"])

    answers = [
        (500, "<html><h1>Internal Server Error</h1></html>"),  # an error page, not JSON
        (200, "<html><h1>Sign in to the hotel Wi-Fi</h1></html>"),  # not QuickCRM's
        (502, "<html>Bad Gateway</html>"),
        (503, ""),
    ]
    sent = []

    def answer(route):
        sent.append(route.request.post_data_json["name"])
        if len(sent) <= len(answers):
            status, body = answers[len(sent) - 1]
            route.fulfill(status=status, body=body, content_type="text/html")
        else:
            route.fallback()

    page.route("**/captures", answer)
    panel = queue_region(page)
    page.context.set_offline(False)
    # Neither blocks the other: both are tried, both wait.
    expect(queued(page, "Retry One")).to_contain_text("the server had a problem")
    expect(queued(page, "Retry Two")).to_contain_text("the network answered instead")
    expect(panel).not_to_have_attribute("aria-busy", "true")
    expect(waiting(page, 2)).to_be_visible()
    assert sent == ["Retry One", "Retry Two"]
    first_pause = int(panel.get_attribute("data-retry-in"))
    assert 4000 <= first_pause <= 5000

    page.clock.fast_forward(5000)  # tried again by itself, refused again
    expect(queued(page, "Retry Two")).to_contain_text("error 503")
    expect(panel).not_to_have_attribute("aria-busy", "true")
    expect(panel).to_have_attribute("data-retry-in", re.compile(r"^\d+$"))
    second_pause = int(panel.get_attribute("data-retry-in"))
    assert 8000 <= second_pause <= 10000
    assert len(sent) == 4

    page.clock.fast_forward(10000)
    expect(waiting(page, 0)).to_be_visible()
    assert lead_names(live_db) == ["Retry One", "Retry Two"]


def test_a_capture_with_no_answer_waits_and_sync_now_sends_it_at_once(
    make_live_user, live_db, page
):
    page.clock.install()
    make_live_user()
    open_app_ready_for_offline(page)
    queue_offline(page, ["No Answer"])
    held = []
    page.route("**/captures", lambda route: held.append(route))  # never answered
    with page.expect_request("**/captures"):
        page.context.set_offline(False)
    expect(queue_region(page)).to_have_attribute("aria-busy", "true")
    page.clock.fast_forward(20000)  # no answer in 20 s counts as no network
    expect(queue_region(page)).not_to_have_attribute("aria-busy", "true")
    expect(waiting(page, 1)).to_be_visible()
    page.unroute("**/captures")
    page.get_by_role("button", name="Sync now").click()
    expect(waiting(page, 0)).to_be_visible()
    assert lead_names(live_db) == ["No Answer"]


def test_a_server_error_keeps_the_capture_on_the_phone(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    page.route("**/captures", lambda route: route.fulfill(status=503))
    capture(page, "Busy Server")
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("Busy Server")
    expect(waiting(page, 1)).to_be_visible()
    expect(queued(page, "Busy Server")).to_contain_text("the server had a problem (error 503)")
    page.unroute("**/captures")
    page.get_by_role("button", name="Sync now").click()
    expect(waiting(page, 0)).to_be_visible()
    expect(recent(page)).to_contain_text("Busy Server")
    assert lead_names(live_db) == ["Busy Server"]


def test_where_and_when_are_recorded_once_the_rep_allows_it(
    browser, base_url, make_live_user, live_db
):
    make_live_user()
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": 390, "height": 844},
        geolocation={"latitude": 48.8566, "longitude": 2.3522},
        permissions=["geolocation"],
    )
    page = context.new_page()
    sign_in(page)
    page.get_by_role("button", name="More").click()
    page.get_by_label("Record where I capture").check()
    expect(page.get_by_text("Captures record where you are.")).to_be_visible()
    before = datetime.now(UTC)
    capture(page, "Located Lead")
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("Located Lead")
    on_server(page, "Located Lead")
    lead = live_db.scalars(select(Lead)).one()
    assert (lead.latitude, lead.longitude) == (48.8566, 2.3522)
    assert before - timedelta(minutes=1) <= lead.captured_at <= datetime.now(UTC)

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_text("Captured at 48.85660, 2.35220")).to_be_visible()
    # Allowed once: the next visit keeps recording without asking.
    page.goto("/")
    page.get_by_role("button", name="More").click()
    expect(page.get_by_label("Record where I capture")).to_be_checked()
    context.close()


def test_without_permission_no_place_is_recorded(make_live_user, live_db, page):
    make_live_user()
    sign_in(page)
    capture(page, "Nowhere")
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("Nowhere")
    on_server(page, "Nowhere")
    lead = live_db.scalars(select(Lead)).one()
    assert (lead.latitude, lead.longitude) == (None, None)


def test_signing_out_forgets_the_page_but_not_the_waiting_captures(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    queue_offline(page, ["Not Yet Sent"])
    page.context.set_offline(False)
    expect(waiting(page, 0)).to_be_visible()
    queue_offline(page, ["Still Waiting"])
    page.route("**/captures", lambda route: route.abort())  # keep it waiting
    page.context.set_offline(False)
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("region", name="Waiting to sync")).not_to_have_attribute(
        "aria-busy", "true"
    )
    expect(waiting(page, 1)).to_be_visible()
    sign_out(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.wait_for_function(f"async () => !(await ({PAGE_CACHED})())")
    page.unroute("**/captures")
    sign_in(page)
    expect(waiting(page, 0)).to_be_visible()
    expect(recent(page)).to_contain_text("Still Waiting")
    assert lead_names(live_db) == ["Not Yet Sent", "Still Waiting"]
