"""The weekly meeting (docs/pipeline.md): what changed between two moments —
a snapshot and now, or two snapshots.

*Start this week's meeting* stores a snapshot: its time, and each open opportunity's
stage, value, probability and close date then (one INSERT … SELECT). A comparison is one
query per figure: new leads by rep and temperature, leads converted and disqualified,
opportunities created, moved stage, slipped, changed value, won and lost, and the weighted
forecast by close month then and now.

Leads and the opportunities' creation and closing are read from their own timestamps
(``created_at``, ``converted_at``, ``closed_at``; a disqualified lead's ``updated_at``, as a
disqualified lead cannot be edited); stages, values and close dates from the snapshots.

The meeting is the team's: its days and months are in the team's zone (``today`` is the
team's today, and the days a comparison spans are the local days its moments fell on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import extract, func, insert, literal, select
from sqlalchemy.orm import Session, aliased

from quickcrm.domain.forecast import month_start
from quickcrm.domain.money import cents, weighted
from quickcrm.domain.team import UTC_ZONE, local_day
from quickcrm.models import (
    Company,
    Lead,
    MeetingSnapshot,
    Opportunity,
    SnapshotOpportunity,
    Stage,
    User,
    utcnow,
)

LIST_LIMIT = 200
FORECAST_MONTHS = 6


def take_snapshot(session: Session, by: User, now: datetime | None = None) -> MeetingSnapshot:
    """Record every open opportunity as it stands now (flushed; the caller commits)."""
    snapshot = MeetingSnapshot(taken_at=now or utcnow(), taken_by_id=by.id)
    session.add(snapshot)
    session.flush()
    columns = ("snapshot_id", "opportunity_id", "stage_id", "value", "probability", "close_on")
    rows = select(
        literal(snapshot.id),
        Opportunity.id,
        Opportunity.stage_id,
        Opportunity.value,
        Opportunity.probability,
        Opportunity.close_on,
    ).where(Opportunity.outcome == "open")
    session.execute(insert(SnapshotOpportunity).from_select(columns, rows))
    return snapshot


def snapshots(session: Session, limit: int = 104) -> list[MeetingSnapshot]:
    """The snapshots, newest first (two years of weekly meetings)."""
    return list(
        session.scalars(
            select(MeetingSnapshot)
            .order_by(MeetingSnapshot.taken_at.desc(), MeetingSnapshot.id.desc())
            .limit(limit)
        )
    )


@dataclass
class Change:
    """An opportunity that changed: what it was and what it is."""

    opportunity_id: int
    title: str
    company: str
    before: object
    after: object


@dataclass
class MonthForecast:
    month: date
    then: Decimal
    now: Decimal


@dataclass
class Comparison:
    start: datetime
    end: datetime
    # The team's local days the moments fell on: "Leads since" and *Review leads* from.
    first_day: date
    last_day: date
    new_leads: list[tuple[str, str | None, int]] = field(default_factory=list)
    converted: list[Lead] = field(default_factory=list)
    disqualified: list[Lead] = field(default_factory=list)
    created: list[Opportunity] = field(default_factory=list)
    moved: list[Change] = field(default_factory=list)
    slipped: list[Change] = field(default_factory=list)
    revalued: list[Change] = field(default_factory=list)
    won: list[Opportunity] = field(default_factory=list)
    lost: list[Opportunity] = field(default_factory=list)
    forecast: list[MonthForecast] = field(default_factory=list)

    @property
    def new_lead_count(self) -> int:
        return sum(count for _, _, count in self.new_leads)


def _later_state(session: Session, newer: MeetingSnapshot | None):
    """The opportunities' later state as a selectable with ``opportunity_id``, ``stage_id``,
    ``value``, ``probability``, ``close_on``: a snapshot's rows, or the open ones now."""
    if newer is not None:
        return (
            select(SnapshotOpportunity)
            .where(SnapshotOpportunity.snapshot_id == newer.id)
            .subquery("later")
        )
    return (
        select(
            Opportunity.id.label("opportunity_id"),
            Opportunity.stage_id,
            Opportunity.value,
            Opportunity.probability,
            Opportunity.close_on,
        )
        .where(Opportunity.outcome == "open")
        .subquery("later")
    )


