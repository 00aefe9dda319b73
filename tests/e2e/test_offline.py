"""Never lose a capture: the app opens with no network, captures wait on the phone, and each
reaches the server exactly once — whatever the network and the session do meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Lead
from tests.e2e.conftest import sign_in

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
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Save").click()


def kept(page):
    return page.get_by_role("status").filter(has_text="Saved on this phone — will sync")


def recent(page):
    return page.get_by_role("region", name="My recent captures")


def lead_names(live_db) -> list[str]:
    live_db.expire_all()
    return sorted(live_db.scalars(select(Lead.name)))


def test_twenty_captures_made_offline_reach_the_server_once_online(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_label("Name")).to_be_visible()

    names = [f"Offline Lead {i:02}" for i in range(20)]
    for name in names:
        capture(page, name)
        expect(kept(page)).to_contain_text(name)
        expect(page.get_by_label("Name")).to_have_value("")
    expect(page.get_by_text("20 waiting to sync", exact=True)).to_be_visible()
    # A card with no name is not kept: the one rule of a capture holds offline too.
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

    queue = page.get_by_role("region", name="Waiting to sync")
    expect(queue.get_by_text("Enter a phone number")).to_have_count(2)
    expect(waiting(page, 2)).to_be_visible()
    assert lead_names(live_db) == []

    queue.get_by_role("button", name="Edit Lena Vogel").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Lena Vogel")
    page.get_by_label("Phone", exact=True).fill("+44 20 7946 0958")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("Lena Vogel")
    expect(waiting(page, 1)).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    queue.get_by_role("button", name="Discard Unwanted").click()
    expect(waiting(page, 0)).to_be_visible()
    assert lead_names(live_db) == ["Lena Vogel"]


def test_a_server_error_keeps_the_capture_on_the_phone(make_live_user, live_db, page):
    make_live_user()
    open_app_ready_for_offline(page)
    page.route(
        "**/",
        lambda route: (
            route.fulfill(status=503) if route.request.method == "POST" else route.fallback()
        ),
    )
    capture(page, "Busy Server")
    expect(kept(page)).to_contain_text("Busy Server")
    expect(waiting(page, 1)).to_be_visible()
    page.unroute("**/")
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
    page.get_by_label("Account: Rita Rep").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.wait_for_function(f"async () => !(await ({PAGE_CACHED})())")
    page.unroute("**/captures")
    sign_in(page)
    expect(waiting(page, 0)).to_be_visible()
    expect(recent(page)).to_contain_text("Still Waiting")
    assert lead_names(live_db) == ["Not Yet Sent", "Still Waiting"]
