"""The team's own time, dates and money (docs/team.md): its time zone, currency, date
format (a locale), first day of the week and phone region — one set for the team, kept in
the database so every app server agrees — and a time zone per user for the rep who
travels.

"Today", "this week", "this month" and "this quarter" are the viewer's: the day at this
moment in their zone (``local_today``), and the weeks, months and quarters around it. The
forecast's months are the team's (one forecast for everyone). Stored moments stay UTC;
``day_bounds`` turns a local day into the UTC moments a query compares with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.models import TeamSettings, User

MONDAY, SUNDAY = 0, 6
UTC_ZONE = ZoneInfo("UTC")
WEEK_STARTS = {"monday": MONDAY, "sunday": SUNDAY}
DEFAULT_LOCALE = "en-GB"

# The date formats offered, as locales (the admin's select; any locale Babel knows is
# accepted): how each writes 6 December 2026 is shown beside it.
LOCALES = (
    "en-AU", "en-CA", "en-GB", "en-IE", "en-IN", "en-NZ", "en-US", "en-ZA", "da-DK",
    "de-AT", "de-CH", "de-DE", "es-ES", "es-MX", "fi-FI", "fr-BE", "fr-CA", "fr-CH",
    "fr-FR", "it-IT", "ja-JP", "nb-NO", "nl-BE", "nl-NL", "pl-PL", "pt-BR", "pt-PT",
    "sv-SE",
)  # fmt: skip


SAMPLE_DAY = date(2026, 12, 6)


@cache
def samples() -> dict[str, str]:
    """How each offered locale writes 6 December 2026, short and with its weekday."""
    from babel.dates import format_date, format_skeleton

    return {
        name: format_date(SAMPLE_DAY, "short", locale=Locale.parse(name, sep="-"))
        + " · "
        + format_skeleton("MMMEd", SAMPLE_DAY, locale=Locale.parse(name, sep="-"))
        for name in LOCALES
    }


@cache
def zones() -> tuple[str, ...]:
    """Every IANA time zone this machine knows, by name ("Australia/Perth")."""
    return tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))


@cache
def currencies() -> tuple[str, ...]:
    """Every ISO 4217 code Babel knows ("AUD", "EUR")."""
    return tuple(sorted(list_currencies()))


def choices(locale_name: str = DEFAULT_LOCALE) -> dict[str, list[tuple[str, str]]]:
    """The admin's selects: (value, text) for every zone, currency, date format and phone
    region, named in the team's language."""
    from babel.numbers import get_currency_name

    names = Locale.parse(locale_name, sep="-")
    examples = samples()
    return {
        "zones": [(name, name.replace("_", " ")) for name in zones()],
        "currencies": [
            (code, f"{code} — {get_currency_name(code, locale=names)}") for code in currencies()
        ],
        "locales": [(name, f"{name} — {examples[name]}") for name in LOCALES],
        "regions": [(code, f"{code} — {names.territories.get(code, code)}") for code in regions()],
    }


def regions() -> tuple[str, ...]:
    """Every region phone numbers can be read in ("AU", "GB")."""
    return tuple(sorted(phonenumbers.SUPPORTED_REGIONS))


def server_zone() -> str:
    """The zone the server runs in: ``TZ``, else /etc/timezone, else where /etc/localtime
    points, else UTC."""
    named = os.environ.get("TZ", "").lstrip(":")
    if named in zones():
        return named
    try:
        named = Path("/etc/timezone").read_text().strip()
        if named in zones():
            return named
    except OSError:
        pass
    try:
        target = str(Path("/etc/localtime").resolve())
        named = target.split("zoneinfo/", 1)[1]
        if named in zones():
            return named
    except (OSError, IndexError):
        pass
    return "UTC"


@dataclass(frozen=True)
class Defaults:
    """What an empty setting means: the server's configuration (QUICKCRM_TIME_ZONE,
    QUICKCRM_CURRENCY, QUICKCRM_PHONE_REGION), else the server's own zone."""

    time_zone: str | None = None
    currency: str | None = None
    phone_region: str | None = None


@dataclass(frozen=True)
class Team:
    time_zone: str
    currency: str | None
    locale: str
    week_start: int
    phone_region: str | None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def babel_locale(self) -> Locale:
        return Locale.parse(self.locale, sep="-")

    def zone_of(self, user: User | None) -> ZoneInfo:
        """The zone ``user`` lives in: their own, else the team's."""
        own = getattr(user, "time_zone", None)
        return ZoneInfo(own) if own in zones() else self.zone


