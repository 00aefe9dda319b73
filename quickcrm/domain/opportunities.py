"""Opportunities: the board's columns and their sums (the pipeline), moving an opportunity
between stages, winning and losing it, the edit form and the filtered list. The admin's
stages and lost reasons are in stages.py, money and weighted value in money.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, joinedload, selectinload

from quickcrm.domain import validation as v
from quickcrm.domain.lists import ListQuery
from quickcrm.domain.money import cents, weighted
from quickcrm.domain.stages import lost_reasons
from quickcrm.models import (
    OUTCOMES,
    Company,
    Contact,
    Opportunity,
    Stage,
    User,
    utcnow,
)

# --- the board ---------------------------------------------------------------------------


@dataclass
class Column:
    stage: Stage
    count: int = 0
    total: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    # The first ``BOARD_CARDS`` of the stage's ``count`` open opportunities.
    opportunities: list[Opportunity] = field(default_factory=list)

    @property
    def more(self) -> int:
        """How many of the stage's open opportunities the board does not show."""
        return max(0, self.count - len(self.opportunities))


# Cards per column: a coordinator works the deals that close soonest; the rest of a stage
# is one tap away in the list (filtered by stage), so the board costs the same at any size.
BOARD_CARDS = 25


def open_stages(session: Session) -> list[Stage]:
    return list(
        session.scalars(select(Stage).where(Stage.outcome == "open").order_by(Stage.position))
    )


def board(
    session: Session,
    owner_id: int | None = None,
    *,
    cards: int | None = None,
    keep: Opportunity | None = None,
) -> list[Column]:
    """A column per open stage: count, total and weighted total of its open opportunities
    summed by the database, and its first ``cards`` (``BOARD_CARDS``) of them by close date
    (soonest first, undated last) — bounded reads of the (stage, outcome, close date) index,
    whatever the number of opportunities. ``keep`` (one just moved) shows in its column even
    past the first ``cards``, so the person who moved it sees where it went."""
    cards = cards or BOARD_CARDS
    columns = {stage.id: Column(stage) for stage in open_stages(session)}
    where = [Opportunity.outcome == "open", Opportunity.stage_id.in_(columns)]
    if owner_id is not None:
        where.append(Opportunity.owner_id == owner_id)
    sums = session.execute(
        select(
            Opportunity.stage_id,
            func.count(Opportunity.id),
            func.coalesce(func.sum(Opportunity.value), 0),
            func.coalesce(func.sum(weighted(Opportunity.value, Opportunity.probability)), 0),
        )
        .where(*where)
        .group_by(Opportunity.stage_id)
    )
    for stage_id, count, total, weight in sums:
        column = columns[stage_id]
        column.count, column.total, column.weighted = count, cents(total), cents(weight)
    for column in columns.values():
        if column.count:
            column.opportunities = _first_cards(session, column.stage.id, owner_id, cards)
    if keep is not None and keep.outcome == "open" and keep.stage_id in columns:
        shown = columns[keep.stage_id].opportunities
        if keep not in shown:
            shown.append(keep)
    return list(columns.values())


def _first_cards(
    session: Session, stage_id: int, owner_id: int | None, cards: int
) -> list[Opportunity]:
    """The stage's first ``cards`` open opportunities: dated ones by close date, then the
    undated — two index range scans (SQLite and PostgreSQL put NULLs at opposite ends)."""
    where = [Opportunity.stage_id == stage_id, Opportunity.outcome == "open"]
    if owner_id is not None:
        where.append(Opportunity.owner_id == owner_id)
    query = select(Opportunity).options(
        joinedload(Opportunity.company), joinedload(Opportunity.owner)
    )
    found = list(
        session.scalars(
            query.where(*where, Opportunity.close_on.is_not(None))
            .order_by(Opportunity.close_on, Opportunity.id)
            .limit(cards)
        )
    )
    if len(found) < cards:
        found += session.scalars(
            query.where(*where, Opportunity.close_on.is_(None))
            .order_by(Opportunity.id)
            .limit(cards - len(found))
        )
    return found


# --- moving, winning, losing --------------------------------------------------------------


