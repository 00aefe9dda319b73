"""The agenda over HTTP: Done and Snooze, whose agenda a person may see, the calendar feed."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import event, select

from quickcrm.domain import agenda, users
from quickcrm.models import Activity, Lead
from tests import factories
from tests.conftest import PASSWORD, csrf_token


def follow_up(db, user, due, name="Maria Novak"):
    """A task due on ``due`` to follow up a lead of ``user``'s."""
    lead = Lead(name=name, owner_id=user.id, email="maria@example.com")
    return factories.task(db, user, due, lead=lead)


def test_agenda_done_with_a_next_date_and_the_badge(client, rep, db):
    activity = follow_up(db, rep, date.today())
    page = client.get("/agenda").get_data(as_text=True)
    assert "Maria Novak" in page and "1 due today or overdue" in page
    later = (date.today() + timedelta(days=3)).isoformat()
    response = client.post(
        f"/agenda/{activity.id}/done",
        data={
            "outcome": "Spoke to her",
            "next_action_on": later,
            "csrf_token": csrf_token(client, "/agenda"),
        },
    )
    assert response.status_code == 303
    assert agenda.due_count(db, rep.id, date.today()) == 0
    bad = client.post(
        f"/agenda/{activity.id}/done",
        data={"csrf_token": csrf_token(client, "/agenda")},
    )
    assert bad.status_code == 422


def test_coordinators_see_anyones_agenda_reps_do_not(client, make_user, auth, db):
    sam = make_user("sam@example.com", name="Sam Rep")
    follow_up(db, sam, date.today(), "Sams Lead")
    make_user("rep@example.com")
    auth.login("rep@example.com")
    assert client.get(f"/agenda?user={sam.id}").status_code == 403
    auth.logout()
    make_user("coordinator@example.com", "coordinator")
    auth.login("coordinator@example.com")
    assert "Sams Lead" in client.get(f"/agenda?user={sam.id}").get_data(as_text=True)


FEED_URL = re.compile(r'id="feed-url"[^>]*value="https?://[^/]+(/ical/[^"]+\.ics)"')


def test_htmx_snooze_gets_the_agendas_block(client, coordinator, db):
    first = follow_up(db, coordinator, date.today())
    follow_up(db, coordinator, date.today(), "Ines Garcia")
    token = csrf_token(client, "/agenda")
    hx = {"HX-Request": "true"}
    snoozed = client.post(
        f"/agenda/{first.id}/snooze", data={"csrf_token": token, "by": "week"}, headers=hx
    )
    assert snoozed.status_code == 200
    assert "Ines Garcia" in snoozed.get_data(as_text=True)
    assert "<html" not in snoozed.get_data(as_text=True)


def new_feed(client) -> str:
    """Make a new calendar address on the calendar page; the path it shows, this once."""
    page = client.post(
        "/agenda/calendar", data={"csrf_token": csrf_token(client, "/agenda/calendar")}
    )
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    return html.unescape(FEED_URL.search(page.get_data(as_text=True)).group(1))


def test_ical_feed_parses_lists_due_items_and_revokes(client, rep, db, app):
    follow_up(db, rep, date.today(), "Maria Novak")
    old = new_feed(client)
    anonymous = app.test_client()
    response = anonymous.get(old)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    events = Calendar.from_ical(response.data).walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Follow up — Maria Novak"]
    assert events[0].decoded("DTSTART") == date.today()
    new = new_feed(client)
    assert anonymous.get(old).status_code == 404
    assert anonymous.get(new).status_code == 200
    # Shown once: the page shows no address afterwards, only a way to make a new one.
    again = client.get("/agenda/calendar").get_data(as_text=True)
    assert "/ical/" not in again and "New address (revokes the old one)" in again


def test_a_feed_secret_is_stored_as_its_hash(client, rep, db):
    path = new_feed(client)
    secret = path.removeprefix("/ical/").removesuffix(".ics")
    db.refresh(rep)
    assert rep.ical_token == agenda.feed_token_hash(secret) and secret not in rep.ical_token


@pytest.mark.parametrize("how", ["sign out", "password change", "deactivation"])
def test_a_feed_ends_with_its_users_sessions(client, rep, db, app, auth, make_user, how):
    path = new_feed(client)
    anonymous = app.test_client()
    assert anonymous.get(path).status_code == 200
    if how == "sign out":
        auth.logout()
    elif how == "password change":
        users.change_password(db, rep, PASSWORD, "a much newer passphrase")
        db.commit()
    else:
        admin = make_user("admin@example.com", "admin", "Ada")
        users.deactivate(db, rep, by=admin)
        users.reactivate(db, rep)
        db.commit()
    assert anonymous.get(path).status_code == 404
    db.refresh(rep)
    assert rep.ical_token is None
    auth.login(
        "rep@example.com", "a much newer passphrase" if how == "password change" else PASSWORD
    )
    assert "Create my calendar address" in client.get("/agenda/calendar").get_data(as_text=True)
    assert anonymous.get(new_feed(client)).status_code == 200


