"""The pipeline's stages, their default probabilities and the lost reasons, as the admin
keeps them (docs/domain.md)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.models import LostReason, Opportunity, Stage

# (name, probability %, outcome) in pipeline order.
DEFAULT_STAGES = (
    ("New", 10, "open"),
    ("Qualified", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
)
DEFAULT_LOST_REASONS = ("Price", "Went with a competitor", "No budget", "No decision", "Other")


def ensure_default_stages(session: Session) -> None:
    """Create the default stages when there are none (a fresh or emptied database)."""
    if session.scalar(select(Stage.id).limit(1)) is not None:
        return
    for position, (name, probability, outcome) in enumerate(DEFAULT_STAGES, start=1):
        session.add(Stage(name=name, position=position, probability=probability, outcome=outcome))
    session.flush()


def ordered_stages(session: Session) -> list[Stage]:
    return list(session.scalars(select(Stage).order_by(Stage.position)))


# --- the admin's stages ---------------------------------------------------------------------


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
    except v.Refused as exc:
        raise v.Refused({"name": str(exc)}) from None
    clash = session.scalar(
        select(Stage.id).where(func.lower(Stage.name) == name.lower(), Stage.id != (stage_id or 0))
    )
    if clash is not None:
        raise v.Refused({"name": f"There is already a stage called {name}."})
    return name


def _probability(raw: str) -> int:
    try:
        return v.percentage((raw or "").strip())
    except v.Refused as exc:
        raise v.Refused({"probability": str(exc)}) from None


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
    session.flush()
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
    session.flush()
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
    session.flush()


def remove_stage(session: Session, stage: Stage, move_to: str = "") -> int:
    """Remove the stage. Its opportunities must go to another stage of the same outcome,
    chosen by the admin; returns how many moved."""
    used = stage_usage(session).get(stage.id, 0)
    same_kind = session.scalar(
        select(func.count(Stage.id)).where(Stage.outcome == stage.outcome, Stage.id != stage.id)
    )
    if stage.outcome != "open" and not same_kind:
        raise v.Refused({"move_to": f"The pipeline needs a {stage.outcome} stage."})
    target = None
    if used:
        target = v.chosen(session, Stage, move_to)
        if target is None or target.id == stage.id:
            raise v.Refused(
                {"move_to": f"{used} opportunities are in {stage.name}: choose where they go."}
            )
        if target.outcome != stage.outcome:
            raise v.Refused({"move_to": f"Choose another {stage.outcome} stage."})
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
    session.flush()
    return used


# --- lost reasons ---------------------------------------------------------------------------


def lost_reasons(session: Session) -> list[str]:
    return list(session.scalars(select(LostReason.name).order_by(LostReason.position)))


def ordered_lost_reasons(session: Session) -> list[LostReason]:
    """The lost reasons as the admin edits them, in their order."""
    return list(session.scalars(select(LostReason).order_by(LostReason.position)))


def ensure_default_lost_reasons(session: Session) -> None:
    if session.scalar(select(LostReason.id).limit(1)) is not None:
        return
    for position, name in enumerate(DEFAULT_LOST_REASONS, start=1):
        session.add(LostReason(name=name, position=position))
    session.flush()


def add_lost_reason(session: Session, name: str) -> LostReason:
    try:
        clean_name = v.text(name, max_length=200, required="Enter a reason.")
    except v.Refused as exc:
        raise v.Refused({"reason": str(exc)}) from None
    if session.scalar(select(LostReason.id).where(LostReason.name == clean_name)):
        raise v.Refused({"reason": f"{clean_name} is already in the list."})
    last = session.scalar(select(func.max(LostReason.position))) or 0
    reason = LostReason(name=clean_name, position=last + 1)
    session.add(reason)
    session.flush()
    return reason


def remove_lost_reason(session: Session, reason: LostReason) -> None:
    """Remove a reason from the list; opportunities lost for it keep their text. The last
    one stays: without a reason nobody could mark an opportunity lost."""
    if session.scalar(select(func.count(LostReason.id))) <= 1:
        raise v.Refused(
            {"reason": "Keep at least one lost reason: losing an opportunity needs one."}
        )
    session.delete(reason)
    session.flush()