def may_act_on(user: User, opportunity: Opportunity) -> bool:
    """Whether ``user`` may move the opportunity's stage and mark it won or lost: a rep the
    opportunities they own, a coordinator or an admin every one (README, "Opportunities").
    Everyone sees every opportunity; this rule is only about changing one."""
    if user.can("coordinator"):
        return True
    return opportunity.owner_id is not None and opportunity.owner_id == user.id


def _close(opportunity: Opportunity, outcome: str, now: datetime | None) -> None:
    opportunity.outcome = outcome
    opportunity.closed_at = (now or utcnow()) if outcome != "open" else None
    if outcome == "won":
        opportunity.probability = 100
    elif outcome == "lost":
        opportunity.probability = 0


def move_to_stage(
    session: Session, opportunity: Opportunity, stage_id: int, now: datetime | None = None
) -> Opportunity:
    """Put the opportunity in another open stage; its probability follows the stage unless
    someone set it by hand. A won or lost stage goes through ``win`` / ``lose``."""
    stage = session.get(Stage, stage_id)
    if stage is None or stage.outcome != "open":
        raise v.Refused({"stage_id": "Choose one of the open stages."})
    opportunity.stage = stage
    if not opportunity.probability_manual:
        opportunity.probability = stage.probability
    _close(opportunity, "open", now)
    opportunity.lost_reason = None
    session.flush()
    return opportunity


def _stage_for(session: Session, outcome: str) -> Stage:
    stage = session.scalar(
        select(Stage).where(Stage.outcome == outcome).order_by(Stage.position).limit(1)
    )
    if stage is None:
        raise v.Refused({"stage_id": f"There is no {outcome} stage; ask an admin to add one."})
    return stage


def win(session: Session, opportunity: Opportunity, now: datetime | None = None) -> Opportunity:
    opportunity.stage = _stage_for(session, "won")
    opportunity.lost_reason = None
    _close(opportunity, "won", now)
    session.flush()
    return opportunity


def lose(
    session: Session, opportunity: Opportunity, reason: str, now: datetime | None = None
) -> Opportunity:
    """Lose the opportunity for one of the admin's lost reasons."""
    reason = (reason or "").strip()
    if reason not in lost_reasons(session):
        raise v.Refused({"lost_reason": "Choose why it was lost."})
    opportunity.stage = _stage_for(session, "lost")
    opportunity.lost_reason = reason
    _close(opportunity, "lost", now)
    session.flush()
    return opportunity


# --- editing --------------------------------------------------------------------------------

OPPORTUNITY_FIELDS = (
    "title",
    "value",
    "stage_id",
    "probability",
    "close_on",
    "owner_id",
    "contact_id",
)


@dataclass
class OpportunityForm(v.Form):
    """A new or edited opportunity: ``OpportunityForm.clean(session, raw, company=)``."""

    FIELDS = OPPORTUNITY_FIELDS
    # A form without the primary-contact select keeps the opportunity's contact.
    has_contact: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> OpportunityForm:
        form = super().from_mapping(data)
        form.has_contact = "contact_id" in data
        return form

    @classmethod
    def new(cls, session: Session, owner: User, close_on: date | None) -> OpportunityForm:
        """The *New opportunity* form as first shown: the first stage and its probability."""
        first = session.scalar(
            select(Stage).where(Stage.outcome == "open").order_by(Stage.position).limit(1)
        )
        return cls(
            raw={
                "title": "",
                "value": "",
                "stage_id": str(first.id) if first else "",
                "probability": str(first.probability) if first else "",
                "close_on": close_on.isoformat() if close_on else "",
                "owner_id": str(owner.id),
                "contact_id": "",
            }
        )

    @classmethod
    def of(cls, opportunity: Opportunity) -> OpportunityForm:
        return cls(
            raw={
                "title": opportunity.title,
                "value": f"{opportunity.value:.2f}",
                "stage_id": str(opportunity.stage_id),
                "probability": str(opportunity.probability),
                "close_on": opportunity.close_on.isoformat() if opportunity.close_on else "",
                "owner_id": str(opportunity.owner_id or ""),
                "contact_id": str(opportunity.contact_id or ""),
            }
        )

    def validate(self, session: Session, *, company: Company | None = None) -> None:
        """Check the typed opportunity; its primary contact must work at ``company``. An
        empty probability takes the chosen stage's."""
        raw = self.raw
        stage = v.chosen(session, Stage, raw["stage_id"])
        if not raw["probability"] and stage is not None:
            raw["probability"] = str(stage.probability)
        self.check(
            "title",
            lambda s: v.text(s, max_length=200, required="Enter a title for the opportunity."),
        )
        self.check("value", v.money)
        self.check("probability", v.percentage)
        self.check("close_on", lambda s: v.day(s, "Enter a date like 2026-12-15."))
        if stage is None:
            self.errors["stage_id"] = "Choose a stage."
        self.values["stage"] = stage
        owner = v.chosen(session, User, raw["owner_id"])
        if raw["owner_id"] and (owner is None or not owner.active):
            self.errors["owner_id"] = "Choose an active user."
        self.values["owner_id"] = owner.id if owner else None
        if self.has_contact:
            contact = v.chosen(session, Contact, raw["contact_id"])
            if raw["contact_id"] and (
                contact is None or company is None or contact.company_id != company.id
            ):
                self.errors["contact_id"] = "Choose one of the company's contacts."
            self.values["contact_id"] = contact.id if contact else None