def compare(
    session: Session,
    older: MeetingSnapshot,
    newer: MeetingSnapshot | None,
    today: date,
    zone: ZoneInfo = UTC_ZONE,
) -> Comparison:
    """What changed from the ``older`` snapshot to the ``newer`` one (to now if ``None``);
    ``today`` and ``zone`` are the team's."""
    start = older.taken_at
    end = newer.taken_at if newer is not None else utcnow()
    found = Comparison(start, end, local_day(start, zone), local_day(end, zone))
    owner = aliased(User)
    found.new_leads = [
        (name, temperature, count)
        for name, temperature, count in session.execute(
            select(owner.name, Lead.temperature, func.count(Lead.id))
            .join(owner, owner.id == Lead.owner_id)
            .where(Lead.created_at >= start, Lead.created_at < end)
            # A lead merged into another was the same person captured twice: counted once.
            .where(Lead.merged_into_id.is_(None))
            .group_by(owner.name, Lead.temperature)
            .order_by(owner.name, Lead.temperature)
        )
    ]
    found.converted = list(
        session.scalars(
            select(Lead)
            .where(Lead.converted_at >= start, Lead.converted_at < end)
            .order_by(Lead.converted_at)
            .limit(LIST_LIMIT)
        )
    )
    found.disqualified = list(
        session.scalars(
            select(Lead)
            .where(Lead.status == "disqualified", Lead.updated_at >= start, Lead.updated_at < end)
            .where(Lead.merged_into_id.is_(None))  # merged, not judged
            .order_by(Lead.updated_at)
            .limit(LIST_LIMIT)
        )
    )
    found.created = list(
        session.scalars(
            select(Opportunity)
            .where(Opportunity.created_at >= start, Opportunity.created_at < end)
            .order_by(Opportunity.created_at)
            .limit(LIST_LIMIT)
        )
    )
    for outcome in ("won", "lost"):
        closed = session.scalars(
            select(Opportunity)
            .where(
                Opportunity.outcome == outcome,
                Opportunity.closed_at >= start,
                Opportunity.closed_at < end,
            )
            .order_by(Opportunity.closed_at)
            .limit(LIST_LIMIT)
        )
        setattr(found, outcome, list(closed))

    then = aliased(SnapshotOpportunity)
    later = _later_state(session, newer)

    def changes(before, after, *where) -> list[Change]:
        rows = session.execute(
            select(Opportunity.id, Opportunity.title, Company.name, before, after)
            .select_from(then)
            .join(later, later.c.opportunity_id == then.opportunity_id)
            .join(Opportunity, Opportunity.id == then.opportunity_id)
            .join(Company, Company.id == Opportunity.company_id)
            .where(then.snapshot_id == older.id, *where)
            .order_by(Company.name_sort, Opportunity.title, Opportunity.id)
            .limit(LIST_LIMIT)
        )
        return [Change(*row) for row in rows]

    stage_then, stage_now = aliased(Stage), aliased(Stage)
    moved = changes(
        stage_then.name,
        stage_now.name,
        then.stage_id != later.c.stage_id,
        stage_then.id == then.stage_id,
        stage_now.id == later.c.stage_id,
    )
    found.moved = moved
    found.slipped = changes(then.close_on, later.c.close_on, later.c.close_on > then.close_on)
    found.revalued = changes(then.value, later.c.value, then.value != later.c.value)
    found.forecast = _forecast(session, older, later, today)
    return found


def _weighted_by_month(session: Session, rows, first: date, end: date) -> dict[date, Decimal]:
    year, month = extract("year", rows.c.close_on), extract("month", rows.c.close_on)
    totals = session.execute(
        select(year, month, func.coalesce(func.sum(weighted(rows.c.value, rows.c.probability)), 0))
        .where(rows.c.close_on >= first, rows.c.close_on < end)
        .group_by(year, month)
    )
    return {date(int(y), int(m), 1): cents(total) for y, m, total in totals}


def _forecast(session: Session, older: MeetingSnapshot, later, today: date) -> list[MonthForecast]:
    """Weighted value by close month, this month and the next five: then and now."""
    first, end = month_start(today), month_start(today, FORECAST_MONTHS)
    earlier = (
        select(SnapshotOpportunity)
        .where(SnapshotOpportunity.snapshot_id == older.id)
        .subquery("earlier")
    )
    then = _weighted_by_month(session, earlier, first, end)
    now = _weighted_by_month(session, later, first, end)
    zero = cents(0)
    return [
        MonthForecast(month, then.get(month, zero), now.get(month, zero))
        for month in (month_start(today, i) for i in range(FORECAST_MONTHS))
    ]
