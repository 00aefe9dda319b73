"""One "today", week, month and quarter everywhere (issue 22, point 3): the leads list's
filters in the viewer's days, the forecast's and the meeting's in the team's, the calendar
feed, the exports — with the server in UTC and the team in Perth (UTC+8), Kiritimati
(UTC+14) and Los Angeles (DST), at moments either side of local midnight and of a DST
change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from quickcrm.domain import companies, demo, exports, forecast, ical, leads, meeting, opportunities
from quickcrm.domain import team as teams
from quickcrm.models import Activity, Company, MeetingSnapshot, Opportunity, Stage, TeamSettings
from tests import factories

PERTH = ZoneInfo("Australia/Perth")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# (zone, the moment a lead was captured, the local day it was captured on)
CAPTURES = [
    (PERTH, utc(2026, 12, 5, 15, 59), date(2026, 12, 5)),  # 23:59 Saturday in Perth
    (PERTH, utc(2026, 12, 5, 22, 0), date(2026, 12, 6)),  # 06:00 Sunday in Perth
    (KIRITIMATI, utc(2026, 12, 5, 9, 30), date(2026, 12, 5)),  # 23:30 local
    (KIRITIMATI, utc(2026, 12, 5, 10, 30), date(2026, 12, 6)),  # 00:30 local
    # Los Angeles, the days DST starts (23 hours) and ends (25 hours), either side of midnight
    (LOS_ANGELES, utc(2026, 3, 8, 7, 59), date(2026, 3, 7)),  # 23:59 PST
    (LOS_ANGELES, utc(2026, 3, 8, 8, 0), date(2026, 3, 8)),  # 00:00 PST
    (LOS_ANGELES, utc(2026, 3, 9, 6, 59), date(2026, 3, 8)),  # 23:59 PDT
    (LOS_ANGELES, utc(2026, 3, 9, 7, 0), date(2026, 3, 9)),  # 00:00 PDT
    (LOS_ANGELES, utc(2026, 11, 1, 6, 59), date(2026, 10, 31)),  # 23:59 PDT
    (LOS_ANGELES, utc(2026, 11, 2, 7, 59), date(2026, 11, 1)),  # 23:59 PST, 25 hours on
    (LOS_ANGELES, utc(2026, 11, 2, 8, 0), date(2026, 11, 2)),  # 00:00 PST
]


@pytest.mark.parametrize(("zone", "captured", "day"), CAPTURES)
def test_captured_from_and_to_are_the_viewers_local_days(db, make_user, zone, captured, day):
    rep = make_user()
    factories.lead(db, rep, name="Found", captured_at=captured)
    db.commit()

    def found(first: date, last: date) -> list[str]:
        query = leads.LeadQuery.from_args({"from": first.isoformat(), "to": last.isoformat()})
        page = leads.list_leads(db, query, rep, today=day, zone=zone)
        return [lead.name for lead in page.leads]

    assert found(day, day) == ["Found"]
    before, after = date.fromordinal(day.toordinal() - 1), date.fromordinal(day.toordinal() + 1)
    assert found(before, before) == [] and found(after, after) == []
    assert found(before, day) == ["Found"] and found(day, after) == ["Found"]
    # The export reads the same list: the same days, the moment in UTC with a Z.
    export = exports.lead_export(
        db, leads.LeadQuery.from_args({"from": day.isoformat()}), rep, today=day, zone=zone
    )
    body = b"".join(exports.stream(db, export)).decode("utf-8-sig")
    assert captured.strftime("%Y-%m-%dT%H:%M:%SZ") in body


def test_a_lead_captured_at_six_on_a_perth_sunday_is_not_saturdays_for_a_perth_viewer(
    db, make_user
):
    rep = make_user()
    factories.lead(db, rep, name="Sunday Sue", captured_at=utc(2026, 12, 5, 22))
    db.commit()
    sunday = leads.LeadQuery.from_args({"from": "2026-12-06", "to": "2026-12-06"})
    saturday = leads.LeadQuery.from_args({"from": "2026-12-05", "to": "2026-12-05"})
    today = date(2026, 12, 6)
    assert [x.name for x in leads.list_leads(db, sunday, rep, today=today, zone=PERTH).leads] == [
        "Sunday Sue"
    ]
    assert leads.list_leads(db, saturday, rep, today=today, zone=PERTH).leads == []
    # A viewer in UTC sees it on Saturday: the filter is the viewer's day.
    assert leads.list_leads(db, sunday, rep, today=today).leads == []


@pytest.mark.parametrize(
    ("today", "week_start", "due", "listed"),
    [
        # Wednesday 9 December 2026; a week from Monday ends on Sunday 13th
        (date(2026, 12, 9), teams.MONDAY, date(2026, 12, 13), True),
        (date(2026, 12, 9), teams.MONDAY, date(2026, 12, 14), False),
        # a week from Sunday ends on Saturday 12th
        (date(2026, 12, 9), teams.SUNDAY, date(2026, 12, 12), True),
        (date(2026, 12, 9), teams.SUNDAY, date(2026, 12, 13), False),
        # on the week's last day, this week is today
        (date(2026, 12, 13), teams.MONDAY, date(2026, 12, 13), True),
        (date(2026, 12, 13), teams.MONDAY, date(2026, 12, 14), False),
        # overdue is not this week's: it has its own filter
        (date(2026, 12, 9), teams.MONDAY, date(2026, 12, 8), False),
    ],
)
def test_next_action_this_week_runs_to_the_last_day_of_the_teams_week(
    db, make_user, today, week_start, due, listed
):
    rep = make_user()
    lead = factories.lead(db, rep, name="Due Dan")
    db.add(Activity(kind="task", text="Call", due_on=due, lead=lead, author=rep))
    db.commit()
    query = leads.LeadQuery.from_args({"due": "week"})
    page = leads.list_leads(db, query, rep, today=today, zone=PERTH, week_start=week_start)
    assert bool(page.leads) is listed


def won(db, closed_at: datetime, value: int = 1000) -> None:
    company = Company(name="Acme", name_key="acme")
    stage = db.scalar(select(Stage).where(Stage.name == "Won"))
    db.add(company)
    db.add(Opportunity(title="Deal", company=company, value=Decimal(value), stage=stage,
                       probability=100, close_on=closed_at.date(), outcome="won",
                       closed_at=closed_at))  # fmt: skip
    db.commit()


@pytest.mark.parametrize(
    ("zone", "closed_at", "today", "this_month", "this_quarter"),
    [
        # 07:30 on 1 July in Perth is 30 June in UTC: July's and the third quarter's
        (PERTH, utc(2026, 6, 30, 23, 30), date(2026, 7, 1), True, True),
        # 23:30 on 30 June in Perth: June's, not July's
        (PERTH, utc(2026, 6, 30, 15, 30), date(2026, 7, 1), False, False),
        # 00:30 on 1 April in Kiritimati (31 March in UTC): April's, the second quarter's
        (KIRITIMATI, utc(2026, 3, 31, 10, 30), date(2026, 4, 1), True, True),
        (KIRITIMATI, utc(2026, 3, 31, 9, 30), date(2026, 4, 1), False, False),
        # 23:30 on 31 March in Los Angeles (PDT) is 1 April in UTC: March's
        (LOS_ANGELES, utc(2026, 4, 1, 6, 30), date(2026, 4, 1), False, False),
        (LOS_ANGELES, utc(2026, 4, 1, 7, 30), date(2026, 4, 1), True, True),
        # 1 November, the 25-hour day: 23:30 PST is 2 November 07:30 UTC, still November's
        (LOS_ANGELES, utc(2026, 11, 2, 7, 30), date(2026, 11, 2), True, True),
        (LOS_ANGELES, utc(2026, 11, 1, 6, 30), date(2026, 11, 2), False, True),  # 31 Oct
    ],
)
def test_won_this_month_and_quarter_count_wins_on_the_teams_days(
    db, zone, closed_at, today, this_month, this_quarter
):
    won(db, closed_at)
    assert forecast.won_this_month(db, today, zone).count == int(this_month)
    assert forecast.won_this_quarter(db, today, zone).count == int(this_quarter)


def test_the_funnel_counts_leads_captured_on_the_teams_days(db, make_user):
    rep = make_user()
    factories.lead(db, rep, name="Perth Monday", captured_at=utc(2026, 6, 30, 23, 30))
    db.commit()
    july = (date(2026, 7, 1), date(2026, 7, 31))
    assert forecast.funnel(db, *july, PERTH).leads == 1
    assert forecast.funnel(db, *july).leads == 0  # in UTC it was June's


def test_the_meetings_days_are_the_teams(db, make_user):
    coordinator = make_user("co@example.com", "coordinator")
    # 07:30 on Monday 7 December in Perth is Sunday in UTC.
    older = MeetingSnapshot(taken_at=utc(2026, 11, 29, 23, 30), taken_by_id=coordinator.id)
    newer = MeetingSnapshot(taken_at=utc(2026, 12, 6, 23, 30), taken_by_id=coordinator.id)
    db.add_all([older, newer])
    db.commit()
    found = meeting.compare(db, older, newer, date(2026, 12, 7), PERTH)
    assert (found.first_day, found.last_day) == (date(2026, 11, 30), date(2026, 12, 7))
    in_utc = meeting.compare(db, older, newer, date(2026, 12, 6))
    assert (in_utc.first_day, in_utc.last_day) == (date(2026, 11, 29), date(2026, 12, 6))


def test_the_calendar_feed_has_all_day_follow_ups_as_dates_in_the_users_zone(db, make_user):
    rep = make_user()
    lead = factories.lead(db, rep, name="Kiri Kate")
    db.add(Activity(kind="task", text="Call", due_on=date(2026, 12, 6), lead=lead, author=rep,
                    assignee=rep))  # fmt: skip
    db.commit()
    # 00:30 on 6 December in Kiritimati is still 5 December in UTC.
    today = teams.local_today(KIRITIMATI, utc(2026, 12, 5, 10, 30))
    body = ical.follow_ups(db, rep, today=today, host="crm.example", zone=KIRITIMATI.key)
    assert b"DTSTART;VALUE=DATE:20261206" in body and b"DTEND;VALUE=DATE:20261207" in body
    calendar = Calendar.from_ical(body)
    assert str(calendar["x-wr-timezone"]) == "Pacific/Kiritimati"
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == date(2026, 12, 6)


def test_every_moment_of_an_export_is_iso_utc_with_a_z_and_its_header_says_so(db, make_user):
    rep = make_user()
    built = [
        exports.lead_export(db, leads.LeadQuery(), rep, today=date(2026, 12, 6), zone=PERTH),
        exports.company_export(companies.CompanyQuery()),
        exports.contact_export(companies.ContactQuery()),
        exports.opportunity_export(opportunities.OpportunityQuery()),
        exports.activity_export(),
    ]
    moments = [h for export in built for h in export.headers if h.split(" (")[0].endswith(" at")]
    assert len(moments) >= 12 and all(h.endswith(" at (UTC)") for h in moments)
    perth_morning = datetime(2026, 12, 6, 6, 0, tzinfo=PERTH)
    assert exports.cell(perth_morning) == "2026-12-05T22:00:00Z"


def test_demo_data_sets_the_teams_zone_and_currency(app, db):
    demo.seed(db, password="demo-password", password_method=app.config["PASSWORD_METHOD"],
              leads_per_rep=1)  # fmt: skip
    db.commit()
    settings = db.get(TeamSettings, 1)
    assert (settings.time_zone, settings.currency) == ("Europe/London", "GBP")
    assert teams.load(db).time_zone == "Europe/London"
