"""How values are written for a person, in the viewer's zone and the team's formats
(docs/team.md): today, dates relative to it, moments, amounts of money. Babel writes them
from the team's locale; no template holds a format string of its own."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time, get_datetime_format
from babel.numbers import format_decimal, parse_pattern
from flask import current_app, g, has_request_context
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import team as teams
from quickcrm.models import utcnow


def defaults() -> teams.Defaults:
    config = current_app.config
    return teams.Defaults(
        time_zone=config.get("TIME_ZONE") or None,
        currency=config.get("CURRENCY") or None,
        phone_region=config.get("PHONE_REGION") or None,
    )


def team() -> teams.Team:
    """The team's settings, read once per request."""
    if not has_request_context():
        return teams.load(get_session(), defaults())
    if "quickcrm_team" not in g:
        g.quickcrm_team = teams.load(get_session(), defaults())
    return g.quickcrm_team


def zone() -> ZoneInfo:
    """The signed-in viewer's zone (their own, else the team's)."""
    viewer = current_user if has_request_context() and current_user.is_authenticated else None
    return team().zone_of(viewer)


def phone_region() -> str | None:
    """The region phone numbers without a country code are read in: the team's."""
    return team().phone_region


def today() -> date:
    """The viewer's today; views pass it to the domain rules that need one."""
    return teams.local_today(zone(), utcnow())


def user_zone(user) -> ZoneInfo:
    """The zone of a user who is not the signed-in viewer (a calendar feed's owner)."""
    return team().zone_of(user)


def user_today(user) -> date:
    """That user's today (their calendar feed is dated in their days)."""
    return teams.local_today(user_zone(user), utcnow())


def viewer_days() -> dict[str, object]:
    """The viewer's today, zone and first day of the week, as the domain's lists take them
    (``list_leads(..., **viewer_days())``): their days filter in their zone."""
    return {"today": today(), "zone": zone(), "week_start": team().week_start}


def team_today() -> date:
    """The team's today: the forecast's and the meeting's months are the team's, one for
    everyone whatever the viewer's own zone."""
    return teams.local_today(team().zone, utcnow())


def _locale():
    return team().babel_locale


def friendly_date(when: date) -> str:
    """ "today", "tomorrow", "yesterday", a weekday within the week, else "Mon 30 Nov" (with
    the year when it is not this year's), in the team's language and order."""
    now = today()
    days = (when - now).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    locale = _locale()
    if 1 < days < 7:
        return format_date(when, "EEEE", locale=locale)
    skeleton = "MMMEd" if when.year == now.year else "yMMMEd"
    return format_skeleton(skeleton, when, locale=locale)


def day(when: date | datetime | None, style: str = "medium") -> str:
    """A date as the team writes it ("6 Dec 2026"; ``short``: "6/12/26"); a stored moment
    on the viewer's day (captured at 06:00 in Perth on Sunday is Sunday's)."""
    if when is None:
        return ""
    if isinstance(when, datetime):
        when = when.astimezone(zone()).date()
    return format_date(when, style, locale=_locale())


def month(when: date, year: bool = True) -> str:
    """A month as the team writes it: "Dec 2026" (the forecast's months); "Dec" without
    ``year`` (a chart's axis)."""
    return format_skeleton("yMMM" if year else "MMM", when, locale=_locale())


def time_of_day(when: datetime | None) -> str:
    """A stored moment's time in the viewer's zone, as the team writes it ("06:00", or
    "6:00 am" in en-AU)."""
    return "" if when is None else format_time(when.astimezone(zone()), "short", locale=_locale())


def moment(when: datetime | None) -> str:
    """A stored (UTC) moment in the viewer's zone and the team's format: "6 Dec, 06:00"
    this year, with the year otherwise. Never says UTC."""
    if when is None:
        return ""
    local = when.astimezone(zone())
    locale = _locale()
    on = format_skeleton("MMMd" if local.year == today().year else "yMMMd", local, locale=locale)
    at = format_time(local, "short", locale=locale)
    return get_datetime_format("medium", locale=locale).replace("{1}", on).replace("{0}", at)


def local_moment(when: datetime | None) -> datetime | None:
    """A stored moment in the viewer's zone (for a machine-readable attribute:
    ``(when | local_moment).isoformat()`` keeps its offset)."""
    return None if when is None else when.astimezone(zone())


def amount(value, cents: bool = False, signed: bool = False) -> str:
    """How every page writes an amount (the ``money`` filter): in the team's currency and
    locale when it has one ("A$12,500"), grouped as the locale groups; whole units unless
    ``cents``; with its sign when ``signed`` (a change)."""
    if value is None:
        return ""
    locale = _locale()
    number = Decimal(value)
    digits = 2 if cents else 0
    currency = team().currency
    if currency:
        pattern = parse_pattern(locale.currency_formats["standard"])
        pattern.frac_prec = (digits, digits)
        text = pattern.apply(
            abs(number) if signed else number, locale, currency=currency, currency_digits=False
        )
    else:
        text = format_decimal(
            abs(number) if signed else number,
            format="#,##0.00" if cents else "#,##0",
            locale=locale,
        )
    if signed:
        return ("-" if number < 0 else "+") + text
    return text


def short_day(when: datetime | None) -> str:
    """A stored moment's day in the viewer's zone, short: "3 Dec" this year, "3 Dec 2025"
    another (a duplicate hint's "captured 3 Dec")."""
    if when is None:
        return ""
    local = when.astimezone(zone())
    skeleton = "MMMd" if local.year == today().year else "yMMMd"
    return format_skeleton(skeleton, local, locale=_locale())
