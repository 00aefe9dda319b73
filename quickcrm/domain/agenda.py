"""The agenda: a user's open activities by when they are due; completing (with the next
occurrence of a repeating task), snoozing, and the iCal feed's secret."""

from __future__ import annotations

import calendar
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select, tuple_, type_coerce
from sqlalchemy.orm import Session, selectinload

from quickcrm.domain import offline
from quickcrm.domain import validation as v
from quickcrm.models import Activity, Contact, Opportunity, User, UTCDateTime, utcnow

# "This week" is the seven days after today.
WEEK_AHEAD = 7
SNOOZE_DAYS = {"day": 1, "week": 7}
OUTCOME_MAX = 5000
# A card shows one line of the lead's note and of its last activity, cut at this length.
LINE_MAX = 120


def add_interval(when: date, every: int, unit: str) -> date:
    """``when`` moved ``every`` days, weeks or months ahead; a month step that lands past
    the end of a shorter month stops on its last day (31 Jan + 1 month = 28/29 Feb)."""
    if every < 1:
        raise ValueError("every must be at least 1")
    if unit == "day":
        return when + timedelta(days=every)
    if unit == "week":
        return when + timedelta(weeks=every)
    if unit == "month":
        months = when.year * 12 + (when.month - 1) + every
        year, month = divmod(months, 12)
        last = calendar.monthrange(year, month + 1)[1]
        return date(year, month + 1, min(when.day, last))
    raise ValueError(f"unknown repeat unit {unit!r}")


# Each section shows this many, then "N more" loads the next ones after the last shown.
SECTION_LIMIT = 30
SECTIONS = ("overdue", "today", "week")


