"""A field day on the phone: the app opens at once on a slow network, the agenda and the
people on it can be read with no signal, and Done, Snooze and notes made offline reach the
server exactly once."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import expect
from sqlalchemy import func, select

from quickcrm.models import Activity, Company, Contact, Lead, OfflineAction
from tests.e2e.conftest import sign_in
from tests.e2e.test_capture import screenshot_path
from tests.e2e.test_offline import open_app_ready_for_offline

# Every request takes 2 s to answer, as on a crowded trade-show network.
SLOW_MS = 2000

# When the Name field was there and enabled, in ms from the start of the navigation
# (performance.now() counts from the page's time origin, the navigation's start).
NAME_READY = """() => new Promise(resolve => {
  const ready = () => {
    const name = document.getElementById("name");
    return name && !name.disabled && name.offsetParent !== null;
  };
  if (ready()) return resolve(performance.now());
  new MutationObserver((_, observer) => {
    if (ready()) { observer.disconnect(); resolve(performance.now()); }
  }).observe(document, {childList: true, subtree: true});
})"""


def slow_network(page, latency_ms: int = SLOW_MS):
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency_ms,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        },
    )
    return cdp


def test_the_capture_form_is_ready_from_the_phone_before_any_network_answer(
    make_live_user, live_db, page
):
    rep = make_live_user()
    open_app_ready_for_offline(page)
    # Saved since the phone kept its copy of the page: only a fresh list can show it.
    live_db.add(Lead(name="Saved Yesterday", owner_id=rep.id))
    live_db.commit()
    slow_network(page)
    tokens = []
    page.on("request", lambda r: tokens.append(r) if r.url.endswith("/captures/token") else None)

    page.goto("/", wait_until="commit")
    ready_at = page.evaluate(NAME_READY)
    # The one timing the issue asks for. The page comes from the phone's cache, so it is
    # ready long before the first network answer (2 s away); the bound is generous for a
    # busy 2-core test machine — what matters is that no answer was waited for.
    assert ready_at < 500 or ready_at < SLOW_MS / 2, f"Name ready after {ready_at:.0f} ms"
    page.get_by_label("Name", exact=True).fill("Typed Before Any Answer")
    # Fresh data comes behind the page: a new CSRF token, then the recent captures.
    recent = page.get_by_role("region", name="My recent captures")
    expect(recent).to_contain_text("Saved Yesterday", timeout=4 * SLOW_MS + 10_000)
    assert tokens, "the page asked for a fresh CSRF token"
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text(
        "Typed Before Any Answer"
    )
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text(
        "on the server ✓", timeout=4 * SLOW_MS + 10_000
    )
    live_db.expire_all()
    assert live_db.scalar(select(func.count(Lead.id))) == 2


def test_a_slow_page_is_never_answered_with_the_capture_page(make_live_user, page):
    make_live_user("coord@example.com", "coordinator", "Cora Coordinator")
    sign_in(page, "coord@example.com")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    # Slower than the 4 s after which the old worker showed the capture page instead.
    slow_network(page, 4500)
    page.goto("/forecast")
    expect(page).to_have_url(re.compile(r"/forecast$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Forecast")
    expect(page.get_by_label("Name", exact=True)).to_have_count(0)


def agenda_day(live_db, rep):
    """Today's agenda: a lead, a contact at a company, a company."""
    acme = Company(name="Acme Ltd", name_key="acme ltd", phone="+44 20 7946 0000")
    lena = Contact(name="Lena Vogel", company=acme, phone="+44 20 7946 0958")
    maria = Lead(name="Maria Novak", owner_id=rep.id, company_name="Novak & Co",
                 temperature="hot", note="Wants a quote for 20 seats")  # fmt: skip
    for subject, text in ((maria, "Send the quote"), (lena, "Call back"), (acme, "Renewal")):
        activity = Activity(kind="task", text=text, due_on=date.today(), author_id=rep.id,
                            assignee_id=rep.id)  # fmt: skip
        if isinstance(subject, Lead):
            activity.lead = subject
        elif isinstance(subject, Contact):
            activity.contact = subject
        else:
            activity.company = subject
        live_db.add(activity)
    live_db.commit()
    return maria, lena, acme


