"""Admin → Team settings and a user's own zone, seen through the app: the server in UTC,
the team in Perth, the clock frozen either side of Perth's midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine

from quickcrm.models import Activity, Lead, TeamSettings
from tests.conftest import csrf_token

PERTH_SETTINGS = {"time_zone": "Australia/Perth", "currency": "AUD", "locale": "en-AU",
                  "week_start": "monday", "phone_region": "AU"}  # fmt: skip


def save_team(client, **changes):
    data = {**PERTH_SETTINGS, **changes, "csrf_token": csrf_token(client, "/admin/team")}
    return client.post("/admin/team", data=data)


def test_an_admin_sets_the_teams_zone_currency_format_and_region(client, admin, db):
    page = client.get("/admin/team").get_data(as_text=True)
    for label in ("Time zone", "Currency", "Date format", "Week starts on", "Phone region"):
        assert f">{label}</label>" in page
    response = save_team(client)
    assert response.status_code == 303
    row = db.get(TeamSettings, 1)
    assert (row.time_zone, row.currency, row.locale, row.week_start, row.phone_region) == (
        "Australia/Perth", "AUD", "en-AU", 0, "AU",
    )  # fmt: skip


def test_an_unknown_zone_is_refused_next_to_its_field(client, admin, db):
    response = save_team(client, time_zone="Perth")
    assert response.status_code == 422
    assert "Choose a time zone from the list" in response.get_data(as_text=True)
    assert db.get(TeamSettings, 1) is None


def test_only_an_admin_changes_team_settings(client, coordinator):
    assert client.get("/admin/team").status_code == 403
    assert save_team(client).status_code == 403


def agenda_sections(client) -> str:
    return client.get("/agenda").get_data(as_text=True)


def a_sunday_ahead() -> date:
    """A Sunday a week or two ahead: the clock may move forward (a signed session cookie is
    refused from the future and after 30 days), never back."""
    day = date.today() + timedelta(days=7)
    return day + timedelta(days=(6 - day.weekday()) % 7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def test_the_agendas_today_is_perths_with_the_server_in_utc(client, admin, db):
    save_team(client)
    sunday = a_sunday_ahead()
    saturday = sunday - timedelta(days=1)
    lead = Lead(name="Due Perth Sunday", owner_id=admin.id)
    db.add(lead)
    db.add(Activity(kind="task", text="Call", due_on=sunday, lead=lead,
                    author_id=admin.id, assignee_id=admin.id))  # fmt: skip
    db.commit()
    # (The clock only moves forward: a session cookie from the future is refused.)
    # 23:30 on Saturday in Perth (15:30 UTC): it is tomorrow's, not today's.
    with time_machine.travel(at(saturday, 15, 30), tick=False):
        page = agenda_sections(client)
    assert "Due Perth Sunday" in page.split('id="agenda-week"', 1)[1]
    # 07:30 on Sunday in Perth is 23:30 on Saturday in UTC: the follow-up is due today.
    with time_machine.travel(at(saturday, 23, 30), tick=False):
        page = agenda_sections(client)
    today_part = page.split('id="agenda-today"', 1)[1]
    assert "Due Perth Sunday" in today_part.split('id="agenda-week"', 1)[0]
    assert 'id="agenda-overdue"' not in page
    # At 17:00 UTC on Sunday it is already Monday in Perth: the follow-up is overdue.
    with time_machine.travel(at(sunday, 17), tick=False):
        page = agenda_sections(client)
    overdue = page.split('id="agenda-overdue"', 1)[1].split('id="agenda-today"')[0]
    assert "Due Perth Sunday" in overdue


def test_a_rep_who_travels_sets_their_own_zone(client, rep, db):
    page = client.get("/account").get_data(as_text=True)
    assert ">Time zone</label>" in page
    data = {"time_zone": "Europe/London", "csrf_token": csrf_token(client, "/account")}
    assert client.post("/account", data=data).status_code == 303
    db.refresh(rep)
    assert rep.time_zone == "Europe/London"
    data["time_zone"] = "Moon/Base"
    refused = client.post("/account", data=data)
    assert refused.status_code == 422 and "Choose a time zone" in refused.get_data(as_text=True)


def test_a_local_number_is_read_in_the_teams_region(client, admin, db):
    data = {"name": "Local Number", "phone": "0412 345 678", "csrf_token": csrf_token(client, "/")}
    assert client.post("/", data=data).status_code == 422  # no region: which country?
    save_team(client)
    data["csrf_token"] = csrf_token(client, "/")
    assert client.post("/", data=data).status_code in (200, 303)
    assert db.query(Lead).filter_by(name="Local Number").one().phone