def load(session: Session, defaults: Defaults = Defaults()) -> Team:
    """The team's settings, each empty one filled from ``defaults``."""
    row = session.get(TeamSettings, 1)
    zone = (row and row.time_zone) or defaults.time_zone
    locale = (row and row.locale) or DEFAULT_LOCALE
    week_start = row.week_start if row and row.week_start is not None else MONDAY
    return Team(
        time_zone=zone if zone in zones() else server_zone(),
        currency=(row and row.currency) or defaults.currency or None,
        locale=locale,
        week_start=week_start,
        phone_region=(row and row.phone_region) or defaults.phone_region or None,
    )


@dataclass
class TeamForm(v.Form):
    """Admin → Team settings. Every value is checked against the lists it comes from; an
    unknown zone, currency, locale or region is refused next to its field."""

    FIELDS = ("time_zone", "currency", "locale", "week_start", "phone_region")

    def validate(self, session: Session | None, **_context) -> None:
        self.check("time_zone", time_zone)
        self.check("currency", currency)
        self.check("locale", locale)
        self.check("week_start", week_start)
        self.check("phone_region", phone_region)


def time_zone(raw: str | None, *, required: bool = True) -> str | None:
    name = (raw or "").strip()
    if not name and not required:
        return None
    if name not in zones():
        raise v.Refused("Choose a time zone from the list, e.g. Australia/Perth.")
    return name


def currency(raw: str | None) -> str | None:
    code = (raw or "").strip().upper()
    if not code:
        return None
    if code not in currencies():
        raise v.Refused("Choose a currency by its three-letter code, e.g. AUD or EUR.")
    return code


def locale(raw: str | None) -> str:
    name = (raw or "").strip()
    if len(name) > 20 or not name.replace("-", "").replace("_", "").isalnum():
        raise v.Refused("Choose a date format from the list, e.g. en-AU.")
    try:
        parsed = Locale.parse(name.replace("_", "-"), sep="-")
    except (ValueError, TypeError, UnknownLocaleError):
        raise v.Refused("Choose a date format from the list, e.g. en-AU.") from None
    if not parsed.territory:
        raise v.Refused("Choose a date format with its country, e.g. en-AU.")
    return f"{parsed.language}-{parsed.territory}"


def week_start(raw: str | None) -> int:
    value = (raw or "").strip().lower()
    if value not in WEEK_STARTS:
        raise v.Refused("Choose Monday or Sunday.")
    return WEEK_STARTS[value]


def phone_region(raw: str | None) -> str | None:
    code = (raw or "").strip().upper()
    if not code:
        return None
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise v.Refused("Choose a country by its two-letter code, e.g. AU or GB.")
    return code


def save(session: Session, form: TeamForm) -> TeamSettings:
    """Keep a cleaned form's settings (flushed; the caller commits)."""
    assert form.ok, "save needs a cleaned form without errors"
    row = session.get(TeamSettings, 1) or TeamSettings(id=1)
    for name, value in form.values.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def set_user_zone(session: Session, user: User, raw: str | None) -> None:
    """A user's own zone; empty: the team's (flushed; the caller commits)."""
    try:
        user.time_zone = time_zone(raw, required=False)
    except v.Refused as exc:
        raise v.Refused({"time_zone": str(exc)}) from None
    session.flush()


# --- "today", weeks, months, quarters, in a zone -----------------------------------------


def local_today(zone: ZoneInfo, now: datetime) -> date:
    """The day it is at ``now`` (aware) in ``zone``."""
    return now.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The moments (UTC) a local day starts and the next one starts: 23 or 25 hours apart
    across a DST change. Compare stored moments with them."""
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    # In UTC: Python subtracts two times of one zone on the wall clock, not in real hours.
    return start.astimezone(UTC), end.astimezone(UTC)


def period_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The moments (UTC) the local day ``first`` starts and the day after ``last`` starts:
    a period of whole local days, for ``start <= moment < end``."""
    return day_bounds(first, zone)[0], day_bounds(last, zone)[1]


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The local day a stored moment fell on in ``zone`` (a naive moment is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def week_of(day: date, week_start: int = MONDAY) -> tuple[date, date]:
    """The first and last day of the week that holds ``day``."""
    first = day - timedelta(days=(day.weekday() - week_start) % 7)
    return first, first + timedelta(days=6)


def month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def quarter_of(day: date) -> tuple[date, date]:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last_month_first = date(first.year, first.month + 2, 1)
    return first, month_of(last_month_first)[1]
