"""The one toolkit that reads input: what people type and what clients send.

Each check returns the cleaned value or raises ``Invalid`` with a message for the person.
Every value that reaches the database goes through one of them, so none can outgrow its
column (ids, money), hold a character the database refuses (NUL, lone surrogates) or fall
outside the dates the app can compute with (docs/security.md, "Bad input").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import ClassVar, Self
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class Invalid(ValueError):
    """A value a person typed that cannot be accepted; the message is for them."""


class Refused(Invalid):
    """The one refusal a domain function raises: ``errors`` maps each form field at fault
    to the message for the person, ``Refused({"name": "Enter the stage's name."})``; a
    view shows each message next to its field (422). ``field`` is the first field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)
        self.field = next(iter(self.errors), "")


@dataclass
class Form:
    """The base of every hand-made form: the ``raw`` values as typed, then the cleaned
    ``values`` or the ``errors`` by field name. ``FIELDS`` are the inputs it reads."""

    raw: dict[str, str]
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    FIELDS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> Self:
        """The form's fields from a request's form, trimmed."""
        return cls(raw={name: (data.get(name) or "").strip() for name in cls.FIELDS})

    @property
    def ok(self) -> bool:
        return not self.errors

    def check(self, name: str, check: Callable[[str], object]) -> None:
        """Clean the input ``name`` with one of this toolkit's checks: its value, or the
        check's message as its error."""
        try:
            self.values[name] = check(self.raw.get(name, ""))
        except Invalid as exc:
            self.errors[name] = str(exc)


# Primary keys are PostgreSQL ``integer`` columns: nothing above this can name a record.
ID_MAX = 2**31 - 1
# Numeric(14, 2): the largest amount a money column holds.
MONEY_MAX = Decimal("999999999999.99")
# The dates the app accepts anywhere: wide enough for any real record, narrow enough that
# adding a month or a day never leaves the calendar.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2999, 12, 31)

UNSTORABLE = "This text holds a character QuickCRM cannot store (a NUL or a broken one)."
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> bool:
    """False when ``value`` holds a NUL or a lone surrogate, which no database stores."""
    return _UNSTORABLE.search(value) is None


def record_id(value: object) -> int | None:
    """The id of a record from a form or query, or ``None`` when it cannot be one (empty,
    not plain ASCII digits, zero, or past ``ID_MAX``) — so a look-up never overflows."""
    raw = str(value if value is not None else "").strip()
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    number = int(raw)
    return number if 1 <= number <= ID_MAX else None


def chosen(session, model, value: object):
    """The ``model`` row whose id ``value`` names (a select's or a hidden input's value), or
    ``None`` when there is none — the one way to look up a row a request names."""
    ident = record_id(value)
    return session.get(model, ident) if ident is not None else None


def integer(value: str | None, *, low: int, high: int, message: str) -> int | None:
    """A whole number from ``low`` to ``high``; ``None`` when empty."""
    raw = (value or "").strip()
    if not raw:
        return None
    sign, digits = ("-", raw[1:]) if raw.startswith("-") else ("", raw)
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        raise Invalid(message)
    number = int(sign + digits)
    if not low <= number <= high:
        raise Invalid(message)
    return number


def percentage(value: str | None, message: str = "Enter a whole percentage from 0 to 100.") -> int:
    number = integer(value, low=0, high=100, message=message)
    if number is None:
        raise Invalid(message)
    return number


def money(value: str | None, *, empty: Decimal | None = Decimal("0")) -> Decimal | None:
    """An amount of money from 0 to ``MONEY_MAX``, rounded to cents; thousands separators
    (commas, spaces) are allowed. ``empty`` is what an empty value means."""
    raw = re.sub(r"[,\s]", "", value or "")
    if not raw:
        return empty
    message = "Enter an amount like 12500 or 12500.50."
    if len(raw) > 40 or not re.fullmatch(r"\d*\.?\d*", raw) or raw == ".":
        raise Invalid(message)
    try:
        amount = Decimal(raw).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise Invalid(message) from None
    if amount > MONEY_MAX:
        raise Invalid("Enter an amount from 0 up to 999,999,999,999.99.")
    return amount


def day(value: str | None, message: str = "Enter a date like 2026-12-24.") -> date | None:
    """An ISO date (YYYY-MM-DD) from ``DATE_MIN`` to ``DATE_MAX``; ``None`` when empty."""
    raw = (value or "").strip()
    if not raw:
        return None
    try:
        when = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        when = None
    if when is None:
        raise Invalid(message)
    if not DATE_MIN <= when <= DATE_MAX:
        raise Invalid(f"Enter a date between {DATE_MIN.year} and {DATE_MAX.year}.")
    return when


def day_and_id(value: str | None) -> tuple[date | None, int] | None:
    """A keyset list's position, "2026-11-30.1234" (a date, or nothing for a row without
    one, then an id): ``(date or None, id)``, or ``None`` when ``value`` is not one."""
    when, dot, ident = (value or "").partition(".")
    number = record_id(ident) if dot else None
    if number is None:
        return None
    try:
        return day(when, "not a date"), number
    except Invalid:
        return None


