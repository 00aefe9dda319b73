"""The pipeline: the board's columns and their sums, moving an opportunity between stages,
winning and losing it, editing it; and the admin's stages and lost reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from quickcrm.domain import validation as v
from quickcrm.models import (
    OUTCOMES,
    Company,
    Contact,
    LostReason,
    Opportunity,
    Stage,
    User,
    utcnow,
)

DEFAULT_LOST_REASONS = ("Price", "Went with a competitor", "No budget", "No decision", "Other")


class PipelineError(ValueError):
    """Input that cannot be accepted; ``field`` names the form field it belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def weighted(value_column, probability_column):
    """value × probability % as SQL."""
    return value_column * probability_column / 100


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
        column.count, column.total, column.weighted = count, money(total), money(weight)
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


def money(amount) -> Decimal:
    """A sum from the database (Decimal, float or int by dialect) rounded to cents."""
    return Decimal(str(amount or 0)).quantize(Decimal("0.01"))


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
        raise PipelineError("stage_id", "Choose one of the open stages.")
    opportunity.stage = stage
    if not opportunity.probability_manual:
        opportunity.probability = stage.probability
    _close(opportunity, "open", now)
    opportunity.lost_reason = None
    session.commit()
    return opportunity


def _stage_for(session: Session, outcome: str) -> Stage:
    stage = session.scalar(
        select(Stage).where(Stage.outcome == outcome).order_by(Stage.position).limit(1)
    )
    if stage is None:
        raise PipelineError("stage_id", f"There is no {outcome} stage; ask an admin to add one.")
    return stage


def win(session: Session, opportunity: Opportunity, now: datetime | None = None) -> Opportunity:
    opportunity.stage = _stage_for(session, "won")
    opportunity.lost_reason = None
    _close(opportunity, "won", now)
    session.commit()
    return opportunity


def lose(
    session: Session, opportunity: Opportunity, reason: str, now: datetime | None = None
) -> Opportunity:
    """Lose the opportunity for one of the admin's lost reasons."""
    reason = (reason or "").strip()
    if reason not in lost_reasons(session):
        raise PipelineError("lost_reason", "Choose why it was lost.")
    opportunity.stage = _stage_for(session, "lost")
    opportunity.lost_reason = reason
    _close(opportunity, "lost", now)
    session.commit()
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
class OpportunityForm:
    raw: dict[str, str]
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # A form without the primary-contact select keeps the opportunity's contact.
    has_contact: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, str]) -> OpportunityForm:
        raw = {name: (data.get(name) or "").strip() for name in OPPORTUNITY_FIELDS}
        return cls(raw=raw, has_contact="contact_id" in data)

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

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_value(raw: str) -> Decimal:
    return v.money(raw)


def parse_probability(raw: str) -> int:
    return v.percentage(raw)


def clean(
    session: Session, form: OpportunityForm, company: Company | None = None
) -> OpportunityForm:
    """Check the typed opportunity; its primary contact must work at ``company``. An empty
    probability takes the chosen stage's."""
    raw = form.raw
    stage = v.chosen(session, Stage, raw["stage_id"])
    if not raw["probability"] and stage is not None:
        raw["probability"] = str(stage.probability)
    try:
        form.values["title"] = v.text(
            raw["title"], max_length=200, required="Enter a title for the opportunity."
        )
    except v.Invalid as exc:
        form.errors["title"] = str(exc)
    for name, parse in (("value", parse_value), ("probability", parse_probability)):
        try:
            form.values[name] = parse(raw[name])
        except v.Invalid as exc:
            form.errors[name] = str(exc)
    try:
        form.values["close_on"] = v.day(raw["close_on"], "Enter a date like 2026-12-15.")
    except v.Invalid as exc:
        form.errors["close_on"] = str(exc)
    if stage is None:
        form.errors["stage_id"] = "Choose a stage."
    form.values["stage"] = stage
    owner = v.chosen(session, User, raw["owner_id"])
    if raw["owner_id"] and (owner is None or not owner.active):
        form.errors["owner_id"] = "Choose an active user."
    form.values["owner_id"] = owner.id if owner else None
    if form.has_contact:
        contact = v.chosen(session, Contact, raw["contact_id"])
        if raw["contact_id"] and (
            contact is None or company is None or contact.company_id != company.id
        ):
            form.errors["contact_id"] = "Choose one of the company's contacts."
        form.values["contact_id"] = contact.id if contact else None
    return form


