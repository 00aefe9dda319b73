"""The one toolkit that reads input: what people type and what clients send.

Each check returns the cleaned value or raises ``Refused`` with a message for the person.
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
from typing import TYPE_CHECKING, ClassVar, Self
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Refused(Exception):
    """The one refusal: input or a request that cannot be accepted, for a reason the
    person can fix. ``errors`` maps each form field at fault to the message for the person,
    ``Refused({"name": "Enter the stage's name."})``; a check of this toolkit says its
    message alone, ``Refused("Enter a date.")`` (field ``""``), and the form or function
    that knows which field it read names it. A view shows each message next to its field;
    anything a view does not catch is answered once by quickcrm/web/errors.py.

    ``status`` is 422 unless the HTTP answer says more: 413 (a file too large), 429 (too
    many attempts, then ``retry_after`` seconds), 403 (the first-run page without its
    code). ``detail`` carries what a refusal knows beyond its messages (the import's
    mapping errors by column index)."""

    def __init__(
        self,
        errors: Mapping[str, str] | str,
        *,
        status: int = 422,
        retry_after: int | None = None,
        detail: object = None,
    ):
        errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.field = next(iter(errors), "")
        self.status = status
        self.retry_after = retry_after
        self.detail = detail


class Conflict(Exception):
    """The state changed under the request (409): the lead was converted or closed by
    someone else first, the import already started, the capture's key is another's. The
    message says what happened, for the person; handled like ``Refused``."""

    status = 409


@dataclass
class Form:
    """The base of every hand-made form: the ``raw`` values as typed, then the cleaned
    ``values`` or the ``errors`` by field name. A form names the inputs it reads
    (``FIELDS``) and its checks (``validate``); callers clean it with ``clean(session,
    raw, ...)``. Building one from ``raw`` directly is for showing it, never for input."""

    raw: dict[str, str]
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    FIELDS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> Self:
        """The form's fields from a request's form, trimmed."""
        return cls(raw={name: (data.get(name) or "").strip() for name in cls.FIELDS})

    @classmethod
    def clean(cls, session: Session | None, raw: Mapping[str, str], **context) -> Self:
        """The one way a form is cleaned: its ``FIELDS`` read from ``raw`` (a request's
        form, an API body, a command's options), then checked — ``ok``, and ``values`` or
        ``errors`` by field. ``context`` is what the checks need besides the input (today,
        the phone region, the company); ``session`` reads the records a select names
        (``None`` for a form that names none)."""
        form = cls.from_mapping(raw)
        form.validate(session, **context)
        return form

    def validate(self, session: Session | None, **context) -> None:
        """The form's checks, each filling ``values`` or ``errors`` (``check``,
        ``check_all``): what a subclass writes."""
        raise NotImplementedError

    def check_all(self, checks: Mapping[str, Callable[[str], object]]) -> None:
        """``check`` each input of ``checks`` with its check, in that order."""
        for name, check in checks.items():
            self.check(name, check)

    @property
    def ok(self) -> bool:
        return not self.errors

    def check(self, name: str, check: Callable[[str], object]) -> None:
        """Clean the input ``name`` with one of this toolkit's checks: its value, or the
        check's message as its error."""
        try:
            self.values[name] = check(self.raw.get(name, ""))
        except Refused as exc:
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
        raise Refused(message)
    number = int(sign + digits)
    if not low <= number <= high:
        raise Refused(message)
    return number


def percentage(value: str | None, message: str = "Enter a whole percentage from 0 to 100.") -> int:
    number = integer(value, low=0, high=100, message=message)
    if number is None:
        raise Refused(message)
    return number


def money(value: str | None, *, empty: Decimal | None = Decimal("0")) -> Decimal | None:
    """An amount of money from 0 to ``MONEY_MAX``, rounded to cents; thousands separators
    (commas, spaces) are allowed. ``empty`` is what an empty value means."""
    raw = re.sub(r"[,\s]", "", value or "")
    if not raw:
        return empty
    message = "Enter an amount like 12500 or 12500.50."
    if re.fullmatch(r"[-\u2212]\d*\.?\d*", raw) and raw[1:] not in ("", "."):
        raise Refused("Enter an amount of 0 or more: a value is never negative.")
    if len(raw) > 40 or not re.fullmatch(r"\d*\.?\d*", raw) or raw == ".":
        raise Refused(message)
    try:
        amount = Decimal(raw).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise Refused(message) from None
    if amount > MONEY_MAX:
        raise Refused("Enter an amount from 0 up to 999,999,999,999.99.")
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
        raise Refused(message)
    if not DATE_MIN <= when <= DATE_MAX:
        raise Refused(f"Enter a date between {DATE_MIN.year} and {DATE_MAX.year}.")
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
    except Refused:
        return None


def month(value: str | None) -> date | None:
    """A month typed as YYYY-MM, as its first day; ``None`` when empty."""
    raw = (value or "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}", raw):
        raise Refused("Enter a month like 2026-12.")
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
        raise Refused("Enter a web address like https://example.com.")
    return address


def text(value: str | None, *, max_length: int, required: str | None = None) -> str | None:
    """Trimmed text with runs of white space folded; ``None`` when empty.

    ``required`` is the message to show when the value is empty and must not be.
    """
    if value is not None and not storable(value):
        raise Refused(UNSTORABLE)
    cleaned = re.sub(r"[ \t]+", " ", (value or "").strip())
    if not cleaned:
        if required:
            raise Refused(required)
        return None
    if len(cleaned) > max_length:
        raise Refused(f"Keep it under {max_length} characters (this is {len(cleaned)}).")
    return cleaned


def long_text(value: str | None, *, max_length: int, message: str | None = None) -> str | None:
    """Text whose lines are kept as typed (a note); trimmed; ``None`` when empty."""
    if value is not None and not storable(value):
        raise Refused(UNSTORABLE)
    cleaned = (value or "").strip()
    if len(cleaned) > max_length:
        raise Refused(message or f"Keep it under {max_length} characters.")
    return cleaned or None


def email(value: str | None) -> str | None:
    raw = (value or "").strip()
    if not raw:
        return None
    if len(raw) > 254 or not storable(raw):
        raise Refused("Enter an email address like name@example.com.")
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Refused("Enter an email address like name@example.com.") from None


def phone(value: str | None, region: str | None) -> str | None:
    """A possible phone number, kept as typed (trimmed); local numbers use ``region``."""
    raw = re.sub(r"\s+", " ", (value or "").strip())
    if not raw:
        return None
    if len(raw) > 40 or not storable(raw):
        raise Refused("That is too long for a phone number.")
    parsed = _parsed_phone(raw, region)
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise Refused("Enter a phone number, with its country code if it is abroad (+44 …).")
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
        raise Refused("Pick a date from today up to two years ahead.")
    return when


def choice(value: str | None, allowed: tuple[str, ...], message: str) -> str | None:
    """One of ``allowed`` (case ignored); ``None`` when empty."""
    raw = (value or "").strip().lower()
    if not raw:
        return None
    if raw not in allowed:
        raise Refused(message)
    return raw
