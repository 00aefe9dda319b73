"""The team's time (quickcrm/domain/team.py): settings checked against their lists, and
"today", weeks, months, quarters in a zone — with the server in UTC and the team in Perth
(UTC+8), Kiritimati (UTC+14) and Los Angeles (DST), either side of local midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from quickcrm.domain import team as teams
from quickcrm.domain import validation as v
from quickcrm.models import TeamSettings

PERTH = ZoneInfo("Australia/Perth")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(
    ("zone", "moment", "day"),
    [
        (PERTH, datetime(2026, 12, 5, 15, 59, tzinfo=UTC), date(2026, 12, 5)),  # 23:59 Perth
        (PERTH, datetime(2026, 12, 5, 16, 0, tzinfo=UTC), date(2026, 12, 6)),  # 00:00 Perth
        (PERTH, datetime(2026, 12, 5, 23, 30, tzinfo=UTC), date(2026, 12, 6)),  # 07:30 Perth
        (KIRITIMATI, datetime(2026, 12, 5, 9, 59, tzinfo=UTC), date(2026, 12, 5)),
        (KIRITIMATI, datetime(2026, 12, 5, 10, 0, tzinfo=UTC), date(2026, 12, 6)),
        (LOS_ANGELES, datetime(2026, 12, 6, 7, 59, tzinfo=UTC), date(2026, 12, 5)),  # PST
        (LOS_ANGELES, datetime(2026, 12, 6, 8, 0, tzinfo=UTC), date(2026, 12, 6)),
        (LOS_ANGELES, datetime(2026, 7, 6, 6, 59, tzinfo=UTC), date(2026, 7, 5)),  # PDT
        (LOS_ANGELES, datetime(2026, 7, 6, 7, 0, tzinfo=UTC), date(2026, 7, 6)),
    ],
)
def test_today_is_the_day_in_the_viewers_zone_either_side_of_midnight(zone, moment, day):
    assert teams.local_today(zone, moment) == day


def test_a_local_day_across_a_dst_change_is_23_or_25_hours_of_utc():
    spring = teams.day_bounds(date(2026, 3, 8), LOS_ANGELES)
    autumn = teams.day_bounds(date(2026, 11, 1), LOS_ANGELES)
    assert (spring[1] - spring[0]).total_seconds() == 23 * 3600
    assert (autumn[1] - autumn[0]).total_seconds() == 25 * 3600
    start, end = teams.day_bounds(date(2026, 12, 6), PERTH)
    assert start.astimezone(UTC) == datetime(2026, 12, 5, 16, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 12, 6, 16, tzinfo=UTC)


def test_weeks_months_and_quarters():
    sunday = date(2026, 12, 6)
    assert teams.week_of(sunday, teams.MONDAY) == (date(2026, 11, 30), date(2026, 12, 6))
    assert teams.week_of(sunday, teams.SUNDAY) == (date(2026, 12, 6), date(2026, 12, 12))
    assert teams.month_of(date(2028, 2, 10)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert teams.quarter_of(sunday) == (date(2026, 10, 1), date(2026, 12, 31))
    assert teams.quarter_of(date(2026, 2, 1)) == (date(2026, 1, 1), date(2026, 3, 31))


def test_empty_settings_mean_the_servers_and_saved_ones_win(db):
    defaults = teams.Defaults(time_zone="Europe/London", currency="GBP", phone_region="GB")
    team = teams.load(db, defaults)
    assert (team.time_zone, team.currency, team.locale, team.phone_region) == (
        "Europe/London", "GBP", "en-GB", "GB",
    )  # fmt: skip
    raw = {"time_zone": "Australia/Perth", "currency": "aud", "locale": "en-AU",
           "week_start": "sunday", "phone_region": "au"}  # fmt: skip
    form = teams.TeamForm.clean(db, raw)
    assert form.ok, form.errors
    teams.save(db, form)
    db.commit()
    team = teams.load(db, defaults)
    assert (team.time_zone, team.currency, team.locale, team.week_start, team.phone_region) == (
        "Australia/Perth", "AUD", "en-AU", teams.SUNDAY, "AU",
    )  # fmt: skip
    assert db.get(TeamSettings, 1).currency == "AUD"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("time_zone", "Mars/Olympus_Mons"),
        ("time_zone", "Australia/Perth\x00"),
        ("time_zone", "\ud800"),
        ("time_zone", ""),
        ("currency", "XYZ"),
        ("currency", "A" * 5000),
        ("locale", "xx-YY"),
        ("locale", "en"),
        ("locale", "../../etc/passwd"),
        ("week_start", "friday"),
        ("phone_region", "ZZ"),
    ],
)
def test_an_unknown_zone_currency_locale_or_region_is_refused_by_its_field(db, name, value):
    raw = {"time_zone": "UTC", "currency": "", "locale": "en-GB", "week_start": "monday",
           "phone_region": "", name: value}  # fmt: skip
    form = teams.TeamForm.clean(db, raw)
    assert list(form.errors) == [name]


def test_a_users_own_zone_wins_over_the_teams(db, make_user):
    rep = make_user()
    team = teams.load(db, teams.Defaults(time_zone="Australia/Perth"))
    assert team.zone_of(rep) == PERTH
    teams.set_user_zone(db, rep, "Europe/London")
    assert team.zone_of(rep) == ZoneInfo("Europe/London")
    teams.set_user_zone(db, rep, "")
    assert rep.time_zone is None
    with pytest.raises(v.Refused) as refused:
        teams.set_user_zone(db, rep, "Nowhere/Else")
    assert "time_zone" in refused.value.errors