def first_line(text: str | None, limit: int = LINE_MAX) -> str | None:
    """The first line of ``text`` that says something, cut to ``limit`` characters with
    an ellipsis; ``None`` when there is none."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return None


@dataclass(frozen=True)
class LastActivity:
    """What last happened on a lead: a note, call, email, meeting or task that was logged
    or done (not one still to do), when (UTC) and the first line of its text."""

    kind: str
    at: datetime
    text: str | None


@dataclass
class AgendaItem:
    activity: Activity
    who: str
    phone: str | None
    email: str | None
    link: tuple[str, dict] | None  # (endpoint, values) of the page it is about
    company: str | None = None
    temperature: str | None = None
    # The first line of the lead's note.
    note: str | None = None
    # What last happened on the lead (``agenda`` fills it, for a page's items at once).
    last: LastActivity | None = None

    @property
    def label(self) -> str:
        return f"{self.who} ({self.company})" if self.company else self.who


def position(activity: Activity) -> str:
    """Where an item stands in its section's order (due date, then id), as a section's
    ``after`` takes it back: "2026-11-30.1234"."""
    return f"{activity.due_on.isoformat()}.{activity.id}"


def read_position(raw: str | None) -> tuple[date, int] | None:
    """The (due date, id) of a ``position``, or ``None`` when ``raw`` is not one."""
    found = v.day_and_id(raw)
    return found if found is not None and found[0] is not None else None


@dataclass
class Section:
    key: str
    items: list[AgendaItem]
    total: int
    # How many come after these items (in this section).
    more: int = 0
    # The position the items start after (a later page), or ``None`` (the first).
    after: tuple[date, int] | None = None
    limit: int = SECTION_LIMIT

    @property
    def next(self) -> str | None:
        """The ``position`` the next items start after, when there are more."""
        return position(self.items[-1].activity) if self.more and self.items else None

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


@dataclass
class Agenda:
    overdue: Section
    today: Section
    this_week: Section

    @property
    def empty(self) -> bool:
        return not (self.overdue.total or self.today.total or self.this_week.total)

    @property
    def sections(self) -> list[Section]:
        return [self.overdue, self.today, self.this_week]


def _subject(activity: Activity) -> AgendaItem:
    """Who the activity is about, with the phone and email to reach them."""
    if activity.lead is not None:
        lead = activity.lead
        return AgendaItem(
            activity,
            lead.name,
            lead.phone,
            lead.email,
            ("leads.detail", {"lead_id": lead.id}),
            company=lead.company_name or None,
            temperature=lead.temperature,
            note=first_line(lead.note),
        )
    if activity.contact is not None:
        contact = activity.contact
        company = contact.company or activity.company
        return AgendaItem(
            activity,
            contact.name,
            contact.phone,
            contact.email,
            ("contacts.detail", {"contact_id": contact.id}),
            company=company.name if company else None,
        )
    if activity.opportunity is not None:
        opportunity = activity.opportunity
        contact = opportunity.contact
        return AgendaItem(
            activity,
            opportunity.title,
            contact.phone if contact else None,
            contact.email if contact else None,
            ("opportunities.detail", {"opportunity_id": opportunity.id}),
            company=opportunity.company.name if opportunity.company else None,
        )
    if activity.company is not None:
        company = activity.company
        return AgendaItem(
            activity,
            company.name,
            company.phone,
            None,
            ("companies.detail", {"company_id": company.id}),
        )
    return AgendaItem(activity, "", None, None, None)


def item(activity: Activity) -> AgendaItem:
    return _subject(activity)


def _open_for(user_id: int):
    return (
        Activity.assignee_id == user_id,
        Activity.done.is_(False),
        Activity.due_on.is_not(None),
    )


def _window(key: str, today: date):
    if key == "overdue":
        return (Activity.due_on < today,)
    if key == "today":
        return (Activity.due_on == today,)
    if key == "tomorrow":  # the morning list's (quickcrm/domain/morning_list.py)
        return (Activity.due_on == today + timedelta(days=1),)
    return (Activity.due_on > today, Activity.due_on <= today + timedelta(days=WEEK_AHEAD))


def agenda(
    session: Session,
    user_id: int,
    today: date,
    *,
    after: dict[str, tuple[date, int]] | None = None,
    limit: int = SECTION_LIMIT,
) -> Agenda:
    """The user's open activities due up to a week ahead: overdue, today, this week — each
    section its first ``limit`` items by due date (or those after the position ``after``
    names for it: keyset paging) with its total and how many more follow, so the page costs
    the same with twelve items or twelve thousand, on its first page or its hundredth."""
    after = after or {}
    sections = [
        section(session, user_id, key, today, after=after.get(key), limit=limit) for key in SECTIONS
    ]
    entries = [entry for section in sections for entry in section]
    last = last_activities(session, {e.activity.lead_id for e in entries if e.activity.lead_id})
    for entry in entries:
        entry.last = last.get(entry.activity.lead_id)
    return Agenda(*sections)


def section(
    session: Session,
    user_id: int,
    key: str,
    today: date,
    *,
    after: tuple[date, int] | None = None,
    limit: int = SECTION_LIMIT,
) -> Section:
    """One section of the user's agenda — ``overdue``, ``today``, ``week`` or
    ``tomorrow`` (the morning list's) — its first ``limit`` items after ``after``, its
    total and how many more follow."""
    where = (*_open_for(user_id), *_window(key, today))
    # Counts are ranges of the (assignee, done, due) index.
    total = session.scalar(select(func.count()).select_from(Activity).where(*where))
    if after is not None:
        where = (*where, tuple_(Activity.due_on, Activity.id) > tuple_(*after))
    activities = _items(session, where, limit) if total else []
    if after is None:
        more = total - len(activities)
    elif len(activities) < limit:
        more = 0
    else:
        last = activities[-1]
        more = session.scalar(
            select(func.count())
            .select_from(Activity)
            .where(*where, tuple_(Activity.due_on, Activity.id) > tuple_(last.due_on, last.id))
        )
    return Section(key, [item(a) for a in activities], total, more, after, limit)


def last_activities(session: Session, lead_ids: set[int]) -> dict[int, LastActivity]:
    """What last happened on each of ``lead_ids``, in one query whatever their number (a
    window over each lead's activities on the lead_id index): the newest activity done, or
    logged without a due date, by when it was done or logged."""
    if not lead_ids:
        return {}
    at = type_coerce(func.coalesce(Activity.done_at, Activity.created_at), UTCDateTime())
    ranked = (
        select(
            Activity.lead_id,
            Activity.kind,
            at.label("at"),
            # Enough of a long note to find its first line.
            func.substr(Activity.text, 1, 4 * LINE_MAX).label("text"),
            func.row_number()
            .over(partition_by=Activity.lead_id, order_by=(at.desc(), Activity.id.desc()))
            .label("newest"),
        )
        .where(
            Activity.lead_id.in_(sorted(lead_ids)),
            or_(Activity.done.is_(True), Activity.due_on.is_(None)),
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.lead_id, ranked.c.kind, ranked.c.at, ranked.c.text).where(
            ranked.c.newest == 1
        )
    )
    return {row.lead_id: LastActivity(row.kind, row.at, first_line(row.text)) for row in rows}


def _items(session: Session, where, limit: int) -> list[Activity]:
    return list(
        session.scalars(
            select(Activity)
            .where(*where)
            .order_by(Activity.due_on, Activity.id)
            .limit(limit)
            .options(
                selectinload(Activity.lead),
                selectinload(Activity.contact).selectinload(Contact.company),
                selectinload(Activity.company),
                selectinload(Activity.opportunity).selectinload(Opportunity.contact),
                selectinload(Activity.opportunity).selectinload(Opportunity.company),
            )
        )
    )


def due_count(session: Session, user_id: int, today: date) -> int:
    """How many of the user's open activities are due today or overdue (the nav badge)."""
    return session.scalar(
        select(func.count(Activity.id)).where(
            Activity.assignee_id == user_id,
            Activity.done.is_(False),
            Activity.due_on <= today,
        )
    )


def _follow_up(activity: Activity, author: User, due: date, text: str, kind: str) -> Activity:
    return Activity(
        kind=kind,
        text=text,
        due_on=due,
        author_id=author.id,
        assignee_id=activity.assignee_id or author.id,
        lead_id=activity.lead_id,
        company_id=activity.company_id,
        contact_id=activity.contact_id,
        opportunity_id=activity.opportunity_id,
        repeat_every=activity.repeat_every,
        repeat_unit=activity.repeat_unit,
    )


def complete(
    session: Session,
    activity: Activity,
    user: User,
    *,
    today: date,
    outcome: str = "",
    next_on: str = "",
    now: datetime | None = None,
    client_key: uuid.UUID | None = None,
) -> list[Activity]:
    """Mark the activity done, log the outcome note, and create what comes next: the next
    occurrence of a repeating task and/or a follow-up on ``next_on``. Returns the new
    activities. Nothing is written when the input is refused, nor when the phone's
    ``client_key`` shows this Done was already applied (a resend)."""
    if offline.applied(session, client_key):
        return []
    try:
        note = v.text(outcome, max_length=OUTCOME_MAX)
    except v.Refused as exc:
        raise v.Refused({"outcome": str(exc)}) from None
    try:
        next_date = v.next_action_date(next_on, today)
    except v.Refused as exc:
        raise v.Refused({"next_action_on": str(exc)}) from None
    if activity.done:
        raise v.Refused({"done": "This is already done."})
    activity.done = True
    activity.done_at = now or utcnow()
    created: list[Activity] = []
    if note:
        logged = _follow_up(activity, user, None, note, "note")
        logged.repeat_every = logged.repeat_unit = None
        logged.done, logged.done_at, logged.assignee_id = True, activity.done_at, user.id
        created.append(logged)
    if activity.repeat_every and activity.repeat_unit:
        base = activity.due_on or today
        created.append(
            _follow_up(
                activity,
                user,
                add_interval(base, activity.repeat_every, activity.repeat_unit),
                activity.text,
                activity.kind,
            )
        )
    if next_date is not None:
        follow = _follow_up(activity, user, next_date, activity.text or "Follow up", "task")
        follow.repeat_every = follow.repeat_unit = None
        created.append(follow)
    session.add_all(created)
    offline.claim(session, client_key, user, "done", activity)
    return created if offline.commit_once(session, client_key) else []


def snooze(
    session: Session,
    activity: Activity,
    by: str,
    today: date,
    *,
    user: User | None = None,
    client_key: uuid.UUID | None = None,
) -> Activity:
    """Put the activity off by a day or a week, counted from today for an overdue one (so
    a snoozed item never stays overdue). A resend under the same ``client_key`` does not
    put it off again."""
    if offline.applied(session, client_key):
        return activity
    if by not in SNOOZE_DAYS:
        raise v.Refused({"by": "Snooze by a day or a week."})
    if activity.done:
        raise v.Refused({"done": "This is already done."})
    start = max(activity.due_on or today, today)
    activity.due_on = start + timedelta(days=SNOOZE_DAYS[by])
    if user is not None:
        offline.claim(session, client_key, user, "snooze", activity)
    offline.commit_once(session, client_key)
    return activity


# --- iCal feed -------------------------------------------------------------------------

FEED_DAYS_BACK = 30
# The feed ends where planning ends (a next action may be set up to two years ahead), and
# holds at most this many follow-ups, the soonest: whatever a rep's backlog, a calendar
# app's refresh reads a bounded answer.
FEED_DAYS_AHEAD = 2 * 366
FEED_MOST = 1000


def feed_limit_key(user: User) -> str:
    """The key of the user's feed in the rate limits (quickcrm/domain/ratelimit.py)."""
    return f"ical:user:{user.id}"


def regenerate_feed_token(session: Session, user: User) -> str:
    """A new secret for the user's feed, returned this once: only its hash is kept (as API
    tokens are), so the address is shown when it is made and never again. The old address
    stops working at once."""
    secret = secrets.token_urlsafe(32)
    user.ical_token = feed_token_hash(secret)
    session.flush()
    return secret


def feed_token_hash(secret: str) -> str:
    """What is stored of a feed's secret: its hex SHA-256 (the secret has 256 random bits,
    so a fast hash is enough; a copy of the database opens no one's calendar)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def user_for_feed(session: Session, token: str) -> User | None:
    """The active user whose feed ``token`` opens, or ``None``. A feed ends with its user's
    sessions (``users.end_sessions``: signing out, a new password, deactivation)."""
    if not token:
        return None
    user = session.scalar(select(User).where(User.ical_token == feed_token_hash(token)))
    return user if user is not None and user.active else None


def feed_activities(session: Session, user: User, today: date) -> list[Activity]:
    """The user's open follow-ups and tasks with a date, from a month back to two years
    ahead, the soonest ``FEED_MOST``."""
    return list(
        session.scalars(
            select(Activity)
            .where(
                Activity.assignee_id == user.id,
                Activity.done.is_(False),
                Activity.due_on >= today - timedelta(days=FEED_DAYS_BACK),
                Activity.due_on <= today + timedelta(days=FEED_DAYS_AHEAD),
            )
            .order_by(Activity.due_on, Activity.id)
            .limit(FEED_MOST)
            .options(
                selectinload(Activity.lead),
                selectinload(Activity.contact),
                selectinload(Activity.company),
                selectinload(Activity.opportunity),
            )
        )
    )
