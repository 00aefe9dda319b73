"""Capturing a lead: what a capture accepts, storing it once per phone-made UUID with its
next action, the rep's recent captures, undoing one."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import ClassVar

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.domain.attachments import Prepared, attach
from quickcrm.domain.categories import add_to_lead
from quickcrm.models import TEMPERATURES, Activity, Lead, User, utcnow

NAME_MAX = 200
NOTE_MAX = 5000
NEXT_ACTION_TEXT = "Follow up"
NEXT_ACTION_MAX = 200
ADDRESS_MAX = 1000  # as a company's address (quickcrm/domain/companies.py): it becomes one

# The fields a capture form posts, in the order they appear on the phone.
CAPTURE_FIELDS = (
    "name",
    "temperature",
    "next_action_on",
    "note",
    "company_name",
    "phone",
    "email",
    "source",
    # Behind More, after Source (issue 29): not sticky, cleared after each Save.
    "contact_name",
    "address",
    "potential_value",
)


@dataclass
class LeadForm(v.Form):
    """A lead as typed: ``LeadForm.clean(session, raw, today=, phone_region=)`` — the
    capture form, the web-to-lead API's body. Reads no records: ``session`` may be
    ``None``."""

    FIELDS: ClassVar[tuple[str, ...]] = CAPTURE_FIELDS

    def validate(self, session: Session | None, *, today: date, phone_region: str | None):
        checks = field_checks(today=today, phone_region=phone_region)
        self.check_all({name: checks[name] for name in self.FIELDS})


def field_checks(*, today: date, phone_region: str | None) -> dict[str, Callable]:
    """What each of a lead's inputs accepts, by its form name: one check, shared by the
    capture form and the lead page's one-field forms. Each returns the cleaned value or
    raises ``validation.Refused``."""
    return {
        "name": lambda s: v.text(
            s, max_length=NAME_MAX, required="Enter a name — a person or a business."
        ),
        "temperature": lambda s: v.choice(s, TEMPERATURES, "Choose cold, warm or hot."),
        "next_action_on": lambda s: v.next_action_date(s, today),
        "note": _note,
        "company_name": lambda s: v.text(s, max_length=200),
        "phone": lambda s: v.phone(s, phone_region),
        "email": v.email,
        "source": lambda s: v.text(s, max_length=120),
        "next_action_text": lambda s: v.text(s, max_length=NEXT_ACTION_MAX),
        # The optional fields of a business lead (issue 29): who to ask for, where, how big.
        "contact_name": lambda s: v.text(s, max_length=NAME_MAX),
        "address": _address,
        "potential_value": _potential_value,
    }


def _note(value: str | None) -> str | None:
    return v.long_text(
        value, max_length=NOTE_MAX, message=f"Keep the note under {NOTE_MAX} characters."
    )


def _address(value: str | None) -> str | None:
    return v.long_text(
        value, max_length=ADDRESS_MAX, message=f"Keep the address under {ADDRESS_MAX} characters."
    )


def _potential_value(value: str | None):
    """The size of the sale, read as the convert page's *Value* (``validation.money``);
    empty is no value, not 0: the forecast counts the leads that have one."""
    return v.money(value, empty=None)


def capture_lead(session: Session, owner: User, form: LeadForm, **details) -> Lead:
    """Save a cleaned capture as an open lead owned by ``owner``, with its next action.

    ``details`` are those of ``store_capture``; without a ``key`` the server makes one.
    """
    key = details.pop("key", None) or uuid.uuid4()
    return session.get(Lead, store_capture(session, owner, form, key, **details).lead_id)


@dataclass(frozen=True)
class CaptureOutcome:
    """What became of a capture: its lead (what the answer to the phone shows of it), and
    whether this call created it."""

    lead_id: int
    key: uuid.UUID
    name: str
    created: bool

    @classmethod
    def of(cls, lead: Lead, *, created: bool) -> CaptureOutcome:
        return cls(lead.id, lead.uuid, lead.name, created)


# The timeline's line of a lead whose fields a QR code gave (no column says so: the lead's
# ``from_card`` is for a card's text to check, and this needs no check).
FROM_QR = "Filled from the QR code — exact."

# The same key from another rep: their lead's details must not leak, so it says no more.
KEY_TAKEN = "This capture's UUID is already in use."


# A capture is two INSERTs in the lead and activity tables, without the ORM's unit of work,
# which cost more than the statements themselves (docs/speed.md, "Capture under load, against
# the floor"). The lead already carries its next action's date, so models' listener has no
# UPDATE to make (on PostgreSQL one rewrites every index of lead, five trigram ones among
# them): the task's INSERT is not a flush.
_LEAD = Lead.__table__
_NEW_LEAD = _LEAD.insert().returning(_LEAD.c.id)
_NEW_TASK = Activity.__table__.insert()


def store_capture(
    session: Session,
    owner: User,
    form: LeadForm,
    key: uuid.UUID,
    *,
    captured_at: datetime | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    attachments: Sequence[Prepared] = (),
    filled_from: str = "",
    categories: Sequence[int] = (),
) -> CaptureOutcome:
    """Save a capture exactly once per ``key`` (the phone-made UUID).

    The lead table's UNIQUE constraint on ``uuid`` decides, not a look-up first: a retry,
    a second tab or a reply lost after the commit all end with the one lead that was
    stored first, returned with ``created=False``. The same key from another user raises
    ``validation.Conflict``. ``attachments`` (a card photo, a voice note) are stored with the
    lead, in its transaction. ``filled_from`` "card" marks it "from a card — check"; "qr"
    (its fields from a QR code: exact) puts ``FROM_QR`` on its timeline instead.
    ``categories`` are ids of the team's categories (one no longer in the list is skipped).

    Flushed: the caller commits before it answers (the capture screen reads its recent
    captures in the same transaction first).
    """
    assert form.ok, "store_capture needs a cleaned form without errors"
    values = dict(form.values)
    due = values.pop("next_action_on")
    row = {
        "uuid": key,
        "owner_id": owner.id,
        "status": "open",
        "captured_at": captured_at or utcnow(),
        "latitude": latitude,
        "longitude": longitude,
        "from_card": filled_from == "card",
        "next_action_on": due,
        **values,
    }
    try:
        lead_id = session.execute(_NEW_LEAD, row).scalar_one()
        if due is not None:
            session.execute(_NEW_TASK, _next_action_row(lead_id, owner, due))
        if categories:
            add_to_lead(session, lead_id, categories)
        if filled_from == "qr":
            session.execute(_NEW_TASK, _note_row(lead_id, owner, FROM_QR))
        if attachments:
            lead = session.get(Lead, lead_id)
            for prepared in attachments:
                attach(lead, prepared, owner)
        session.flush()
    except IntegrityError:
        session.rollback()
        existing = session.scalars(select(Lead).where(Lead.uuid == key)).one_or_none()
        if existing is None:
            raise
        if existing.owner_id != owner.id:
            raise v.Conflict(KEY_TAKEN) from None
        return CaptureOutcome.of(existing, created=False)
    return CaptureOutcome(lead_id, key, row["name"], created=True)


def stored_capture(session: Session, owner: User, key: uuid.UUID) -> CaptureOutcome | None:
    """The capture already stored under ``key`` for ``owner`` (a resend), else ``None``:
    a resend is answered without reading its card photo again. Another user's key raises
    ``validation.Conflict``."""
    existing = session.scalars(select(Lead).where(Lead.uuid == key)).one_or_none()
    if existing is None:
        return None
    if existing.owner_id != owner.id:
        raise v.Conflict(KEY_TAKEN)
    return CaptureOutcome.of(existing, created=False)


def capture_key(value: str | None) -> uuid.UUID | None:
    """The UUID a phone made for a capture, or ``None`` when it is missing or malformed."""
    try:
        return uuid.UUID((value or "").strip())
    except ValueError:
        return None


# A phone's clock may be a little ahead; a capture older than this is a wrong clock.
CLOCK_SKEW = timedelta(minutes=10)
OLDEST_CAPTURE = timedelta(days=90)


def captured_time(value: str | None, *, now: datetime) -> datetime:
    """When the phone says the capture was made, if that is believable; else ``now``.

    A wrong phone clock never refuses a capture: a time in the future (beyond a little
    skew) or months ago is replaced by the server's time; a time just ahead is ``now``.
    """
    when = v.moment(value)
    if when is None or not now - OLDEST_CAPTURE <= when <= now + CLOCK_SKEW:
        return now
    return min(when, now)


def location(latitude: object, longitude: object) -> tuple[float, float] | tuple[None, None]:
    """A (latitude, longitude) pair on Earth, or (None, None) if either is unusable."""
    try:
        lat, lng = float(latitude), float(longitude)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None, None
    if not (math.isfinite(lat) and math.isfinite(lng)):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None, None
    return round(lat, 6), round(lng, 6)


def new_next_action(lead: Lead, author: User, due: date) -> Activity:
    return Activity(
        kind="task",
        text=NEXT_ACTION_TEXT,
        due_on=due,
        lead=lead,
        author=author,
        assignee_id=lead.owner_id if lead.owner_id is not None else author.id,
    )


def _note_row(lead_id: int, owner: User, text: str) -> dict:
    """A note on a new lead of ``owner``, as the values of its INSERT."""
    return {"kind": "note", "text": text, "lead_id": lead_id, "author_id": owner.id}


def _next_action_row(lead_id: int, owner: User, due: date) -> dict:
    """``new_next_action`` of a new lead of ``owner``, as the values of its INSERT."""
    return {
        "kind": "task",
        "text": NEXT_ACTION_TEXT,
        "due_on": due,
        "lead_id": lead_id,
        "author_id": owner.id,
        "assignee_id": owner.id,
    }


# What the capture screen's list shows of a recent capture: rows of the lead table, which
# cost a fraction of loading leads (docs/speed.md, "Capture under load, against the
# floor"); with the keys the phone's duplicate hints compare offline (static/js/hints.js).
_RECENT = select(
    _LEAD.c.id,
    _LEAD.c.name,
    _LEAD.c.temperature,
    _LEAD.c.company_name,
    _LEAD.c.next_action_on,
    _LEAD.c.created_at,
    _LEAD.c.name_key,
    _LEAD.c.email_key,
    _LEAD.c.phone_tail,
).order_by(_LEAD.c.created_at.desc(), _LEAD.c.id.desc())


def recent_captures(session: Session, owner: User, limit: int = 10) -> list[Row]:
    """The owner's own latest captures, newest first: the id, name, temperature, company
    name, next action date and creation time of each, and its matching keys."""
    return list(session.execute(_RECENT.where(_LEAD.c.owner_id == owner.id).limit(limit)))


def undo_refusal(
    lead: Lead, user: User, *, window: timedelta, now: datetime | None = None
) -> str | None:
    """Why ``user`` may not undo the capture of ``lead`` now, or ``None`` if they may."""
    now = now or utcnow()
    if lead.owner_id != user.id:
        return "Only the rep who captured a lead can undo it."
    if lead.status != "open":
        return "This lead has already been worked on; it can no longer be undone."
    if now - lead.created_at > window:
        minutes = int(window.total_seconds() // 60)
        return f"Undo is only possible for {minutes} minutes after saving."
    return None


def undo_capture(
    session: Session, lead: Lead, user: User, *, window: timedelta, now: datetime | None = None
) -> None:
    """Delete a capture its capturer has just made, within ``window`` of saving it
    (flushed: the caller commits)."""
    refusal = undo_refusal(lead, user, window=window, now=now)
    if refusal:
        raise v.Conflict(refusal)
    session.delete(lead)
    session.flush()