def create_opportunity(
    session: Session, company: Company, form: OpportunityForm, now: datetime | None = None
) -> Opportunity:
    """A new opportunity for ``company`` from a cleaned form (the second deal of an existing
    customer never goes through a lead)."""
    assert form.ok, "create_opportunity needs a cleaned form without errors"
    values = form.values
    stage: Stage = values["stage"]
    if stage.outcome != "open":
        raise v.Refused({"stage_id": "A new opportunity starts in one of the open stages."})
    opportunity = Opportunity(
        company_id=company.id,
        contact_id=values.get("contact_id"),
        title=values["title"],
        value=values["value"],
        stage=stage,
        probability=values["probability"],
        probability_manual=values["probability"] != stage.probability,
        close_on=values["close_on"],
        owner_id=values["owner_id"],
    )
    session.add(opportunity)
    session.flush()
    return opportunity


def update_opportunity(
    session: Session,
    opportunity: Opportunity,
    form: OpportunityForm,
    lost_reason: str = "",
    now: datetime | None = None,
) -> Opportunity:
    """Apply an edit. A probability different from the stage's default marks it as set by
    hand; typing the stage's default back makes it follow the stage again."""
    assert form.ok, "update_opportunity needs a cleaned form without errors"
    values = form.values
    stage: Stage = values["stage"]
    if stage.outcome == "lost":
        reason = (lost_reason or opportunity.lost_reason or "").strip()
        if reason not in lost_reasons(session):
            raise v.Refused({"lost_reason": "Choose why it was lost."})
        opportunity.lost_reason = reason
    else:
        opportunity.lost_reason = None
    opportunity.title = values["title"]
    opportunity.value = values["value"]
    opportunity.close_on = values["close_on"]
    opportunity.owner_id = values["owner_id"]
    if form.has_contact:
        opportunity.contact_id = values["contact_id"]
    changed_stage = stage.id != opportunity.stage_id
    opportunity.stage = stage
    probability = values["probability"]
    if (
        changed_stage
        and not opportunity.probability_manual
        and (probability == opportunity.probability)
    ):
        probability = stage.probability  # the stage moved; an untouched probability follows
    opportunity.probability_manual = probability != stage.probability
    opportunity.probability = probability
    if stage.outcome != opportunity.outcome:
        _close(opportunity, stage.outcome, now)
        if stage.outcome != "open":
            opportunity.probability_manual = False
    session.flush()
    return opportunity


# --- the list -------------------------------------------------------------------------------


@dataclass
class OpportunityQuery(ListQuery):
    """The opportunities list's filters and sort, read from the URL (a value the list does
    not offer is ignored), and its cursor ("<close date>.<id>", ".<id>" among the undated;
    "<value>:<id>" sorted by value)."""

    owner_id: int | None = None
    stage_id: int | None = None
    close_month: date | None = None  # the first day of the month
    outcome: str = ""
    sort: str = "close"

    @classmethod
    def filters_from(cls, args: Mapping[str, str]) -> dict[str, object]:
        try:
            month = v.month(args.get("close_month"))
        except v.Refused:
            month = None
        outcome = (args.get("outcome") or "").strip()
        return {
            "owner_id": v.record_id(args.get("owner_id")),
            "stage_id": v.record_id(args.get("stage_id")),
            "close_month": month,
            "outcome": outcome if outcome in OUTCOMES else "",
            "sort": args.get("sort") if args.get("sort") in LIST_SORTS else "close",
        }

    def filter_args(self) -> dict[str, str]:
        return {
            "owner_id": str(self.owner_id or ""),
            "stage_id": str(self.stage_id or ""),
            "close_month": self.close_month.strftime("%Y-%m") if self.close_month else "",
            "outcome": self.outcome,
            "sort": "" if self.sort == "close" else self.sort,
        }


