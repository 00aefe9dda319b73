"""Checks of what people type, each returning the cleaned value or raising ``Invalid``."""

from __future__ import annotations

import re
from datetime import date, timedelta

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class Invalid(ValueError):
    """A value a person typed that cannot be accepted; the message is for them."""


def text(value: str | None, *, max_length: int, required: str | None = None) -> str | None:
    """Trimmed text with runs of white space folded; ``None`` when empty.

    ``required`` is the message to show when the value is empty and must not be.
    """
    cleaned = re.sub(r"[ \t]+", " ", (value or "").strip())
    if not cleaned:
        if required:
            raise Invalid(required)
        return None
    if len(cleaned) > max_length:
        raise Invalid(f"Keep it under {max_length} characters (this is {len(cleaned)}).")
    return cleaned


def email(value: str | None) -> str | None:
    raw = (value or "").strip()
    if not raw:
        return None
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Invalid("Enter an email address like name@example.com.") from None


def phone(value: str | None, region: str | None) -> str | None:
    """A possible phone number, kept as typed (trimmed); local numbers use ``region``."""
    raw = re.sub(r"\s+", " ", (value or "").strip())
    if not raw:
        return None
    if len(raw) > 40:
        raise Invalid("That is too long for a phone number.")
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise Invalid("Enter a phone number, with its country code if it is abroad (+44 …).")
    return raw


def phone_key(value: str | None, region: str | None) -> str | None:
    """The E.164 form of a phone number, for matching; ``None`` if it cannot be parsed."""
    if not value:
        return None
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


NEXT_ACTION_HORIZON = timedelta(days=2 * 366)


def next_action_date(value: str | None, today: date) -> date | None:
    """An ISO date from yesterday (phones may be a time zone behind) up to two years ahead."""
    raw = (value or "").strip()
    if not raw:
        return None
    try:
        when = date.fromisoformat(raw)
    except ValueError:
        raise Invalid("Enter a date like 2026-11-24.") from None
    if not today - timedelta(days=1) <= when <= today + NEXT_ACTION_HORIZON:
        raise Invalid("Pick a date from today up to two years ahead.")
    return when


def choice(value: str | None, allowed: tuple[str, ...], message: str) -> str | None:
    raw = (value or "").strip().lower()
    if not raw:
        return None
    if raw not in allowed:
        raise Invalid(message)
    return raw