# Waits (up to 15 s) until the phone keeps every one of the paths.
KEPT = """async wanted => {
  for (let i = 0; i < 150; i++) {
    const keys = await (await caches.open("quickcrm-pages")).keys();
    const paths = keys.map(k => new URL(k.url).pathname);
    if (wanted.every(w => paths.includes(w))) return true;
    await new Promise(r => setTimeout(r, 100));
  }
  return false;
}"""


def kept_pages(page) -> list[str]:
    return page.evaluate(
        """async () => {
          const pages = await caches.open("quickcrm-pages");
          return (await pages.keys()).map(r => new URL(r.url).pathname);
        }"""
    )


def test_with_no_signal_the_agenda_and_its_people_can_be_read(make_live_user, live_db, page):
    rep = make_live_user()
    maria, lena, acme = agenda_day(live_db, rep)
    open_app_ready_for_offline(page)
    # Opening the app keeps the agenda and the people on it, without visiting them.
    wanted = {"/agenda", f"/leads/{maria.id}", f"/contacts/{lena.id}", f"/companies/{acme.id}"}
    assert page.evaluate(KEPT, sorted(wanted)), kept_pages(page)

    page.context.set_offline(True)
    page.goto("/agenda")
    expect(page.get_by_role("status").filter(has_text="Offline")).to_be_visible()
    today = page.get_by_role("region", name="Today")
    expect(today.get_by_role("listitem")).to_have_count(3)
    today.get_by_role("link", name="Lena Vogel", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/contacts/{lena.id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lena Vogel")
    page.go_back()
    today.get_by_role("link", name="Maria Novak", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maria Novak")

    # A page that was never kept says so, under its own address.
    page.goto("/forecast")
    expect(page).to_have_url(re.compile(r"/forecast$"))
    expect(page.get_by_role("heading", name="Not available offline")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Offline")


def test_done_offline_waits_and_a_resend_after_a_lost_reply_is_stored_once(
    make_live_user, live_db, page
):
    rep = make_live_user()
    maria, _, _ = agenda_day(live_db, rep)
    open_app_ready_for_offline(page)
    page.goto("/agenda")
    page.context.set_offline(True)

    item = (
        page.get_by_role("region", name="Today")
        .get_by_role("listitem")
        .filter(has_text="Maria Novak")
    )
    item.get_by_role("button", name="Done").click()
    item.get_by_role("button", name="Tomorrow").click()
    expect(item).to_contain_text("Done — Maria Novak — waiting to sync")
    expect(page.get_by_text("1 update waiting to sync")).to_be_visible()
    live_db.expire_all()
    assert live_db.scalar(select(func.count(OfflineAction.key))) == 0

    # Back online: the server applies it, but its reply is lost; the phone sends it again.
    sent = []

    def lose_first_reply(route):
        sent.append(route.request.post_data)
        if len(sent) == 1:
            route.fetch()  # the server stores it…
            route.abort()  # …and the answer never arrives
        else:
            route.continue_()

    page.route("**/agenda/*/done", lose_first_reply)
    page.context.set_offline(False)
    expect(page.get_by_text("1 update waiting to sync")).to_be_hidden(timeout=20000)
    assert len(sent) == 2 and sent[0] == sent[1]
    live_db.expire_all()
    tomorrow = date.today() + timedelta(days=1)
    follow_ups = live_db.scalars(
        select(Activity).where(Activity.lead_id == maria.id, Activity.done.is_(False))
    ).all()
    assert [a.due_on for a in follow_ups] == [tomorrow]
    assert live_db.scalar(select(func.count(OfflineAction.key))) == 1


def busy_day(live_db, rep, n=7):
    """``n`` follow-ups due today: leads, some with a phone, some with an email, some neither."""
    items = []
    for i in range(n):
        lead = Lead(name=f"Person {i}", owner_id=rep.id, company_name=f"Firm {i}",
                    temperature=("hot", "warm", "cold", None)[i % 4],
                    phone="+44 20 7946 0958" if i % 3 == 0 else None,
                    email=f"p{i}@example.com" if i % 3 == 1 else None)  # fmt: skip
        activity = Activity(kind="task", text=f"Send the quote {i}", due_on=date.today(),
                            author_id=rep.id, assignee_id=rep.id, lead=lead)  # fmt: skip
        live_db.add(activity)
        items.append(activity)
    live_db.commit()
    return items


def test_done_and_a_date_chip_is_two_taps_and_the_badge_follows(make_live_user, live_db, page):
    rep = make_live_user()
    busy_day(live_db, rep)
    sign_in(page)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Agenda")).to_contain_text("7")
    nav.get_by_role("link", name="Agenda").tap()

    today = page.get_by_role("region", name="Today")
    cards = today.get_by_role("listitem")
    expect(cards).to_have_count(7)
    page.screenshot(path=str(screenshot_path("agenda.png")))
    first = cards.filter(has_text="Person 0")
    expect(first).to_contain_text("Firm 0")
    expect(first).to_contain_text("Hot")
    expect(first).to_contain_text("Send the quote 0")
    # At least five cards fit on the screen, above the bottom bar.
    bar_top = nav.bounding_box()["y"]
    assert cards.nth(4).bounding_box()["y"] + cards.nth(4).bounding_box()["height"] <= bar_top
    # Done and Snooze keep their place whether or not there is a Call or Email link.
    places = {
        (round(c.get_by_role("button", name="Done").bounding_box()["x"]),
         round(c.get_by_role("button", name="Snooze").bounding_box()["x"]))
        for c in cards.all()
    }  # fmt: skip
    assert len(places) == 1, places

    taps = 0
    first.get_by_role("button", name="Done").tap()
    taps += 1
    first.get_by_role("button", name="Tomorrow").tap()
    taps += 1
    status = page.get_by_role("status").filter(has_text="Done — Person 0")
    expect(status).to_contain_text("Next: tomorrow")
    assert taps == 2
    expect(today.get_by_role("listitem")).to_have_count(6)
    expect(nav.get_by_role("link", name="Agenda")).to_contain_text("6")
    # The focus goes on with the next item, where a screen reader user carries on.
    expect(today.get_by_role("listitem").first.get_by_role("button", name="Done")).to_be_focused()
    live_db.expire_all()
    follow = live_db.scalars(
        select(Activity).where(Activity.done.is_(False), Activity.due_on > date.today())
    ).all()
    assert [(a.lead.name, a.due_on) for a in follow] == [
        ("Person 0", date.today() + timedelta(days=1))
    ]

    # Snooze: two taps as well, and the badge follows.
    second = today.get_by_role("listitem").filter(has_text="Person 1")
    second.get_by_role("button", name="Snooze").tap()
    second.get_by_role("button", name="+1 week").tap()
    expect(page.get_by_role("status").filter(has_text="Snoozed — Person 1")).to_be_visible()
    expect(nav.get_by_role("link", name="Agenda")).to_contain_text("5")


def test_a_note_made_offline_on_a_kept_lead_page_is_stored_once(make_live_user, live_db, page):
    rep = make_live_user()
    maria, _, _ = agenda_day(live_db, rep)
    open_app_ready_for_offline(page)
    page.goto(f"/leads/{maria.id}")  # opened once: kept for the field day
    assert page.evaluate(KEPT, [f"/leads/{maria.id}"])
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("status").filter(has_text="Offline")).to_be_visible()
    page.get_by_text("Log activity").tap()
    page.get_by_label("What happened or what to do").fill("Met at the stand, wants a demo")
    page.get_by_role("button", name="Log it").tap()
    expect(page.get_by_text("1 update waiting to sync")).to_be_visible()
    live_db.expire_all()
    assert live_db.scalars(select(Activity).where(Activity.kind == "note")).all() == []

    page.context.set_offline(False)
    expect(page.get_by_text("1 update waiting to sync")).to_be_hidden(timeout=20000)
    live_db.expire_all()
    notes = live_db.scalars(select(Activity).where(Activity.kind == "note")).all()
    assert [(n.lead_id, n.text) for n in notes] == [(maria.id, "Met at the stand, wants a demo")]
