"""Activities on any record (lead, company, contact, opportunity): log one, list a timeline."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.models import ACTIVITY_KINDS, Activity, Company, Contact, Lead, Opportunity, User

TEXT_MAX = 5000

# Which activity column points at each kind of record.
LINKS = {
    Lead: "lead_id",
    Company: "company_id",
    Contact: "contact_id",
    Opportunity: "opportunity_id",
}


def _link(record) -> str:
    return LINKS[type(record)]


def log_activity(
    session: Session,
    record,
    author: User,
    *,
    kind: str,
    text: str | None,
    due_on: date | None = None,
) -> Activity:
    """Add an activity to ``record``'s timeline; raises ``Invalid`` for bad input."""
    if kind not in ACTIVITY_KINDS:
        raise v.Invalid("Choose note, call, email, meeting or task.")
    cleaned = (text or "").strip()
    if not cleaned:
        raise v.Invalid("Write what happened first.")
    if len(cleaned) > TEXT_MAX:
        raise v.Invalid(f"Keep it under {TEXT_MAX} characters.")
    activity = Activity(kind=kind, text=cleaned, due_on=due_on, author_id=author.id)
    setattr(activity, _link(record), record.id)
    if kind == "task":
        activity.assignee_id = getattr(record, "owner_id", None) or author.id
    if isinstance(record, Contact) and record.company_id:
        activity.company_id = record.company_id
    session.add(activity)
    session.commit()
    return activity


def timeline(session: Session, record, limit: int = 200) -> list[Activity]:
    """``record``'s activities, newest first."""
    column = getattr(Activity, _link(record))
    return list(
        session.scalars(
            select(Activity)
            .where(column == record.id)
            .order_by(Activity.created_at.desc(), Activity.id.desc())
            .limit(limit)
        )
    )
