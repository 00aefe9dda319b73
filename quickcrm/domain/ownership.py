"""Reassigning: a lead, a company or an opportunity given to another user, one at a time or
in bulk (docs/pipeline.md, "Existing customers"). Coordinators do it; the views check the role.

Functions here flush; the caller commits (so a hand-over of everything is one transaction).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.models import Activity, Lead, User, utcnow


def new_owner(session: Session, raw: object) -> User:
    """The active user chosen in a form's *Owner* select."""
    user = v.chosen(session, User, raw)
    if user is None or not user.active:
        raise v.Refused({"owner_id": "Choose an active user."})
    return user


def lead_ids(raw: Iterable[object]) -> list[int]:
    """The lead ids of the checked rows; refuses when none is (or one is not an id)."""
    ids = [v.record_id(value) for value in raw]
    if not ids or None in ids:
        raise v.Refused({"lead_ids": "Check the leads to reassign first."})
    return sorted(set(ids))[:5000]


def reassign_leads(session: Session, ids: list[int], to: User) -> int:
    """Give the leads to ``to``; their open follow-ups on the old owner's agenda go along.
    Returns how many leads changed hands (already theirs does not count)."""
    moving = list(
        session.execute(
            select(Lead.id, Lead.owner_id).where(Lead.id.in_(ids), Lead.owner_id != to.id)
        )
    )
    if not moving:
        return 0
    for lead_id, old_owner in moving:
        session.execute(
            update(Activity)
            .where(
                Activity.lead_id == lead_id,
                Activity.done.is_(False),
                Activity.assignee_id == old_owner,
            )
            .values(assignee_id=to.id, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    session.execute(
        update(Lead)
        .where(Lead.id.in_([lead_id for lead_id, _ in moving]))
        .values(owner_id=to.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return len(moving)
