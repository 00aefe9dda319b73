"""The pipeline's stages and their default probabilities (docs/domain.md)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from quickcrm.models import Stage

# (name, probability %, outcome) in pipeline order.
DEFAULT_STAGES = (
    ("New", 10, "open"),
    ("Qualified", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
)


def ensure_default_stages(session: Session) -> None:
    """Create the default stages when there are none (a fresh or emptied database)."""
    if session.scalar(select(Stage.id).limit(1)) is not None:
        return
    for position, (name, probability, outcome) in enumerate(DEFAULT_STAGES, start=1):
        session.add(Stage(name=name, position=position, probability=probability, outcome=outcome))
    session.commit()


def ordered_stages(session: Session) -> list[Stage]:
    return list(session.scalars(select(Stage).order_by(Stage.position)))