def month(value: str | None) -> date | None:
    """A month typed as YYYY-MM, as its first day; ``None`` when empty."""
    raw = (value or "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}", raw):
        raise Invalid("Enter a month like 2026-12.")
    return day(raw + "-01", "Enter a month like 2026-12.")


def moment(value: str | None) -> datetime | None:
    """An ISO date and time as an aware UTC datetime (no zone means UTC), between
    ``DATE_MIN`` and ``DATE_MAX``; ``None`` when empty or unreadable."""
    raw = (value or "").strip().replace("Z", "+00:00")
    if not raw or len(raw) > 40:
        return None
    try:
        when = datetime.fromisoformat(raw)
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return when if DATE_MIN <= when.date() <= DATE_MAX else None


_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)


def web_address(value: str | None) -> str | None:
    """``value`` as an http or https link ("example.com" becomes "https://example.com"), or
    ``None``: the one rule for what may become a link — a website a form keeps, and what a
    template links (``http_url``), so a ``javascript:`` or ``data:`` URL is never one.

    What a browser ignores is dropped first (spaces and control characters at either end, a
    tab or newline inside); any other control character means it is not a web address."""
    url = re.sub(r"[\t\n\r]", "", (value or "").strip(_C0_AND_SPACE))
    if _CONTROL.search(url):
        return None
    scheme = _SCHEME.match(url)
    if scheme is None or "." in scheme.group(1):  # "example.com" or "example.com:8080"
        if not url[:1].isalnum():
            return None
        url = f"https://{url}"
    elif scheme.group(1).lower() not in ("http", "https"):
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host or not re.fullmatch(r"\S+\.\S+", host):  # a name with a dot: example.com
        return None
    return url


def url(value: str | None, *, max_length: int = 255) -> str | None:
    """A website to keep: ``web_address`` of the text, refused when there is none;
    ``None`` when empty."""
    raw = text(value, max_length=max_length)
    if raw is None:
        return None
    address = web_address(raw)
    if address is None or len(address) > max_length:
        raise Invalid("Enter a web address like https://example.com.")
    return address


def text(value: str | None, *, max_length: int, required: str | None = None) -> str | None:
    """Trimmed text with runs of white space folded; ``None`` when empty.

    ``required`` is the message to show when the value is empty and must not be.
    """
    if value is not None and not storable(value):
        raise Invalid(UNSTORABLE)
    cleaned = re.sub(r"[ \t]+", " ", (value or "").strip())
    if not cleaned:
        if required:
            raise Invalid(required)
        return None
    if len(cleaned) > max_length:
        raise Invalid(f"Keep it under {max_length} characters (this is {len(cleaned)}).")
    return cleaned


def long_text(value: str | None, *, max_length: int, message: str | None = None) -> str | None:
    """Text whose lines are kept as typed (a note); trimmed; ``None`` when empty."""
    if value is not None and not storable(value):
        raise Invalid(UNSTORABLE)
    cleaned = (value or "").strip()
    if len(cleaned) > max_length:
        raise Invalid(message or f"Keep it under {max_length} characters.")
    return cleaned or None


def email(value: str | None) -> str | None:
    raw = (value or "").strip()
    if not raw:
        return None
    if len(raw) > 254 or not storable(raw):
        raise Invalid("Enter an email address like name@example.com.")
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Invalid("Enter an email address like name@example.com.") from None


def phone(value: str | None, region: str | None) -> str | None:
    """A possible phone number, kept as typed (trimmed); local numbers use ``region``."""
    raw = re.sub(r"\s+", " ", (value or "").strip())
    if not raw:
        return None
    if len(raw) > 40 or not storable(raw):
        raise Invalid("That is too long for a phone number.")
    parsed = _parsed_phone(raw, region)
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise Invalid("Enter a phone number, with its country code if it is abroad (+44 …).")
    return raw


def phone_key(value: str | None, region: str | None) -> str | None:
    """The E.164 form of a phone number, for matching; ``None`` if it cannot be parsed."""
    parsed = _parsed_phone(value, region) if value else None
    if parsed is None:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=4096)
def _parsed_phone(raw: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """``raw`` parsed, or ``None``. A number is checked, then keyed for matching: parsing
    is most of the cost of either (an import of 50,000 rows parsed each phone twice)."""
    try:
        return phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None


NEXT_ACTION_HORIZON = timedelta(days=2 * 366)


def next_action_date(value: str | None, today: date) -> date | None:
    """An ISO date from yesterday (phones may be a time zone behind) up to two years ahead."""
    when = day(value, "Enter a date like 2026-11-24.")
    if when is None:
        return None
    if not today - timedelta(days=1) <= when <= today + NEXT_ACTION_HORIZON:
        raise Invalid("Pick a date from today up to two years ahead.")
    return when


def choice(value: str | None, allowed: tuple[str, ...], message: str) -> str | None:
    """One of ``allowed`` (case ignored); ``None`` when empty."""
    raw = (value or "").strip().lower()
    if not raw:
        return None
    if raw not in allowed:
        raise Invalid(message)
    return raw