# The list's orders: by close date (soonest first, the undated last), by value (the biggest
# first) or by value the other way round ("-value"); the id breaks ties.
LIST_SORTS = ("close", "value", "-value")
LIST_PAGE = 100


@dataclass
class OpportunityPage:
    opportunities: list[Opportunity]
    # Where the next page starts ("<close date>.<id>", ".<id>" among the undated), when
    # more follow.
    after: str | None


def opportunity_list(session: Session, query: OpportunityQuery) -> OpportunityPage:
    """A page of the list: ``LIST_PAGE`` opportunities in the list's order, from the one
    after the query's cursor (keyset: a later page costs what the first does). A cursor
    that is not one of this list's starts at the beginning."""
    stmt = opportunities_filtered(query).options(
        selectinload(Opportunity.company),
        selectinload(Opportunity.owner),
        selectinload(Opportunity.stage),
    )
    start = _after(query.after) if query.sort == "close" else _after_value(query)
    if start is not None:
        stmt = stmt.where(start)
    found = list(session.scalars(stmt.limit(LIST_PAGE + 1)))
    if len(found) <= LIST_PAGE:
        return OpportunityPage(found, None)
    last = found[LIST_PAGE - 1]
    if query.sort == "close":
        cursor = f"{last.close_on.isoformat() if last.close_on else ''}.{last.id}"
    else:
        cursor = f"{last.value}:{last.id}"
    return OpportunityPage(found[:LIST_PAGE], cursor)


def _after_value(query: OpportunityQuery):
    """The condition "after the cursor's row" in value order, or ``None`` for a missing or
    malformed cursor."""
    raw_value, colon, raw_id = (query.after or "").partition(":")
    last_id = v.record_id(raw_id) if colon else None
    try:
        last_value = Decimal(raw_value)
    except ArithmeticError:
        return None
    # Only a value the column can hold (Numeric(14, 2)) is one of this list's.
    if last_id is None or not last_value.is_finite() or abs(last_value) >= 10**12:
        return None
    key, at = tuple_(Opportunity.value, Opportunity.id), tuple_(literal(last_value), last_id)
    return key < at if query.sort == "value" else key > at


def _after(cursor: str | None):
    """The condition "after the cursor's row" in the list's order (dated by close date,
    then the undated), or ``None`` for a missing or malformed cursor."""
    found = v.day_and_id(cursor)
    if found is None:
        return None
    last_day, last_id = found
    if last_day is None:
        return and_(Opportunity.close_on.is_(None), Opportunity.id > last_id)
    return or_(
        Opportunity.close_on > last_day,
        and_(Opportunity.close_on == last_day, Opportunity.id > last_id),
        Opportunity.close_on.is_(None),
    )


def opportunities_filtered(filters: OpportunityQuery) -> Select:
    """The opportunities list's statement for ``filters``, in its order: the list shows it
    a page at a time, the CSV export all of it."""
    query = select(Opportunity)
    if filters.owner_id is not None:
        query = query.where(Opportunity.owner_id == filters.owner_id)
    if filters.stage_id is not None:
        query = query.where(Opportunity.stage_id == filters.stage_id)
    if filters.outcome:
        query = query.where(Opportunity.outcome == filters.outcome)
    if filters.close_month:
        start = filters.close_month
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        query = query.where(Opportunity.close_on >= start, Opportunity.close_on < end)
    if filters.sort == "value":
        return query.order_by(Opportunity.value.desc(), Opportunity.id.desc())
    if filters.sort == "-value":
        return query.order_by(Opportunity.value, Opportunity.id)
    return query.order_by(Opportunity.close_on.is_(None), Opportunity.close_on, Opportunity.id)
