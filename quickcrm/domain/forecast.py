"""What the forecast sums: open opportunities by expected close month, wins, overdue
deals, the lead funnel, and figures by source and by rep. Every figure is aggregated by
the database (GROUP BY); Python only fills in the months and ratios."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import case, extract, func, select
from sqlalchemy.orm import Session, selectinload

from quickcrm.domain.pipeline import money, weighted
from quickcrm.models import Lead, Opportunity, User

MONTHS_AHEAD = 6
NO_SOURCE = "(no source)"


def month_start(when: date, months_ahead: int = 0) -> date:
    index = when.year * 12 + when.month - 1 + months_ahead
    return date(index // 12, index % 12 + 1, 1)


def quarter_start(when: date) -> date:
    return date(when.year, 3 * ((when.month - 1) // 3) + 1, 1)


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def rate(part: int, whole: int) -> float | None:
    """part / whole as a fraction, or None when there is nothing to divide by."""
    return part / whole if whole else None


@dataclass
class MonthFigures:
    month: date  # the first day of the month
    count: int
    total: Decimal
    weighted: Decimal


def by_close_month(session: Session, today: date, months: int = MONTHS_AHEAD) -> list[MonthFigures]:
    """Open opportunities expected to close in this month and the next ``months - 1``:
    count, total value and weighted value (value × probability) per month, empty months
    included."""
    start, end = month_start(today), month_start(today, months)
    year = extract("year", Opportunity.close_on)
    month = extract("month", Opportunity.close_on)
    rows = session.execute(
        select(
            year,
            month,
            func.count(Opportunity.id),
            func.coalesce(func.sum(Opportunity.value), 0),
            func.coalesce(func.sum(weighted(Opportunity.value, Opportunity.probability)), 0),
        )
        .where(
            Opportunity.outcome == "open",
            Opportunity.close_on >= start,
            Opportunity.close_on < end,
        )
        .group_by(year, month)
    )
    found = {
        date(int(y), int(m), 1): MonthFigures(date(int(y), int(m), 1), n, money(t), money(w))
        for y, m, n, t, w in rows
    }
    return [
        found.get(first, MonthFigures(first, 0, money(0), money(0)))
        for first in (month_start(today, i) for i in range(months))
    ]


@dataclass
class Won:
    count: int
    total: Decimal


def won_between(session: Session, start: date, end: date) -> Won:
    """Opportunities won from ``start`` up to and including ``end`` (by when they closed)."""
    count, total = session.execute(
        select(func.count(Opportunity.id), func.coalesce(func.sum(Opportunity.value), 0)).where(
            Opportunity.outcome == "won",
            Opportunity.closed_at >= _moment(start),
            Opportunity.closed_at < _moment(end + timedelta(days=1)),
        )
    ).one()
    return Won(count, money(total))


def won_this_month(session: Session, today: date) -> Won:
    return won_between(session, month_start(today), today)


def won_this_quarter(session: Session, today: date) -> Won:
    return won_between(session, quarter_start(today), today)


def overdue(session: Session, today: date, limit: int = 50) -> list[Opportunity]:
    """Open opportunities whose expected close date has passed, oldest first."""
    return list(
        session.scalars(
            select(Opportunity)
            .where(Opportunity.outcome == "open", Opportunity.close_on < today)
            .order_by(Opportunity.close_on, Opportunity.id)
            .options(selectinload(Opportunity.company), selectinload(Opportunity.owner))
            .limit(limit)
        )
    )


def overdue_count(session: Session, today: date) -> int:
    return session.scalar(
        select(func.count(Opportunity.id)).where(
            Opportunity.outcome == "open", Opportunity.close_on < today
        )
    )


# --- the funnel: a cohort of leads captured in the period --------------------------------
#
# Leads captured between start and end (inclusive), how many of them were converted, and
# how many of those became an opportunity that is won (whenever it was won). Following one
# cohort keeps every rate between 0 and 100 %.


def _cohort_columns():
    converted = func.count(case((Lead.status == "converted", Lead.id)))
    won = func.count(case((Opportunity.outcome == "won", Opportunity.id)))
    won_value = func.coalesce(
        func.sum(case((Opportunity.outcome == "won", Opportunity.value), else_=0)), 0
    )
    return func.count(Lead.id), converted, won, won_value


def _cohort(query, start: date, end: date):
    return query.outerjoin(Opportunity, Opportunity.id == Lead.opportunity_id).where(
        Lead.captured_at >= _moment(start), Lead.captured_at < _moment(end + timedelta(days=1))
    )


@dataclass
class Funnel:
    leads: int
    converted: int
    won: int
    won_value: Decimal

    @property
    def conversion_rate(self) -> float | None:
        return rate(self.converted, self.leads)

    @property
    def win_rate(self) -> float | None:
        return rate(self.won, self.converted)

    @property
    def overall_rate(self) -> float | None:
        return rate(self.won, self.leads)


def funnel(session: Session, start: date, end: date) -> Funnel:
    leads, converted, won, value = session.execute(
        _cohort(select(*_cohort_columns()), start, end)
    ).one()
    return Funnel(leads, converted, won, money(value))


@dataclass
class GroupFigures:
    name: str
    leads: int
    converted: int
    won: int
    won_value: Decimal

    @property
    def conversion_rate(self) -> float | None:
        return rate(self.converted, self.leads)


def by_source(session: Session, start: date, end: date) -> list[GroupFigures]:
    """Per lead source, for leads captured in the period: leads, converted, won value;
    best won value first."""
    source = func.coalesce(Lead.source, NO_SOURCE)
    rows = session.execute(_cohort(select(source, *_cohort_columns()), start, end).group_by(source))
    figures = [GroupFigures(name, n, c, w, money(v)) for name, n, c, w, v in rows]
    return sorted(figures, key=lambda f: (-f.won_value, -f.leads, f.name))


def by_rep(session: Session, start: date, end: date) -> list[GroupFigures]:
    """Per rep (the lead's owner), for leads captured in the period: leads captured,
    converted, won value of the opportunities they became."""
    rows = session.execute(
        _cohort(select(User.name, *_cohort_columns()), start, end)
        .join(User, User.id == Lead.owner_id)
        .group_by(User.id, User.name)
    )
    figures = [GroupFigures(name, n, c, w, money(v)) for name, n, c, w, v in rows]
    return sorted(figures, key=lambda f: (-f.won_value, -f.leads, f.name))