def test_ical_feed_is_rate_limited(client, rep, db, app):
    app.config["ICAL_RATE_LIMIT"] = 2
    token = agenda.regenerate_feed_token(db, rep)
    db.commit()
    codes = [client.get(f"/ical/{token}.ics").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def card(page: str, activity) -> str:
    """The agenda card of ``activity`` in ``page``."""
    return re.search(rf'<li class="agenda-item" id="activity-{activity.id}".*?</li>', page, re.S)[0]


def logged(db, author, lead, kind, text, at, **fields):
    """An activity ``author`` logged on ``lead`` at the moment ``at`` (UTC)."""
    made = Activity(kind=kind, text=text, author_id=author.id, lead_id=lead.id, created_at=at,
                    updated_at=at, **fields)  # fmt: skip
    db.add(made)
    db.commit()
    return made


def test_an_agenda_card_shows_the_notes_first_line_and_the_last_activity(client, rep, db):
    rep.time_zone = "Pacific/Auckland"
    lead = factories.lead(db, rep, "Maria Novak", note="\nWants 40 desks by March\nCall after 3pm")
    due = factories.task(db, rep, date.today(), lead=lead)
    # 22:30 UTC is the next morning in Auckland: the card says the rep's day.
    call_at = datetime.combine(date.today() - timedelta(days=9), time(22, 30), UTC)
    logged(db, rep, lead, "note", "Met at the expo", call_at - timedelta(days=2))
    logged(db, rep, lead, "call", "Left a voicemail\nwill try again", call_at, done=True,
           due_on=call_at.date(), done_at=call_at)  # fmt: skip
    # Still to do, so not what last happened (nor the card's own task).
    logged(db, rep, lead, "meeting", "Demo", call_at + timedelta(days=1), due_on=date.today())
    bare = factories.task(db, rep, date.today(), lead=factories.lead(db, rep, "Ines Garcia"))

    page = client.get("/agenda").get_data(as_text=True)
    shown = card(page, due)
    assert "Wants 40 desks by March" in shown and "Call after 3pm" not in shown
    local = call_at.astimezone(ZoneInfo("Pacific/Auckland"))
    last = re.search(r'<p class="agenda-last">(.*?)</p>', shown, re.S)[1]
    assert f'<time datetime="{local.isoformat()}">' in last
    text = re.sub(r"<[^>]+>", "", last)
    assert text.startswith("Last activity: Call · ") and text.endswith(": Left a voicemail")
    assert f"{local.day} " in text and "will try again" not in text and "Demo" not in text
    # A lead with no note and nothing done yet: no note line, no last activity.
    assert "agenda-note" not in card(page, bare) and "agenda-last" not in card(page, bare)


def test_a_done_task_with_an_outcome_is_the_last_activity(client, rep, db):
    first = follow_up(db, rep, date.today() - timedelta(days=1))
    response = client.post(
        f"/agenda/{first.id}/done",
        data={"outcome": "Spoke to her", "next_action_on": date.today().isoformat(),
              "csrf_token": csrf_token(client, "/agenda")},
    )  # fmt: skip
    assert response.status_code == 303
    follow = db.scalars(select(Activity).where(Activity.done.is_(False))).one()
    shown = card(client.get("/agenda").get_data(as_text=True), follow)
    assert re.search(r"Last activity: </span>Note · <time[^>]*>today</time>: Spoke to her", shown)


def test_the_agenda_reads_the_last_activities_in_one_query(rep, db):
    """No query per item: the same number of statements for a page of 2 items as of 30."""

    def statements(n_items: int) -> int:
        for i in range(n_items):
            lead = factories.lead(db, rep, f"Lead {i}", note=f"Note {i}")
            factories.task(db, rep, date.today(), lead=lead)
            logged(db, rep, lead, "call", f"Called {i}", datetime.now(UTC), done=True)
        db.expire_all()
        seen = []
        listen = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.get_bind(), "before_cursor_execute", listen)
        try:
            result = agenda.agenda(db, rep.id, date.today())
        finally:
            event.remove(db.get_bind(), "before_cursor_execute", listen)
        assert all(entry.last is not None for entry in result.today)
        return len(seen)

    few = statements(2)
    assert statements(28) == few
