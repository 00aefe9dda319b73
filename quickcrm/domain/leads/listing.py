"""The leads list: its filters, sorts and keyset paging; review mode's order; the sources
to filter by."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select, text, tuple_
from sqlalchemy.orm import Session

from quickcrm.domain import team as teams
from quickcrm.domain import validation as v
from quickcrm.domain.categories import lead_has
from quickcrm.domain.leads.search import search_condition
from quickcrm.domain.lists import ListQuery
from quickcrm.models import LEAD_STATUSES, TEMPERATURES, Lead, User

# Sorts of the list: (column, descending) with the id as the tie-breaker. Leads without a
# next action come after those with one; names as people expect (quickcrm/domain/sorting.py).
# A leading "-" is the other way round (a column header clicked twice on a desk).
SORTS = {
    "captured": (Lead.captured_at, True),
    "-captured": (Lead.captured_at, False),
    "next": (Lead.next_action_on, False),
    "name": (Lead.name_sort, False),
    "-name": (Lead.name_sort, True),
}
DUE_FILTERS = ("overdue", "today", "week", "none")
PAGE_SIZE = 50
COUNT_CAP = 1000


@dataclass
class LeadQuery(ListQuery):
    """What the leads list shows: the filters and sort of the URL, cleaned, and its cursor
    (``after``: the sort value and id of the last lead shown)."""

    q: str = ""
    status: str = ""
    temperature: str = ""
    owner_id: int | None = None
    source: str = ""
    category_id: int | None = None
    captured_from: date | None = None
    captured_to: date | None = None
    due: str = ""
    sort: str = "captured"

    @classmethod
    def filters_from(cls, args: Mapping[str, str]) -> dict[str, object]:
        def day(name: str) -> date | None:
            try:
                return v.day(args.get(name))
            except v.Refused:
                return None

        status = args.get("status", "open").strip()
        return {
            "q": args.get("q", "").strip()[:200],
            "status": status if status in LEAD_STATUSES else "",
            "temperature": args.get("temperature", "")
            if args.get("temperature") in TEMPERATURES
            else "",
            "owner_id": v.record_id(args.get("owner")),
            "source": args.get("source", "").strip()[:120],
            "category_id": v.record_id(args.get("category")),
            "captured_from": day("from"),
            "captured_to": day("to"),
            "due": args.get("due", "") if args.get("due") in DUE_FILTERS else "",
            "sort": args.get("sort", "") if args.get("sort") in SORTS else "captured",
        }

    def filter_args(self) -> dict[str, str]:
        return {
            "q": self.q,
            "status": self.status or "all",
            "temperature": self.temperature,
            "owner": str(self.owner_id or ""),
            "source": self.source,
            "category": str(self.category_id or ""),
            "from": self.captured_from.isoformat() if self.captured_from else "",
            "to": self.captured_to.isoformat() if self.captured_to else "",
            "due": self.due,
            "sort": "" if self.sort == "captured" else self.sort,
        }


def _filtered(
    query: LeadQuery,
    viewer: User,
    today: date,
    search: ColumnElement[bool] | None = None,
    zone: ZoneInfo = teams.UTC_ZONE,
    week_start: int = teams.MONDAY,
) -> Select:
    """The list's leads. *Captured from/to* are local days of the viewer (``zone``): a
    lead captured at 06:00 in Perth on Sunday is Sunday's, though it is Saturday in UTC.
    *Next action this week* is from ``today`` to the last day of the viewer's week."""
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
    if query.category_id:
        stmt = stmt.where(lead_has(query.category_id))
    if query.captured_from:
        stmt = stmt.where(Lead.captured_at >= teams.day_bounds(query.captured_from, zone)[0])
    if query.captured_to:
        stmt = stmt.where(Lead.captured_at < teams.day_bounds(query.captured_to, zone)[1])
    if search is not None:
        stmt = stmt.where(search)
    if query.due == "none":
        stmt = stmt.where(Lead.next_action_on.is_(None))
    elif query.due:
        low, high = {
            "overdue": (None, today),
            "today": (today, today + timedelta(days=1)),
            "week": (today, teams.week_of(today, week_start)[1] + timedelta(days=1)),
        }[query.due]
        if low is not None:
            stmt = stmt.where(Lead.next_action_on >= low)
        stmt = stmt.where(Lead.next_action_on < high)
    return stmt


@dataclass
class LeadPage:
    leads: list[Lead]
    next_after: str | None
    total: int
    more: bool = False  # True when there are more than ``total`` (the count was capped)


def list_leads(
    session: Session,
    query: LeadQuery,
    viewer: User,
    *,
    today: date,
    zone: ZoneInfo = teams.UTC_ZONE,
    week_start: int = teams.MONDAY,
) -> LeadPage:
    """One page of the filtered, sorted leads, continuing after the query's cursor (keyset
    paging: the sort value and id of the last lead shown, never an OFFSET). ``today``,
    ``zone`` and ``week_start`` are the viewer's (their dates filter in their days)."""
    search = search_condition(session, query.q)
    filtered = _filtered(query, viewer, today, search, zone, week_start)
    cursor = _decode_cursor(query.after, query.sort)
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
    return f"{last.id}:{value if sort.endswith('name') else value.isoformat()}"


def _decode_cursor(after: str | None, sort: str):
    """The (sort value, id) of a cursor, or ``None`` when it is missing or malformed."""
    if not after or ":" not in after:
        return None
    raw_id, _, key = after.partition(":")
    last_id = v.record_id(raw_id)
    if last_id is None:
        return None
    if sort.endswith("name"):
        return (key, last_id) if v.storable(key) else None
    if sort == "next" and key == "":
        return None, last_id
    if sort.endswith("captured"):
        when = v.moment(key)
        return (when, last_id) if when is not None else None
    try:
        return v.day(key), last_id
    except v.Refused:
        return None


def listed(
    session: Session,
    query: LeadQuery,
    viewer: User,
    *,
    today: date,
    zone: ZoneInfo = teams.UTC_ZONE,
    week_start: int = teams.MONDAY,
) -> Select:
    """Every lead of the filtered, searched list ``viewer`` sees, in its order: review
    mode's steps and the CSV export read it."""
    search = search_condition(session, query.q)
    filtered = _filtered(query, viewer, today, search, zone, week_start)
    return filtered.order_by(*_order(query.sort))


def lead_ids(
    session: Session,
    query: LeadQuery,
    viewer: User,
    *,
    today: date,
    zone: ZoneInfo = teams.UTC_ZONE,
    week_start: int = teams.MONDAY,
) -> list[int]:
    """The ids of every lead of the filtered list, in its order: review mode's steps."""
    stmt = listed(session, query, viewer, today=today, zone=zone, week_start=week_start)
    stmt = stmt.with_only_columns(Lead.id)
    return list(session.scalars(stmt.limit(5000)))


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