def create_opportunity(
    session: Session, company: Company, form: OpportunityForm, now: datetime | None = None
) -> Opportunity:
    """A new opportunity for ``company`` from a cleaned form (the second deal of an existing
    customer never goes through a lead)."""
    assert form.ok, "create_opportunity needs a cleaned form without errors"
    values = form.values
    stage: Stage = values["stage"]
    if stage.outcome != "open":
        raise PipelineError("stage_id", "A new opportunity starts in one of the open stages.")
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
    session.commit()
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
            raise PipelineError("lost_reason", "Choose why it was lost.")
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
    session.commit()
    return opportunity


# --- the list -------------------------------------------------------------------------------


@dataclass
class ListFilters:
    owner_id: int | None = None
    stage_id: int | None = None
    close_month: date | None = None  # the first day of the month
    outcome: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ListFilters:
        def number(name: str) -> int | None:
            return v.record_id(args.get(name))

        try:
            month = v.month(args.get("close_month"))
        except v.Invalid:
            month = None
        outcome = (args.get("outcome") or "").strip()
        return cls(
            number("owner_id"),
            number("stage_id"),
            month,
            outcome if outcome in OUTCOMES else "",
        )


LIST_LIMIT = 200


def opportunity_list(session: Session, filters: ListFilters) -> list[Opportunity]:
    query = opportunities_filtered(filters).options(
        selectinload(Opportunity.company),
        selectinload(Opportunity.owner),
        selectinload(Opportunity.stage),
    )
    return list(session.scalars(query.limit(LIST_LIMIT)))


def opportunities_filtered(filters: ListFilters) -> Select:
    """The opportunities list's statement for ``filters``, in its order: the list shows its
    first ``LIST_LIMIT``, the CSV export all of them."""
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
    return query.order_by(Opportunity.close_on.is_(None), Opportunity.close_on, Opportunity.id)


# --- stages (admin) -------------------------------------------------------------------------


def stage_usage(session: Session) -> dict[int, int]:
    """How many opportunities are in each stage."""
    return dict(
        session.execute(
            select(Opportunity.stage_id, func.count(Opportunity.id)).group_by(Opportunity.stage_id)
        ).all()
    )


def _stage_name(session: Session, raw: str, stage_id: int | None = None) -> str:
    try:
        name = v.text(raw, max_length=60, required="Enter the stage's name.")
    except v.Invalid as exc:
        raise PipelineError("name", str(exc)) from None
    clash = session.scalar(
        select(Stage.id).where(func.lower(Stage.name) == name.lower(), Stage.id != (stage_id or 0))
    )
    if clash is not None:
        raise PipelineError("name", f"There is already a stage called {name}.")
    return name


def _probability(raw: str) -> int:
    try:
        return parse_probability((raw or "").strip())
    except v.Invalid as exc:
        raise PipelineError("probability", str(exc)) from None


def add_stage(session: Session, name: str, probability: str) -> Stage:
    """A new open stage, placed after the last open stage (won and lost stay at the end)."""
    clean_name = _stage_name(session, name)
    percent = _probability(probability)
    last_open = session.scalar(select(func.max(Stage.position)).where(Stage.outcome == "open"))
    position = (last_open or 0) + 1
    session.execute(
        update(Stage).where(Stage.position >= position).values(position=Stage.position + 1)
    )
    stage = Stage(name=clean_name, probability=percent, position=position, outcome="open")
    session.add(stage)
    session.commit()
    return stage


