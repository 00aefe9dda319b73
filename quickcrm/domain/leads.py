"""Capturing leads: what a capture accepts, saving it with its next action, undoing it."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.domain.attachments import Prepared, attach
from quickcrm.models import (
    LEAD_STATUSES,
    TEMPERATURES,
    Activity,
    Company,
    Contact,
    Lead,
    Opportunity,
    User,
    utcnow,
)

NAME_MAX = 200
NOTE_MAX = 5000
NEXT_ACTION_TEXT = "Follow up"
NEXT_ACTION_MAX = 200

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
)


@dataclass
class LeadForm:
    """A lead as typed: the raw values, and after ``clean`` the values or the errors."""

    raw: dict[str, str]
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> LeadForm:
        return cls(raw={name: (data.get(name) or "") for name in CAPTURE_FIELDS})

    @property
    def ok(self) -> bool:
        return not self.errors

    def clean(self, *, today: date, phone_region: str | None) -> LeadForm:
        checks = field_checks(today=today, phone_region=phone_region)
        for name in CAPTURE_FIELDS:
            try:
                self.values[name] = checks[name](self.raw[name])
            except v.Invalid as exc:
                self.errors[name] = str(exc)
        return self


def field_checks(*, today: date, phone_region: str | None) -> dict[str, Callable]:
    """What each of a lead's inputs accepts, by its form name: one check, shared by the
    capture form and the lead page's one-field forms. Each returns the cleaned value or
    raises ``Invalid``."""
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
    }


def _note(value: str | None) -> str | None:
    return v.long_text(
        value, max_length=NOTE_MAX, message=f"Keep the note under {NOTE_MAX} characters."
    )


def capture_lead(session: Session, owner: User, form: LeadForm, **details) -> Lead:
    """Save a cleaned capture as an open lead owned by ``owner``, with its next action.

    ``details`` are those of ``store_capture``; without a ``key`` the server makes one.
    """
    key = details.pop("key", None) or uuid.uuid4()
    return store_capture(session, owner, form, key, **details).lead


@dataclass(frozen=True)
class Stored:
    """What became of a capture: its lead, and whether this call created it."""

    lead: Lead
    created: bool


class CaptureConflict(Exception):
    """The capture's key is already another user's lead (whose details must not leak)."""


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
    from_card: bool = False,
) -> Stored:
    """Save a capture exactly once per ``key`` (the phone-made UUID).

    The lead table's UNIQUE constraint on ``uuid`` decides, not a look-up first: a retry,
    a second tab or a reply lost after the commit all end with the one lead that was
    stored first, returned with ``created=False``. The same key from another user raises
    ``CaptureConflict``. ``attachments`` (a card photo, a voice note) are stored with the
    lead, in its transaction; ``from_card`` marks it "from a card — check".
    """
    assert form.ok, "store_capture needs a cleaned form without errors"
    values = dict(form.values)
    due = values.pop("next_action_on")
    lead = Lead(
        uuid=key,
        owner=owner,
        status="open",
        captured_at=captured_at or utcnow(),
        latitude=latitude,
        longitude=longitude,
        from_card=from_card,
        **values,
    )
    session.add(lead)
    for prepared in attachments:
        attach(lead, prepared, owner)
    if due is not None:
        session.add(_next_action(lead, owner, due))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.scalars(select(Lead).where(Lead.uuid == key)).one_or_none()
        if existing is None:
            raise
        if existing.owner_id != owner.id:
            raise CaptureConflict("This capture's key belongs to someone else.") from None
        return Stored(existing, created=False)
    return Stored(lead, created=True)


def stored_capture(session: Session, owner: User, key: uuid.UUID) -> Stored | None:
    """The capture already stored under ``key`` for ``owner`` (a resend), else ``None``:
    a resend is answered without reading its card photo again. Another user's key raises
    ``CaptureConflict``."""
    existing = session.scalars(select(Lead).where(Lead.uuid == key)).one_or_none()
    if existing is None:
        return None
    if existing.owner_id != owner.id:
        raise CaptureConflict("This capture's key belongs to someone else.")
    return Stored(existing, created=False)


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


def _next_action(lead: Lead, author: User, due: date) -> Activity:
    return Activity(
        kind="task",
        text=NEXT_ACTION_TEXT,
        due_on=due,
        lead=lead,
        author=author,
        assignee_id=lead.owner_id if lead.owner_id is not None else author.id,
    )


def next_action(session: Session, lead: Lead) -> Activity | None:
    """The lead's next action: its earliest open task with a due date."""
    return session.scalars(
        select(Activity)
        .where(Activity.lead_id == lead.id, Activity.done.is_(False), Activity.due_on.is_not(None))
        .order_by(Activity.due_on, Activity.id)
        .limit(1)
    ).first()


