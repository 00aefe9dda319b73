"""Reminders that find the rep (issue 27): the morning list by email and on the phones they
subscribed, a nudge at a timed follow-up, and Monday's digest for a coordinator.

Who is due, and the one-per-day rule every kind shares:

- A user is due a ``kind`` of reminder on a day of *their* clock (their zone, else the
  team's) when they are active, asked for it (``User.reminder_email``, a push
  subscription, ``User.digest``), the day is one of ``User.reminder_days`` (ISO weekdays;
  the digest: Mondays), their clock has passed ``User.reminder_at`` and not by more than
  ``LATE`` (a server down all morning does not send the morning list at tea time), and no
  ``reminder_sent`` row of that day and kind says it went or was decided.
- ``claim`` takes the (user, day, kind) before anything is sent: the INSERT of a
  ``sending`` row (two servers: one wins the primary key), or the UPDATE of a ``failed``
  one (tried again at the next run) or of a ``sending`` one older than ``STALE`` (its
  server was killed mid-send; the lease of the scheduler's job has ended by then) —
  committed at once. ``mark`` records how it went.

A server killed after the mail server accepted a message and before ``mark`` leaves a
``sending`` row: after ``STALE`` it is sent again. That one window — between the mail
server's "250 OK" and a commit — is the one no SMTP conversation can close; everything else
sends exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from quickcrm.domain.team import Team
from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import PushSubscription, ReminderSent, User

# How long after their time a user's morning reminder may still go.
LATE = timedelta(hours=4)
# A ``sending`` row this old was left by a server killed mid-send.
STALE = timedelta(minutes=15)
MESSAGE_MAX = 500
MONDAY = 1


@dataclass(frozen=True)
class Due:
    user: User
    # The user's own day the reminder is for, and their zone.
    day: date
    zone: ZoneInfo


def due(session: Session, kind: str, now: datetime, team: Team) -> list[Due]:
    """The users due a ``kind`` reminder at ``now`` (see the module's rules)."""
    asked = {
        "email": User.reminder_email.is_(True),
        "push": exists().where(PushSubscription.user_id == User.id),
        "digest": User.digest.is_(True) & User.role.in_(("coordinator", "admin")),
    }[kind]
    found = []
    for user in session.scalars(select(User).where(User.active.is_(True), asked).order_by(User.id)):
        zone = team.zone_of(user)
        local = now.astimezone(zone)
        days = str(MONDAY) if kind == "digest" else user.reminder_days
        if str(local.isoweekday()) not in days:
            continue
        start = datetime.combine(local.date(), user.reminder_at, tzinfo=zone)
        if not start <= local < start + LATE:
            continue
        found.append(Due(user=user, day=local.date(), zone=zone))
    if not found:
        return []
    decided = set(
        session.execute(
            select(ReminderSent.user_id, ReminderSent.day).where(
                ReminderSent.kind == kind,
                ReminderSent.user_id.in_([d.user.id for d in found]),
                ReminderSent.status.in_(("sent", "skipped")),
            )
        ).all()
    )
    return [d for d in found if (d.user.id, d.day) not in decided]


@owns_transaction("a reminder is claimed before it is sent, for every server to see at once")
def claim(session: Session, user_id: int, day: date, kind: str, now: datetime) -> bool:
    """Take the (user, day, kind) reminder for this run (True), or learn that it went, was
    decided, or is being sent by another server (False); commits."""
    table = ReminderSent.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    made = session.execute(
        insert(table)
        .values(user_id=user_id, day=day, kind=kind, status="sending", attempts=1, updated_at=now)
        .on_conflict_do_nothing(index_elements=[table.c.user_id, table.c.day, table.c.kind])
        .returning(table.c.user_id)
    ).first()
    taken = made is not None
    if not taken:
        again = (table.c.status == "failed") | (
            (table.c.status == "sending") & (table.c.updated_at <= now - STALE)
        )
        retaken = session.execute(
            update(table)
            .where(table.c.user_id == user_id, table.c.day == day, table.c.kind == kind, again)
            .values(status="sending", attempts=table.c.attempts + 1, updated_at=now)
            .returning(table.c.user_id)
        ).first()
        taken = retaken is not None
    session.commit()
    return taken


@owns_transaction("how a reminder went is recorded as soon as it is known")
def mark(
    session: Session,
    user_id: int,
    day: date,
    kind: str,
    status: str,
    now: datetime,
    message: str | None = None,
) -> None:
    """Record how the claimed reminder went: ``sent``, ``skipped`` (nothing to say),
    ``failed`` (tried again at the next run); commits."""
    line = " ".join((message or "").split())[:MESSAGE_MAX] or None
    session.execute(
        update(ReminderSent)
        .where(
            ReminderSent.user_id == user_id,
            ReminderSent.day == day,
            ReminderSent.kind == kind,
        )
        .values(status=status, updated_at=now, message=line)
    )
    session.commit()


@dataclass(frozen=True)
class NotSent:
    """A reminder that failed, for Admin → System: to whom, of which day and kind, how
    many tries, and the last reason."""

    user: User
    day: date
    kind: str
    attempts: int
    updated_at: datetime
    message: str | None


def failures(session: Session, since: datetime, limit: int = 20) -> list[NotSent]:
    """The reminders still ``failed`` that were last tried after ``since``, newest first."""
    rows = session.execute(
        select(ReminderSent, User)
        .join(User, User.id == ReminderSent.user_id)
        .where(ReminderSent.status == "failed", ReminderSent.updated_at >= since)
        .order_by(ReminderSent.updated_at.desc(), ReminderSent.user_id)
        .limit(limit)
    )
    return [
        NotSent(user, row.day, row.kind, row.attempts, row.updated_at, row.message)
        for row, user in rows
    ]