def edit_stage(session: Session, stage: Stage, name: str, probability: str) -> Stage:
    """Rename the stage and set its default probability; opportunities that follow the
    stage's probability (not set by hand, still open) take the new one."""
    clean_name = _stage_name(session, name, stage.id)
    percent = _probability(probability)
    stage.name = clean_name
    if percent != stage.probability:
        stage.probability = percent
        session.execute(
            update(Opportunity)
            .where(
                Opportunity.stage_id == stage.id,
                Opportunity.probability_manual.is_(False),
                Opportunity.outcome == "open",
            )
            .values(probability=percent)
        )
    session.commit()
    return stage


def move_stage(session: Session, stage: Stage, direction: int) -> None:
    """Swap the stage with its neighbour (-1 up, +1 down)."""
    stages = list(session.scalars(select(Stage).order_by(Stage.position)))
    index = stages.index(stage)
    other = index + direction
    if not 0 <= other < len(stages):
        return
    neighbour = stages[other]
    # Positions are not unique, so a plain swap is safe on every database.
    stage.position, neighbour.position = neighbour.position, stage.position
    session.commit()


def remove_stage(session: Session, stage: Stage, move_to: str = "") -> int:
    """Remove the stage. Its opportunities must go to another stage of the same outcome,
    chosen by the admin; returns how many moved."""
    used = stage_usage(session).get(stage.id, 0)
    same_kind = session.scalar(
        select(func.count(Stage.id)).where(Stage.outcome == stage.outcome, Stage.id != stage.id)
    )
    if stage.outcome != "open" and not same_kind:
        raise PipelineError("move_to", f"The pipeline needs a {stage.outcome} stage.")
    target = None
    if used:
        target = v.chosen(session, Stage, move_to)
        if target is None or target.id == stage.id:
            raise PipelineError(
                "move_to",
                f"{used} opportunities are in {stage.name}: choose where they go.",
            )
        if target.outcome != stage.outcome:
            raise PipelineError("move_to", f"Choose another {stage.outcome} stage.")
        values = {"stage_id": target.id}
        session.execute(
            update(Opportunity)
            .where(Opportunity.stage_id == stage.id, Opportunity.probability_manual.is_(False))
            .values(probability=target.probability, **values)
        )
        session.execute(
            update(Opportunity).where(Opportunity.stage_id == stage.id).values(**values)
        )
    session.delete(stage)
    session.commit()
    return used


# --- lost reasons ---------------------------------------------------------------------------


def lost_reasons(session: Session) -> list[str]:
    return list(session.scalars(select(LostReason.name).order_by(LostReason.position)))


def ensure_default_lost_reasons(session: Session) -> None:
    if session.scalar(select(LostReason.id).limit(1)) is not None:
        return
    for position, name in enumerate(DEFAULT_LOST_REASONS, start=1):
        session.add(LostReason(name=name, position=position))
    session.commit()


def add_lost_reason(session: Session, name: str) -> LostReason:
    try:
        clean_name = v.text(name, max_length=200, required="Enter a reason.")
    except v.Invalid as exc:
        raise PipelineError("reason", str(exc)) from None
    if session.scalar(select(LostReason.id).where(LostReason.name == clean_name)):
        raise PipelineError("reason", f"{clean_name} is already in the list.")
    last = session.scalar(select(func.max(LostReason.position))) or 0
    reason = LostReason(name=clean_name, position=last + 1)
    session.add(reason)
    session.commit()
    return reason


def remove_lost_reason(session: Session, reason: LostReason) -> None:
    """Remove a reason from the list; opportunities lost for it keep their text. The last
    one stays: without a reason nobody could mark an opportunity lost."""
    if session.scalar(select(func.count(LostReason.id))) <= 1:
        raise PipelineError(
            "reason", "Keep at least one lost reason: losing an opportunity needs one."
        )
    session.delete(reason)
    session.commit()
