"""What the forecast sums: open opportunities by expected close month, wins, overdue
deals, the lead funnel, and figures by source and by rep. Every figure is aggregated by
the database (GROUP BY); Python only fills in the months and ratios.

Its months and quarters are the team's (one forecast for everyone): ``today`` is the team's
today and a moment (a win's ``closed_at``, a lead's ``captured_at``) counts on the day it
fell on in the team's zone (``zone``), so a deal won at 07:00 on 1 July in Perth is July's
though it is 30 June in UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import exists, extract, func, select
from sqlalchemy.orm import Session, selectinload

from quickcrm.domain import validation as v
from quickcrm.domain.money import cents, weighted
from quickcrm.domain.team import UTC_ZONE, period_bounds
from quickcrm.models import (
    TEMPERATURES,
    Category,
    CompanyCategory,
    Lead,
    LeadCategory,
    Opportunity,
    User,
)

MONTHS_AHEAD = 6
NO_SOURCE = "(no source)"


def month_start(when: date, months_ahead: int = 0) -> date:
    index = when.year * 12 + when.month - 1 + months_ahead
    return date(index // 12, index % 12 + 1, 1)


def quarter_start(when: date) -> date:
    return date(when.year, 3 * ((when.month - 1) // 3) + 1, 1)


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
        date(int(y), int(m), 1): MonthFigures(date(int(y), int(m), 1), n, cents(t), cents(w))
        for y, m, n, t, w in rows
    }
    return [
        found.get(first, MonthFigures(first, 0, cents(0), cents(0)))
        for first in (month_start(today, i) for i in range(months))
    ]


@dataclass
class Won:
    count: int
    total: Decimal


def won_between(session: Session, start: date, end: date, zone: ZoneInfo = UTC_ZONE) -> Won:
    """Opportunities won from ``start`` up to and including ``end``, days in ``zone`` (by
    when they closed)."""
    first, after = period_bounds(start, end, zone)
    count, total = session.execute(
        select(func.count(Opportunity.id), func.coalesce(func.sum(Opportunity.value), 0)).where(
            Opportunity.outcome == "won",
            Opportunity.closed_at >= first,
            Opportunity.closed_at < after,
        )
    ).one()
    return Won(count, cents(total))


def won_this_month(session: Session, today: date, zone: ZoneInfo = UTC_ZONE) -> Won:
    return won_between(session, month_start(today), today, zone)


def won_this_quarter(session: Session, today: date, zone: ZoneInfo = UTC_ZONE) -> Won:
    return won_between(session, quarter_start(today), today, zone)


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


# --- the leads pipeline: open leads' potential value, unweighted (issue 29) --------------


@dataclass
class Potential:
    """The potential value reps gave open leads (the size of the sale they expect), summed
    as it is: no probability weighs it, unlike an opportunity's. ``count`` is the number of
    open leads with a value, ``by_temperature`` the same per temperature (``None``: none
    given), hot first."""

    count: int
    total: Decimal
    by_temperature: list[tuple[str | None, int, Decimal]]


def leads_potential(session: Session) -> Potential:
    """The open leads' potential value: one grouped query (by temperature), whatever the
    number of leads."""
    rows = session.execute(
        select(Lead.temperature, func.count(), func.coalesce(func.sum(Lead.potential_value), 0))
        .where(
            Lead.status == "open",
            Lead.potential_value.is_not(None),
            Lead.merged_into_id.is_(None),
        )
        .group_by(Lead.temperature)
    ).all()
    order = {t: i for i, t in enumerate(reversed(TEMPERATURES))}  # hot, warm, cold, none
    groups = sorted(
        ((t, n, cents(total)) for t, n, total in rows), key=lambda g: order.get(g[0], len(order))
    )
    return Potential(
        count=sum(n for _, n, _ in groups),
        total=cents(sum((total for _, _, total in groups), Decimal(0))),
        by_temperature=groups,
    )


# --- the funnel: a cohort of leads captured in the period --------------------------------
#
# Leads captured between start and end (inclusive), how many of them were converted, and
# how many of those became an opportunity that is won (whenever it was won). Following one
# cohort keeps every rate between 0 and 100 %.
#
# The funnel, the figures by source and those by rep are sums of the same cohort, so two
# grouped queries serve all three (docs/speed.md, "Forecast"):
# - the leads of the period per (owner, source, status), read from the covering index
#   ix_lead_owner_source_status_captured in its order, one pass and no sort;
# - the won opportunities the leads of the period became, per (owner, source): few rows,
#   found from the won opportunities through ix_lead_opportunity_id, not by joining every
#   lead of the period to its opportunity.
# A lead counts once per row of each (a won opportunity two leads became counts for both,
# as a join of each lead to its opportunity counts it).


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


@dataclass
class GroupFigures(Funnel):
    """The funnel of the leads of one source or one rep."""

    name: str = field(kw_only=True)


@dataclass
class Cohort:
    """The leads captured in a period: the funnel, and the same figures by source and by
    rep (best won value first)."""

    funnel: Funnel
    sources: list[GroupFigures]
    reps: list[GroupFigures]


def _in_period(start: date, end: date, zone: ZoneInfo):
    first, after = period_bounds(start, end, zone)
    return Lead.captured_at >= first, Lead.captured_at < after


def cohort(session: Session, start: date, end: date, zone: ZoneInfo = UTC_ZONE) -> Cohort:
    """The funnel, by source and by rep, for the leads captured from ``start`` up to and
    including ``end``, days in ``zone``."""
    # (owner id, source) -> [leads, converted, won, won value]
    groups: dict[tuple[int, str | None], list] = {}
    leads = session.execute(
        select(Lead.owner_id, Lead.source, Lead.status, func.count())
        .where(*_in_period(start, end, zone))
        .group_by(Lead.owner_id, Lead.source, Lead.status)
    )
    for owner_id, source, status, n in leads:
        group = groups.setdefault((owner_id, source), [0, 0, 0, 0])
        group[0] += n
        if status == "converted":
            group[1] += n
    # A lead merged into another (quickcrm/domain/merge.py) was the same person captured
    # twice: not a lead of its own. Few rows, found through ix_lead_merged_into_id, so the
    # count above keeps reading its covering index alone.
    merged = session.execute(
        select(Lead.owner_id, Lead.source, func.count())
        .where(Lead.merged_into_id.is_not(None), *_in_period(start, end, zone))
        .group_by(Lead.owner_id, Lead.source)
    )
    for owner_id, source, n in merged:
        groups[(owner_id, source)][0] -= n
        if not any(groups[(owner_id, source)]):
            del groups[(owner_id, source)]
    # SQLite: "+ 0" has the lead table reached from the won opportunities, never the other
    # way round. With ANALYZE's statistics it preferred reading every lead of the period and
    # looking its opportunity up (800 ms against 20 at 100,000 leads). PostgreSQL picks
    # well, and would hash every lead of the period for "+ 0".
    sqlite = session.get_bind().dialect.name == "sqlite"
    won_id = Opportunity.id + 0 if sqlite else Opportunity.id
    won = session.execute(
        select(
            Lead.owner_id,
            Lead.source,
            func.count(),
            func.coalesce(func.sum(Opportunity.value), 0),
        )
        .join(Lead, Lead.opportunity_id == won_id)
        .where(Opportunity.outcome == "won", *_in_period(start, end, zone))
        .group_by(Lead.owner_id, Lead.source)
    )
    for owner_id, source, n, value in won:
        group = groups.setdefault((owner_id, source), [0, 0, 0, 0])
        group[2] += n
        group[3] += value
    names = dict(
        session.execute(
            select(User.id, User.name).where(User.id.in_({owner for owner, _ in groups}))
        ).all()
    )
    total = [0, 0, 0, 0]
    by_source: dict[str, list] = {}
    by_rep: dict[int, list] = {}
    for (owner_id, source), figures in groups.items():
        for sums in (
            total,
            by_source.setdefault(NO_SOURCE if source is None else source, [0, 0, 0, 0]),
            by_rep.setdefault(owner_id, [0, 0, 0, 0]),
        ):
            for i, figure in enumerate(figures):
                sums[i] += figure

    def ranked(figures: list[GroupFigures]) -> list[GroupFigures]:
        return sorted(figures, key=lambda f: (-f.won_value, -f.leads, f.name))

    return Cohort(
        funnel=Funnel(total[0], total[1], total[2], cents(total[3])),
        sources=ranked(
            [GroupFigures(n, c, w, cents(v), name=name) for name, (n, c, w, v) in by_source.items()]
        ),
        reps=ranked(
            [
                GroupFigures(n, c, w, cents(v), name=names[owner_id])
                for owner_id, (n, c, w, v) in by_rep.items()
            ]
        ),
    )


def funnel(session: Session, start: date, end: date, zone: ZoneInfo = UTC_ZONE) -> Funnel:
    return cohort(session, start, end, zone).funnel


def by_source(
    session: Session, start: date, end: date, zone: ZoneInfo = UTC_ZONE
) -> list[GroupFigures]:
    """Per lead source, for leads captured in the period: leads, converted, won value;
    best won value first."""
    return cohort(session, start, end, zone).sources


def by_rep(
    session: Session, start: date, end: date, zone: ZoneInfo = UTC_ZONE
) -> list[GroupFigures]:
    """Per rep (the lead's owner), for leads captured in the period: leads captured,
    converted, won value of the opportunities they became."""
    return cohort(session, start, end, zone).reps


def period(start: str | None, end: str | None, today: date) -> tuple[date, date, dict[str, str]]:
    """The funnel's period from what was typed (ISO dates), by default this quarter so far,
    with a message for each field that could not be used (its default is used instead)."""
    errors: dict[str, str] = {}
    default = (quarter_start(today), today)
    days = []
    for name, raw, fallback in zip(("start", "end"), (start, end), default, strict=True):
        try:
            days.append(v.day(raw, "Enter a date like 2026-11-01.") or fallback)
        except v.Refused as exc:
            errors[name] = str(exc)
            days.append(fallback)
    first, last = days
    if first > last:
        errors["end"] = "The end must be on or after the start."
        first, last = default
    return first, last, errors


# --- By category (docs/domain.md, "Categories") --------------------------------------------

NO_CATEGORY = "(no category)"


@dataclass
class CategoryFigures:
    """The open pipeline of one category: the open opportunities of the companies that have
    it (count, total, weighted) and the open leads that have it (count, their potential)."""

    name: str
    opportunities: int = 0
    total: Decimal = field(default_factory=lambda: cents(0))
    weighted: Decimal = field(default_factory=lambda: cents(0))
    leads: int = 0
    potential: Decimal = field(default_factory=lambda: cents(0))


def by_category(session: Session) -> list[CategoryFigures]:
    """The open pipeline by category, in the admin's order, then what has none. A company
    or lead in two categories counts in both: the rows add up to more than the whole."""
    deals = (
        select(
            CompanyCategory.category_id,
            func.count(Opportunity.id),
            func.coalesce(func.sum(Opportunity.value), 0),
            func.coalesce(func.sum(weighted(Opportunity.value, Opportunity.probability)), 0),
        )
        .join(CompanyCategory, CompanyCategory.company_id == Opportunity.company_id)
        .where(Opportunity.outcome == "open")
        .group_by(CompanyCategory.category_id)
    )
    untagged_deals = select(
        func.count(Opportunity.id),
        func.coalesce(func.sum(Opportunity.value), 0),
        func.coalesce(func.sum(weighted(Opportunity.value, Opportunity.probability)), 0),
    ).where(
        Opportunity.outcome == "open",
        ~exists().where(CompanyCategory.company_id == Opportunity.company_id),
    )
    leads = (
        select(
            LeadCategory.category_id,
            func.count(Lead.id),
            func.coalesce(func.sum(Lead.potential_value), 0),
        )
        .join(Lead, Lead.id == LeadCategory.lead_id)
        .where(Lead.status == "open")
        .group_by(LeadCategory.category_id)
    )
    untagged_leads = select(
        func.count(Lead.id), func.coalesce(func.sum(Lead.potential_value), 0)
    ).where(Lead.status == "open", ~exists().where(LeadCategory.lead_id == Lead.id))
    rows = {
        category.id: CategoryFigures(category.name)
        for category in session.scalars(select(Category).order_by(Category.position, Category.id))
    }
    for ident, n, total, weighted_total in session.execute(deals):
        if ident in rows:
            row = rows[ident]
            row.opportunities, row.total, row.weighted = n, cents(total), cents(weighted_total)
    for ident, n, potential in session.execute(leads):
        if ident in rows:
            rows[ident].leads, rows[ident].potential = n, cents(potential)
    n, total, weighted_total = session.execute(untagged_deals).one()
    leads_n, potential = session.execute(untagged_leads).one()
    none = CategoryFigures(
        NO_CATEGORY, n, cents(total), cents(weighted_total), leads_n, cents(potential)
    )
    return [*rows.values(), none]
