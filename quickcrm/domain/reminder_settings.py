"""A user's own reminder settings (Account → Reminders) and the one-click *Stop these
emails* link of each reminder email (RFC 8058).

The link carries a token signed with the app's secret key (itsdangerous, a salt of its
own): the user's id and the kind of email it stops. It is the only credential of the stop
route, which needs no sign-in — and all it can do is turn that one kind of email off for
that one user (docs/security.md, "Reminder emails' stop link")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Self

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.domain.team import SUNDAY
from quickcrm.models import User

STOP_SALT = "quickcrm.reminders.stop"
# What a stop link turns off, by the kind of email it came in.
STOPS = {"email": "reminder_email", "digest": "digest"}
ISO_DAYS = "1234567"
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::[0-5]\d(?:\.\d{1,6})?)?")


def week_days(week_start: int) -> list[int]:
    """The ISO weekdays (1 Monday … 7 Sunday) in the team's week order."""
    return [7, 1, 2, 3, 4, 5, 6] if week_start == SUNDAY else [1, 2, 3, 4, 5, 6, 7]


def time_of_day(raw: str | None) -> time:
    value = (raw or "").strip()
    match = _TIME.fullmatch(value)
    if match is None:
        raise v.Refused("Enter a time like 07:30.")
    return time(int(match.group(1)), int(match.group(2)))


def days(raw: str | None) -> str:
    """The chosen ISO weekdays, read from a comma-separated list ("1,2,3"), as stored."""
    chosen = {part.strip() for part in (raw or "").split(",") if part.strip()}
    if not chosen <= set(ISO_DAYS):
        raise v.Refused("Choose days of the week from the list.")
    return "".join(day for day in ISO_DAYS if day in chosen)


@dataclass
class ReminderForm(v.Form):
    """Account → Reminders: the morning list by email (on or off, at what time, on which
    days) and, for a coordinator or admin, Monday's digest."""

    FIELDS = ("reminder_email", "reminder_at", "days", "digest")

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> Self:
        """The form's fields; the day checkboxes (``day``, one value each) as one list."""
        getlist = getattr(data, "getlist", None)
        chosen = getlist("day") if getlist else [data.get("day") or ""]
        raw = {name: (data.get(name) or "").strip() for name in cls.FIELDS}
        raw["days"] = ",".join(str(day) for day in chosen)[:100]
        return cls(raw=raw)

    @classmethod
    def of(cls, user: User) -> Self:
        """The form as the user's settings stand (to show)."""
        return cls(
            raw={
                "reminder_email": "on" if user.reminder_email else "",
                "reminder_at": f"{user.reminder_at:%H:%M}",
                "days": ",".join(user.reminder_days),
                "digest": "on" if user.digest else "",
            }
        )

    @property
    def chosen_days(self) -> set[str]:
        return {day for day in self.raw.get("days", "").split(",") if day}

    def validate(self, session: Session | None, **_context) -> None:
        self.values["reminder_email"] = self.raw.get("reminder_email") == "on"
        self.values["digest"] = self.raw.get("digest") == "on"
        self.check("reminder_at", time_of_day)
        self.check("days", days)
        if self.values["reminder_email"] and self.values.get("days") == "":
            self.errors["days"] = "Choose at least one day, or turn the morning list off."


def save(session: Session, user: User, form: ReminderForm) -> None:
    """Keep a cleaned form's settings (flushed; the caller commits). The digest is kept
    only for a coordinator or an admin: a rep's is always off."""
    assert form.ok, "save needs a cleaned form without errors"
    user.reminder_email = form.values["reminder_email"]
    user.reminder_at = form.values["reminder_at"]
    user.reminder_days = form.values["days"] or user.reminder_days
    user.digest = bool(form.values["digest"]) and user.can("coordinator")
    session.flush()


# --- The stop link --------------------------------------------------------------------


def stop_token(secret_key: str, user: User, kind: str) -> str:
    """The token of ``user``'s link that stops the ``kind`` emails ("email", "digest").
    It does not expire: a link in last month's email still works."""
    if kind not in STOPS:
        raise ValueError(f"no stop link for {kind!r}")
    return URLSafeSerializer(secret_key, salt=STOP_SALT).dumps([user.id, kind])


@dataclass(frozen=True)
class Stop:
    user: User
    kind: str

    @property
    def on(self) -> bool:
        """Whether the emails this link stops are still on."""
        return bool(getattr(self.user, STOPS[self.kind]))


def read_stop_token(session: Session, secret_key: str, token: str) -> Stop | None:
    """The user and kind a stop token names, or None for one that is not ours (altered,
    signed with another key or salt, of a user who is gone)."""
    if not token or len(token) > 200:
        return None
    try:
        user_id, kind = URLSafeSerializer(secret_key, salt=STOP_SALT).loads(token)
    except (BadData, TypeError, ValueError):
        return None
    if kind not in STOPS or not isinstance(user_id, int) or not 0 < user_id <= v.ID_MAX:
        return None
    user = session.get(User, user_id)
    return Stop(user, kind) if user is not None else None


def stop(session: Session, found: Stop) -> None:
    """Turn off the emails ``found`` names, and nothing else (flushed; the caller commits)."""
    setattr(found.user, STOPS[found.kind], False)
    session.flush()