# The lead page's fields, edited one at a time, in the page's order: name → label.
LEAD_FIELDS = {
    "name": "Name",
    "temperature": "Temperature",
    "company_name": "Company",
    "phone": "Phone",
    "email": "Email",
    "source": "Source",
    "note": "Note",
    "next_action": "Next action",
}
# Each field posts the input of its own name, except the next action: its text and date.
FIELD_INPUTS = {"next_action": ("next_action_text", "next_action_on")}


class FieldInvalid(v.Invalid):
    """What is wrong with the inputs of one of a lead's fields, by input name."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def edit_refusal(lead: Lead) -> str | None:
    """Why ``lead`` can no longer be edited or added to, or ``None`` if it can.

    A converted lead is history: what happens next belongs to the company and contact it
    became. A disqualified lead may be reopened, so it stays editable.
    """
    if lead.status == "converted":
        return (
            f"{lead.name} has been converted: it is kept as it was. "
            "Edit the contact and company it became instead."
        )
    return None


def field_values(session: Session, lead: Lead) -> dict[str, str]:
    """The lead's fields as its page's forms show them, by input name."""
    values = {name: getattr(lead, name) or "" for name in LEAD_FIELDS if name != "next_action"}
    action = next_action(session, lead)
    values["next_action_text"] = action.text if action else ""
    values["next_action_on"] = action.due_on.isoformat() if action else ""
    return values


def update_field(
    session: Session,
    lead: Lead,
    editor: User,
    name: str,
    data: Mapping[str, str],
    *,
    today: date,
    phone_region: str | None,
) -> Lead:
    """Check and save one of ``LEAD_FIELDS`` alone, from the posted inputs ``data``.

    Raises ``FieldInvalid`` for bad input and ``NotOpen`` for a lead that can no longer be
    edited; either way nothing is written.
    """
    if name not in LEAD_FIELDS:
        raise KeyError(name)
    refusal = edit_refusal(lead)
    if refusal:
        raise NotOpen(refusal)
    checks = field_checks(today=today, phone_region=phone_region)
    current = next_action(session, lead) if name == "next_action" else None
    if current is not None:
        check_date = checks["next_action_on"]

        def next_action_on(raw: str | None) -> date | None:
            # An overdue next action whose text alone changes may keep its date.
            kept = current.due_on
            return kept if (raw or "").strip() == kept.isoformat() else check_date(raw)

        checks["next_action_on"] = next_action_on
    values, errors = {}, {}
    for input_name in FIELD_INPUTS.get(name, (name,)):
        try:
            values[input_name] = checks[input_name](data.get(input_name))
        except v.Invalid as exc:
            errors[input_name] = str(exc)
    if errors:
        raise FieldInvalid(errors)
    if name == "next_action":
        text, due = values["next_action_text"], values["next_action_on"]
        if due is None and current is None and text:
            raise FieldInvalid({"next_action_on": "Pick a date for the next action."})
        _set_next_action(session, lead, editor, current, text, due)
    else:
        setattr(lead, name, values[name])
    session.commit()
    return lead


def _set_next_action(
    session: Session,
    lead: Lead,
    editor: User,
    current: Activity | None,
    text: str | None,
    due: date | None,
) -> None:
    """Make ``current`` (the lead's open next action, if any) say ``text`` on ``due``, or
    make one for the lead's owner; no date removes it. Not committed."""
    if due is None:
        if current is not None:
            session.delete(current)
        return
    if current is None:
        current = _next_action(lead, editor, due)
        session.add(current)
    current.text = text or NEXT_ACTION_TEXT
    current.due_on = due


def recent_captures(session: Session, owner: User, limit: int = 10) -> list[Lead]:
    """The owner's own latest captures, newest first."""
    return list(
        session.scalars(
            select(Lead)
            .where(Lead.owner_id == owner.id)
            .order_by(Lead.created_at.desc(), Lead.id.desc())
            .limit(limit)
        )
    )


class UndoRefused(Exception):
    """The capture cannot be undone; the message says why, for the rep."""


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
    """Delete a capture its capturer has just made, within ``window`` of saving it."""
    refusal = undo_refusal(lead, user, window=window, now=now)
    if refusal:
        raise UndoRefused(refusal)
    session.delete(lead)
    session.commit()


# --- The coordinator's desk -------------------------------------------------------------

DISQUALIFY_REASONS = ("no budget", "no fit", "duplicate", "no response", "other")


class NotOpen(Exception):
    """The lead is not in the state the action needs; the message says why."""


def disqualify(session: Session, lead: Lead, reason: str | None) -> Lead:
    """Close an open lead with one of ``DISQUALIFY_REASONS``."""
    if reason not in DISQUALIFY_REASONS:
        raise v.Invalid("Choose a reason.")
    return _move(
        session,
        lead,
        "open",
        "{name} is {status}, not open.",
        status="disqualified",
        disqualified_reason=reason,
    )


def reopen(session: Session, lead: Lead) -> Lead:
    """Make a disqualified lead open again (a converted lead stays converted)."""
    return _move(
        session,
        lead,
        "disqualified",
        "{name} is {status}; only a disqualified lead can be reopened.",
        status="open",
        disqualified_reason=None,
    )


def _move(session: Session, lead: Lead, from_status: str, refusal: str, **values) -> Lead:
    """Change ``lead`` only if it is still ``from_status``, in one conditional UPDATE, so two
    people acting at once cannot both succeed; ``refusal`` says why it could not."""
    claimed = session.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.status == from_status)
        .values(**values, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.rollback()
        session.refresh(lead)
        raise NotOpen(refusal.format(name=lead.name, status=lead.status))
    session.commit()
    session.refresh(lead)
    return lead


SNOOZE = timedelta(days=7)


def snooze(session: Session, lead: Lead, editor: User, *, today: date) -> Activity:
    """Push the lead's next action a week on (from today if it is overdue or missing)."""
    action = next_action(session, lead)
    if action is None:
        action = _next_action(lead, editor, today + SNOOZE)
        session.add(action)
    else:
        action.due_on = max(action.due_on, today) + SNOOZE
    session.commit()
    return action


def timeline(session: Session, lead: Lead) -> list[Activity]:
    """The lead's activities, newest first."""
    return list(
        session.scalars(
            select(Activity)
            .where(Activity.lead_id == lead.id)
            .order_by(Activity.created_at.desc(), Activity.id.desc())
        )
    )


# Sorts of the list: (column, descending) with the id as the tie-breaker. Leads without a
# next action come after those with one.
SORTS = {
    "captured": (Lead.captured_at, True),
    "next": (Lead.next_action_on, False),
    "name": (Lead.name, False),
}
DUE_FILTERS = ("overdue", "today", "week", "none")
PAGE_SIZE = 50
COUNT_CAP = 1000


@dataclass
class LeadQuery:
    """What the leads list shows: the filters of the URL, cleaned."""

    q: str = ""
    status: str = ""
    temperature: str = ""
    owner_id: int | None = None
    source: str = ""
    captured_from: date | None = None
    captured_to: date | None = None
    due: str = ""
    sort: str = "captured"

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> LeadQuery:
        def day(name: str) -> date | None:
            try:
                return v.day(data.get(name))
            except v.Invalid:
                return None

        status = data.get("status", "open").strip()
        return cls(
            q=data.get("q", "").strip()[:200],
            status=status if status in LEAD_STATUSES else "",
            temperature=data.get("temperature", "")
            if data.get("temperature") in TEMPERATURES
            else "",
            owner_id=v.record_id(data.get("owner")),
            source=data.get("source", "").strip()[:120],
            captured_from=day("from"),
            captured_to=day("to"),
            due=data.get("due", "") if data.get("due") in DUE_FILTERS else "",
            sort=data.get("sort", "") if data.get("sort") in SORTS else "captured",
        )

    def params(self) -> dict[str, str]:
        """The query as URL parameters (empty ones left out), for links that keep it."""
        raw = {
            "q": self.q,
            "status": self.status or "all",
            "temperature": self.temperature,
            "owner": str(self.owner_id or ""),
            "source": self.source,
            "from": self.captured_from.isoformat() if self.captured_from else "",
            "to": self.captured_to.isoformat() if self.captured_to else "",
            "due": self.due,
            "sort": "" if self.sort == "captured" else self.sort,
        }
        return {key: value for key, value in raw.items() if value}


def _filtered(
    query: LeadQuery, viewer: User, today: date, search: ColumnElement[bool] | None = None
) -> Select:
    stmt = select(Lead)
    if not viewer.can("coordinator"):
        stmt = stmt.where(Lead.owner_id == viewer.id)
    elif query.owner_id:
        stmt = stmt.where(Lead.owner_id == query.owner_id)
    if query.status:
        stmt = stmt.where(Lead.status == query.status)
    if query.temperature:
        stmt = stmt.where(Lead.temperature == query.temperature)
    if query.source:
        stmt = stmt.where(Lead.source == query.source)
    if query.captured_from:
        stmt = stmt.where(Lead.captured_at >= _midnight(query.captured_from))
    if query.captured_to:
        stmt = stmt.where(Lead.captured_at < _midnight(query.captured_to + timedelta(days=1)))
    if search is not None:
        stmt = stmt.where(search)
    if query.due == "none":
        stmt = stmt.where(Lead.next_action_on.is_(None))
    elif query.due:
        low, high = {
            "overdue": (None, today),
            "today": (today, today + timedelta(days=1)),
            "week": (today, today + timedelta(days=7)),
        }[query.due]
        if low is not None:
            stmt = stmt.where(Lead.next_action_on >= low)
        stmt = stmt.where(Lead.next_action_on < high)
    return stmt


# The columns the search box looks in.
SEARCHED = (Lead.name, Lead.company_name, Lead.email, Lead.phone, Lead.note)
# The most leads a search may find through its index (revision 0005_lead_search) to be
# listed from what the index found; a more common text reads the list in its own order,
# where a page of it fills after a few rows. Measured among bench/leads.py's 100,000 leads:
# on SQLite, collecting and sorting 5,000 matches cost about what reading did (~20 ms); on
# PostgreSQL, asking the index for up to 1,000 costs under 10 ms for any text, while its
# planner, left to guess how rare a text is, could guess common and read every lead (300 ms).
# The word-prefix index of revision 0012_word_prefix_search is asked the same way.
SEARCH_INDEX_MAX = {"sqlite": 5_000, "postgresql": 1_000}


def search_condition(session: Session, typed: str) -> ColumnElement[bool] | None:
    """The leads whose name, company name, email, phone or note contain ``typed``, ignoring
    case; ``%``, ``_`` and quotes are literal. ``None`` when there is nothing to search.

    One or two letters or digits are too short for a trigram: they find the leads with a
    *word* that starts with them (a word is a run of letters and digits), looked up in the
    word-prefix index. One or two characters with anything else in them (``@``, ``%``)
    are looked for anywhere, reading the leads.

    A text of three characters or more is looked up in the trigram index first: when it is
    rare, the condition is "one of the leads the index found"."""
    typed = typed.replace("\x00", "")  # no text holds NUL (PostgreSQL refuses it)
    if not typed:
        return None
    dialect = session.get_bind().dialect.name
    pattern = "%" + typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if dialect == "sqlite":
        # SQLite's LIKE already ignores ASCII case (as its lower() does) and skips the five
        # lower() calls per row that ILIKE compiles to.
        contains = or_(*(c.like(pattern, escape="\\") for c in SEARCHED))
    else:
        contains = or_(*(c.ilike(pattern, escape="\\") for c in SEARCHED))
    if len(typed) < 3:
        if typed.isalnum():
            return _word_starts(session, dialect, typed, contains)
        return contains  # punctuation is no word: read the leads
    most = SEARCH_INDEX_MAX[dialect]
    if dialect == "sqlite":
        # One FTS5 string: operators, quotes and asterisks typed in it are plain characters.
        phrase = '"' + typed.replace('"', '""') + '"'
        found = (
            select(literal_column("rowid"))
            .select_from(table("lead_search"))
            .where(literal_column("lead_search").match(phrase))
        )
        counted = select(func.count()).select_from(found.limit(most + 1).subquery())
        if session.scalar(counted) > most:
            return contains
        # FTS5 also ignores the case of non-ASCII letters: the LIKE conditions decide.
        return and_(Lead.id.in_(found), contains)
    # PostgreSQL reads its trigram indexes for a rare text; a common one stops early.
    return _found_or(session, contains, most)


def _found_or(session: Session, condition: ColumnElement[bool], most: int) -> ColumnElement[bool]:
    """PostgreSQL: "one of the leads meeting ``condition``" when there are ``most`` or fewer
    (asked of an index, once), else ``condition`` itself, checked on the leads read in the
    list's order (a page of a common text fills after a few)."""
    ids = list(session.scalars(select(Lead.id).where(condition).limit(most + 1)))
    if len(ids) > most:
        return condition
    return Lead.id == any_(bindparam("found_ids", ids, type_=ARRAY(Integer)))


# Around a word (revision 0012's tokenizers): an ASCII character other than a letter or a
# digit always separates words; a non-ASCII one may (a dash) or may not (a letter).
_ASCII_SEPARATOR = "[^0-9A-Za-z\u0080-\U0010ffff]"
_NON_ASCII = "[\u0080-\U0010ffff]"


def _word_starts(
    session: Session, dialect: str, typed: str, contains: ColumnElement[bool]
) -> ColumnElement[bool]:
    """The leads with a word starting with ``typed`` (one or two letters or digits).

    A rare ``typed`` is looked up in the word-prefix index of revision
    0012_word_prefix_search. A common one is checked on each lead read in the list's order
    (a page of it fills after a few), by a pattern on the searched text that the index
    would agree with: cheaper per lead than asking the index."""
    most = SEARCH_INDEX_MAX[dialect]
    if dialect == "sqlite":
        words = table("lead_words")
        match = literal_column("lead_words").match(f'"{typed}"*')  # letters and digits only
        found = select(literal_column("rowid")).select_from(words).where(match)
        counted = select(func.count()).select_from(found.limit(most + 1).subquery())
        if session.scalar(counted) <= most:
            # The index folds the case of every letter; LIKE ignores ASCII case only, as
            # the longer searches do on SQLite.
            return and_(Lead.id.in_(found), contains)
        # A word starts where a column does or after an ASCII character other than a
        # letter or digit; GLOB is told to ignore the case of ASCII letters, as LIKE does.
        # Where a non-ASCII character comes before ``typed``, only the index knows whether
        # it ends a word: it is asked for that lead alone.
        start = "".join(f"[{c.lower()}{c.upper()}]" if c.isascii() else c for c in typed)
        in_index = found.where(literal_column("rowid") == Lead.id).exists()
        return and_(
            contains,
            or_(
                *(c.op("GLOB")(f"{start}*") for c in SEARCHED),
                *(c.op("GLOB")(f"*{_ASCII_SEPARATOR}{start}*") for c in SEARCHED),
                and_(or_(*(c.op("GLOB")(f"*{_NON_ASCII}{start}*") for c in SEARCHED)), in_index),
            ),
        )
    # The planner's estimate (from ANALYZE's statistics of the index) first: the index
    # finds a very common prefix's every lead before the first is read (130 ms for every
    # one of 100,000 leads), which costs more than checking the leads a page reads. The
    # estimate of a prefix the statistics do not list is a fraction of the table, so only
    # one far above ``most`` skips the probe.
    plan = session.execute(_ESTIMATE_WORD_STARTS, {"typed": typed}).scalar_one()
    if plan[0]["Plan"]["Plan Rows"] <= _VERY_COMMON * most:
        starts = func.lead_word_starts(*SEARCHED, type_=postgresql.ARRAY(Text))
        wanted = postgresql.array([func.lower(typed)])
        ids = list(session.scalars(select(Lead.id).where(starts.contains(wanted)).limit(most + 1)))
        if len(ids) <= most:
            return Lead.id == any_(bindparam("found_ids", ids, type_=ARRAY(Integer)))
    # The same words as lead_word_starts(): runs of [[:alnum:]], lower-cased. ILIKE first
    # passes over most leads for less.
    # The text is written into the statement: a plan made for any text (psycopg prepares
    # a statement run five times) guessed wrong, reading every lead (200 ms, not 20).
    text_of = func.lower(func.concat_ws(" ", *SEARCHED))
    wanted = func.lower(bindparam("word_start", typed, literal_execute=True))
    return and_(contains, text_of.op("~")(func.concat("(^|[^[:alnum:]])", wanted)))


_VERY_COMMON = 20


_ESTIMATE_WORD_STARTS = text(
    "EXPLAIN (FORMAT JSON) SELECT id FROM lead"
    " WHERE lead_word_starts(name, company_name, email, phone, note) @> ARRAY[lower(:typed)]"
)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass
class LeadPage:
    leads: list[Lead]
    next_after: str | None
    total: int
    more: bool = False  # True when there are more than ``total`` (the count was capped)


def list_leads(
    session: Session, query: LeadQuery, viewer: User, *, today: date, after: str | None = None
) -> LeadPage:
    """One page of the filtered, sorted leads, continuing after the cursor ``after`` (keyset
    paging: the sort value and id of the last lead shown, never an OFFSET)."""
    filtered = _filtered(query, viewer, today, search_condition(session, query.q))
    cursor = _decode_cursor(after, query.sort)
    if query.sort == "next":
        rows = _next_action_page(session, filtered, cursor)
    else:
        column, descending = SORTS[query.sort]
        stmt = filtered
        if cursor is not None:
            key, last = tuple_(column, Lead.id), tuple_(*cursor)
            stmt = stmt.where(key < last if descending else key > last)
        rows = list(session.scalars(stmt.order_by(*_order(query.sort)).limit(PAGE_SIZE + 1)))
    next_after = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_after = _cursor(rows[-1], query.sort)
    # Counting stops past COUNT_CAP: "more than 1,000" is as useful as the exact figure and
    # costs the same at any table size.
    capped = filtered.with_only_columns(Lead.id).limit(COUNT_CAP + 1)
    total = session.scalar(select(func.count()).select_from(capped.subquery())) or 0
    return LeadPage(rows, next_after, min(total, COUNT_CAP), more=total > COUNT_CAP)


def _order(sort: str) -> tuple:
    """ORDER BY of the list sorted by ``sort``: its column, then the id; leads without a
    next action after those with one."""
    column, descending = SORTS[sort]
    order = (column.desc(), Lead.id.desc()) if descending else (column, Lead.id)
    return (Lead.next_action_on.is_(None), *order) if sort == "next" else order


def _next_action_page(session: Session, stmt: Select, cursor) -> list[Lead]:
    """A page in next-action order: leads with a date (soonest first), then those without.

    Each part is read on its own, so both pages through an index on (date, id) the same way
    on SQLite and PostgreSQL, which disagree on where NULLs sort."""
    rows: list[Lead] = []
    dated = Lead.next_action_on.is_not(None)
    if cursor is None or cursor[0] is not None:
        part = stmt.where(dated)
        if cursor is not None:
            part = part.where(tuple_(Lead.next_action_on, Lead.id) > tuple_(*cursor))
        order = (Lead.next_action_on, Lead.id)
        rows = list(session.scalars(part.order_by(*order).limit(PAGE_SIZE + 1)))
    if len(rows) <= PAGE_SIZE:
        part = stmt.where(~dated)
        if cursor is not None and cursor[0] is None:
            part = part.where(Lead.id > cursor[1])
        rows += session.scalars(part.order_by(Lead.id).limit(PAGE_SIZE + 1 - len(rows)))
    return rows


def _cursor(last: Lead, sort: str) -> str:
    """The cursor after ``last``: its id and its value of the sort column."""
    value = getattr(last, SORTS[sort][0].key)
    if value is None:
        return f"{last.id}:"
    return f"{last.id}:{value if sort == 'name' else value.isoformat()}"


def _decode_cursor(after: str | None, sort: str):
    """The (sort value, id) of a cursor, or ``None`` when it is missing or malformed."""
    if not after or ":" not in after:
        return None
    raw_id, _, key = after.partition(":")
    last_id = v.record_id(raw_id)
    if last_id is None:
        return None
    if sort == "name":
        return (key, last_id) if v.storable(key) else None
    if sort == "next" and key == "":
        return None, last_id
    if sort == "captured":
        when = v.moment(key)
        return (when, last_id) if when is not None else None
    try:
        return v.day(key), last_id
    except v.Invalid:
        return None


def lead_ids(session: Session, query: LeadQuery, viewer: User, *, today: date) -> list[int]:
    """The ids of every lead of the filtered list, in its order: review mode's steps."""
    search = search_condition(session, query.q)
    stmt = _filtered(query, viewer, today, search).with_only_columns(Lead.id)
    return list(session.scalars(stmt.order_by(*_order(query.sort)).limit(5000)))


# The distinct sources, one index probe each ("loose index scan"): SELECT DISTINCT would
# read the whole lead table on PostgreSQL, which has no skip scan.
_DISTINCT_SOURCES = text(
    """
    WITH RECURSIVE s(source) AS (
        SELECT MIN(source) FROM lead
        UNION ALL
        SELECT (SELECT MIN(source) FROM lead WHERE lead.source > s.source)
        FROM s WHERE s.source IS NOT NULL
    )
    SELECT source FROM s WHERE source IS NOT NULL LIMIT :limit
    """
)


def sources(session: Session, limit: int = 200) -> list[str]:
    """The sources leads were captured from, in alphabetical order: the source filter's."""
    return list(session.scalars(_DISTINCT_SOURCES, {"limit": limit}))


def conversion_of(session: Session, lead: Lead) -> dict | None:
    """What a converted lead became: its company, contact and opportunity."""
    if lead.status != "converted" or lead.company_id is None:
        return None
    return {
        "company": session.get(Company, lead.company_id),
        "contact": session.get(Contact, lead.contact_id) if lead.contact_id else None,
        "opportunity": session.get(Opportunity, lead.opportunity_id)
        if lead.opportunity_id
        else None,
    }
