"""Notifications on this phone in chromium (templates/reminders/_push.html,
static/js/push.js, static/sw.js), as far as a browser without a push service allows.

Chromium here has no push service (Google's is out of reach, and a headless chromium
refuses ``pushManager.subscribe`` with "permission denied" even with the permission
granted), so a real subscription cannot be made: the page must say so and keep nothing.
What the service worker does with a push is tested by handing it one through the DevTools
protocol (``ServiceWorker.deliverPushMessage``), the payload the server would send.
The server side of a push — VAPID, encryption, the push service's answers — is in
tests/integration/test_push.py."""

from __future__ import annotations

import json
from datetime import date

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.domain import push
from quickcrm.models import PushSubscription
from tests import factories
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import violations

OFF = "Notifications are off for this phone."


def open_notifications(page) -> None:
    """The page, once the app's service worker is running (what the script waits for)."""
    page.goto("/account/notifications")
    ready = page.evaluate(
        """() => Promise.race([
          navigator.serviceWorker.ready.then(() => true),
          new Promise((done) => setTimeout(() => done(false), 30000)),
        ])"""
    )
    assert ready, "the service worker did not start"


def subscription_on_phone(page):
    return page.evaluate(
        "async () => (await (await navigator.serviceWorker.ready)"
        ".pushManager.getSubscription())?.endpoint ?? null"
    )


def test_without_a_push_service_the_page_says_so_and_keeps_nothing(
    page, context, make_live_user, live_db, base_url
):
    make_live_user()
    sign_in(page)
    context.grant_permissions(["notifications"], origin=base_url)
    open_notifications(page)
    state = page.get_by_role("status").filter(has_text="this phone")
    expect(state).to_have_text(OFF)
    stop = page.get_by_role("button", name="Stop notifications on this phone")
    expect(stop).to_be_hidden()
    page.get_by_role("button", name="Notify me on this phone").click()
    expect(page.get_by_text("Could not turn on notifications: ")).to_be_visible()
    # Nothing half-made: no subscription on the phone, none on the server, and the button
    # is there to try again.
    assert subscription_on_phone(page) is None
    assert live_db.scalars(select(PushSubscription)).all() == []
    expect(page.get_by_role("button", name="Notify me on this phone")).to_be_enabled()
    expect(stop).to_be_hidden()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], scheme


def test_blocked_notifications_say_where_to_allow_them(page, context, make_live_user, base_url):
    make_live_user()
    sign_in(page)
    # Playwright grants, never denies: the DevTools protocol does, in this page's context.
    target = context.new_cdp_session(page).send("Target.getTargetInfo")["targetInfo"]
    context.browser.new_browser_cdp_session().send(
        "Browser.setPermission",
        {
            "permission": {"name": "notifications"},
            "setting": "denied",
            "origin": base_url,
            "browserContextId": target["browserContextId"],
        },
    )
    page.goto("/account/notifications")
    blocked = "Notifications are blocked: allow them in the browser's settings."
    expect(page.get_by_text(blocked)).to_be_visible()
    expect(page.get_by_role("button", name="Notify me on this phone")).to_be_hidden()


def test_a_browser_without_web_push_is_told_and_shown_the_iphone_way(page, context, make_live_user):
    """Safari on an iPhone outside a home-screen app has no PushManager."""
    make_live_user()
    context.add_init_script("delete window.PushManager;")
    sign_in(page)
    page.goto("/account/notifications")
    expect(page.get_by_text("This browser cannot receive notifications.")).to_be_visible()
    expect(page.get_by_text("add QuickCRM to the home screen first")).to_be_visible()
    expect(page.get_by_role("button", name="Notify me on this phone")).to_be_hidden()


def test_a_push_shows_the_morning_list_that_opens_the_agenda(
    page, context, make_live_user, live_db, base_url
):
    rep = make_live_user()
    today = date.today()
    lead = factories.lead(live_db, rep, "Ann Lee")
    factories.task(live_db, rep, today, "Call back", lead=lead)
    body = push.message(live_db, rep, today, "/agenda")
    sign_in(page)
    context.grant_permissions(["notifications"], origin=base_url)
    open_notifications(page)
    cdp = context.new_cdp_session(page)
    registrations = []

    def updated(event):
        registrations.extend(event["registrations"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    cdp.send("ServiceWorker.enable")  # then tells the registrations there are
    for _ in range(100):  # events are read while Playwright waits on the page
        if any(not r.get("isDeleted") for r in registrations):
            break
        page.evaluate("() => new Promise((done) => setTimeout(done, 50))")
    [registration] = [r for r in registrations if not r.get("isDeleted")]
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": base_url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(body),
        },
    )
    # The notification the worker shows, once it has (a push is handled in the background).
    shown = page.evaluate(
        """async () => {
          const registration = await navigator.serviceWorker.ready;
          for (let i = 0; i < 100; i += 1) {
            const list = await registration.getNotifications();
            if (list.length) {
              return list.map((n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url}));
            }
            await new Promise((done) => setTimeout(done, 50));
          }
          return null;
        }"""
    )
    assert shown == [
        {
            "title": "1 follow-up today",
            "body": "Ann Lee",
            "tag": "quickcrm-agenda",
            "url": f"{base_url}/agenda",
        }
    ]


def test_the_page_posts_a_subscription_the_server_keeps_for_its_user(page, make_live_user, live_db):
    """What the page's script sends once the browser has a subscription (a push service's
    endpoint and keys), sent here by hand with the page's session and CSRF token."""
    rep = make_live_user()
    sign_in(page)
    open_notifications(page)
    token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    keys = {"p256dh": "BA" + "Q" * 85, "auth": "Ag" + "A" * 20}
    endpoint = "https://fcm.googleapis.com/fcm/send/abc:def"
    headers = {"X-CSRFToken": token, "Content-Type": "application/json"}
    answer = page.request.post(
        "/account/notifications/subscribe",
        data=json.dumps({"endpoint": endpoint, "keys": keys}),
        headers=headers,
    )
    assert answer.status == 201
    assert live_db.scalars(select(PushSubscription.user_id)).all() == [rep.id]
    answer = page.request.post(
        "/account/notifications/unsubscribe",
        data=json.dumps({"endpoint": endpoint}),
        headers=headers,
    )
    assert answer.json() == {"on": False, "removed": True}
    live_db.expire_all()
    assert live_db.scalars(select(PushSubscription)).all() == []
