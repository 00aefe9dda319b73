"""Periodic work the app servers do by themselves, so a deployment needs no cron
(docs/deployment.md, "Scheduled work").

A ``Job`` is a name, a rule for when it is next due (``Every``, ``DailyAt``), a function
and a lease length. Each job has one row of ``scheduled_job``: its next run, its lease and
how its last run went. Every app server checks now and then (``run_due``); of those that
find a job due, one takes it:

- ``claim`` is one conditional UPDATE, committed at once: the job is due, and nobody holds
  its lease or the lease has ended. Two servers at once: the second UPDATE waits for the
  first's row and then finds the lease taken. A server killed mid-run keeps the lease
  until it ends; then the next server to check takes the run over.
- the function runs with a ``Run`` (a session, the engine, the moment the run was due);
  what it returns is the one-line result ("Purged 12 rows").
- ``finish`` records the result, the next run (the rule's first moment after the start)
  and frees the lease — only if this server still holds it. A function that raises is
  recorded as failed with its one-line reason and runs again at its next time; nothing is
  raised to the caller. A function that did its work but not all of it (a reminder that
  did not go) raises ``Failed`` with its line, recorded as failed as it is.

A run is due once per slot: a job every 5 minutes runs once at each 5 minutes across every
server. A server that dies mid-run leaves its slot to be run again after the lease: a job
that must not repeat part of its work (a reminder sent twice) marks each piece done in the
same transaction as the piece. Slots missed while no server ran are one run, whose
``Run.due`` says since when it was due.

Adding a job: a function ``(run: Run) -> str`` that commits its own work, and a ``Job`` in
the list ``quickcrm/services/scheduler.py`` builds.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import ScheduledJob, utcnow

MESSAGE_MAX = 500
EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday at midnight: where slots line up


class Rule(Protocol):
    def next_after(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """The first moment strictly after ``moment`` when the job is due."""

    def describe(self) -> str:
        """How a person says it: "every hour", "daily at 02:00"."""


@dataclass(frozen=True)
class Every:
    """Every ``interval``, on the interval's boundaries (every hour on the hour, every
    5 minutes at :00, :05…), whatever the time zone."""

    interval: timedelta

    def next_after(self, moment: datetime, zone: ZoneInfo) -> datetime:
        slots = (moment - EPOCH) // self.interval
        return EPOCH + (slots + 1) * self.interval

    def describe(self) -> str:
        minutes = int(self.interval.total_seconds() // 60)
        if minutes % 60 == 0:
            hours = minutes // 60
            return "every hour" if hours == 1 else f"every {hours} hours"
        return "every minute" if minutes == 1 else f"every {minutes} minutes"


@dataclass(frozen=True)
class DailyAt:
    """Every day at ``at`` on the clock of the zone given (the team's). On the night the
    clocks go forward past it, it runs when the clocks say the hour after; on the night
    they go back over it, once, the first time."""

    at: time

    def next_after(self, moment: datetime, zone: ZoneInfo) -> datetime:
        day = moment.astimezone(zone).date()
        for offset in range(3):
            due = _on_the_clock(day + timedelta(days=offset), self.at, zone)
            if due > moment:
                return due
        raise AssertionError("a day has this time within three days")  # pragma: no cover

    def describe(self) -> str:
        return f"daily at {self.at:%H:%M}"


def _on_the_clock(day: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: the first of an hour that happens twice; a time the clocks skip reads with
    # the offset before the change, i.e. as the hour after on the new clock.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


class Failed(Exception):
    """Raised by a job's function whose run went wrong in part, after it committed what it
    did (a reminder that did not go): recorded as failed with its message alone, and the
    job runs again at its next time."""


@dataclass
class Run:
    """What a job's function gets: its own session (it commits its own work), the engine
    (a backup reads through its own connection), when the run was due and when it
    started."""

    session: Session
    engine: Engine
    due: datetime
    now: datetime


@dataclass(frozen=True)
class Job:
    name: str
    title: str  # what the System page calls it
    when: Rule
    function: Callable[[Run], str]
    # Longer than a run can take: a run that outlives it may be started again beside it.
    lease: timedelta


@dataclass(frozen=True)
class Outcome:
    """What became of one job in a check: ``ran`` with its result, or not (not due, or
    another server runs it)."""

    job: Job
    ran: bool
    result: str | None = None
    message: str | None = None
    next_run_at: datetime | None = None


def holder_name() -> str:
    """Who holds a lease: this host and process, and a random part (a new one per run, so
    a process never mistakes another run's lease for its own)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


@owns_transaction("the scheduler's rows are its lease: each change is seen by every server at once")
def ensure(session: Session, jobs: Iterable[Job], now: datetime, zone: ZoneInfo) -> None:
    """Give each job without a row one, due at its rule's first moment after ``now``, and
    move a job's next run that its rule no longer gives (``QUICKCRM_BACKUP_AT`` or the
    team's time zone changed) to the one it gives; commits when it changed something.
    Rows of servers racing here meet the primary key and one stays."""
    table = ScheduledJob.__table__
    rows = {row.name: row for row in session.execute(select(table.c.name, table.c.next_run_at))}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    changed = False
    for job in jobs:
        due = job.when.next_after(now, zone)
        row = rows.get(job.name)
        if row is None:
            session.execute(
                insert(table)
                .values(name=job.name, next_run_at=due)
                .on_conflict_do_nothing(index_elements=[table.c.name])
            )
            changed = True
        elif now < row.next_run_at != due:
            # Only a row nobody holds, still as read: a run finishing now sets its own.
            session.execute(
                update(table)
                .where(
                    table.c.name == job.name,
                    table.c.next_run_at == row.next_run_at,
                    table.c.holder.is_(None),
                )
                .values(next_run_at=due)
            )
            changed = True
    if changed:
        session.commit()
    else:
        session.rollback()


@owns_transaction("the scheduler's rows are its lease: each change is seen by every server at once")
def claim(
    session: Session, job: Job, now: datetime, holder: str, *, force: bool = False
) -> datetime | None:
    """Take the lease of ``job`` for ``holder`` until ``now`` + its lease when the job is
    due (or whenever, with ``force``: *Run now*) and nobody holds a lease that has not
    ended; commits. Returns when the run was due, or None when not taken."""
    table = ScheduledJob.__table__
    free = table.c.holder.is_(None) | (table.c.lease_until <= now)
    due = free if force else free & (table.c.next_run_at <= now)
    taken = session.execute(
        update(table)
        .where(table.c.name == job.name, due)
        .values(holder=holder, lease_until=now + job.lease, started_at=now)
        .returning(table.c.next_run_at)
    ).first()
    session.commit()
    if taken is None:
        return None
    return min(taken.next_run_at, now)


@owns_transaction("the scheduler's rows are its lease: each change is seen by every server at once")
def finish(
    session: Session,
    job: Job,
    holder: str,
    started: datetime,
    finished: datetime,
    result: str,
    message: str,
    zone: ZoneInfo,
) -> datetime | None:
    """Record how the run went and when the job is next due, and free its lease — if
    ``holder`` still has it (a run that outlived its lease leaves the row to the server
    that took over); commits. Returns the next run, or None when the lease was lost."""
    table = ScheduledJob.__table__
    next_run = job.when.next_after(started, zone)
    done = session.execute(
        update(table)
        .where(table.c.name == job.name, table.c.holder == holder)
        .values(
            holder=None,
            lease_until=None,
            finished_at=finished,
            result=result,
            message=_one_line(message),
            next_run_at=next_run,
        )
        .returning(table.c.name)
    ).first()
    session.commit()
    return next_run if done else None


def run_job(
    session: Session,
    engine: Engine,
    job: Job,
    zone: ZoneInfo,
    *,
    now: datetime | None = None,
    force: bool = False,
    clock: Callable[[], datetime] = utcnow,
) -> Outcome:
    """Run ``job`` here if it is due and this server gets its lease (``claim``), record
    the result (``finish``). A failing function is recorded as failed, never raised."""
    started = now or clock()
    holder = holder_name()
    due = claim(session, job, started, holder, force=force)
    if due is None:
        return Outcome(job, ran=False)
    try:
        message = job.function(Run(session=session, engine=engine, due=due, now=started))
        result = "ok"
    except Failed as exc:
        session.rollback()
        result, message = "failed", str(exc)
    except Exception as exc:  # recorded on the job's row; its next run tries again
        session.rollback()
        result, message = "failed", f"{type(exc).__name__}: {exc}"
    next_run = finish(
        session, job, holder, started, now or clock(), result, message or "Done", zone
    )
    return Outcome(job, ran=True, result=result, message=_one_line(message), next_run_at=next_run)


def run_due(
    session: Session,
    engine: Engine,
    jobs: Iterable[Job],
    zone: ZoneInfo,
    *,
    now: datetime | None = None,
    force: bool = False,
    clock: Callable[[], datetime] = utcnow,
) -> list[Outcome]:
    """One check: every job that is due (or each of ``jobs`` with ``force``) runs here,
    one after the other, unless another server holds it."""
    jobs = list(jobs)
    ensure(session, jobs, now or clock(), zone)
    return [run_job(session, engine, job, zone, now=now, force=force, clock=clock) for job in jobs]


@dataclass(frozen=True)
class JobState:
    """A job as the System page shows it: running (a lease that has not ended), stalled
    (its server stopped mid-run: the next check after the lease takes it over), or due
    (the next check runs it)."""

    job: Job
    row: ScheduledJob | None
    running: bool
    stalled: bool
    due: bool


def states(session: Session, jobs: Iterable[Job], now: datetime) -> list[JobState]:
    # As the database has them now: the claims and finishes here are Core UPDATEs.
    fresh = select(ScheduledJob).execution_options(populate_existing=True)
    rows = {row.name: row for row in session.scalars(fresh)}
    found = []
    for job in jobs:
        row = rows.get(job.name)
        held = bool(row and row.holder)
        running = held and row.lease_until is not None and row.lease_until > now
        due = row is not None and not held and row.next_run_at <= now
        found.append(JobState(job, row, running=running, stalled=held and not running, due=due))
    return found


def _one_line(message: str | None) -> str:
    line = " ".join((message or "").split())
    return line if len(line) <= MESSAGE_MAX else line[: MESSAGE_MAX - 1] + "…"
