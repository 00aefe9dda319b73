"""Activities on any record (lead, company, contact, opportunity): log one, list a timeline."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from quickcrm.domain import offline
from quickcrm.domain import validation as v
from quickcrm.models import (
    ACTIVITY_KINDS,
    REPEAT_UNITS,
    Activity,
    Company,
    Contact,
    Lead,
    Opportunity,
    User,
)

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


@dataclass
class ActivityForm(v.Form):
    """The log-an-activity form of every record's page: ``ActivityForm.clean(session, raw,
    today=)`` checks the due date and the repeat; its ``values`` are ``log_activity``'s
    keywords, and ``log_activity`` checks the kind and the text itself (its refusal is
    shown by the text)."""

    FIELDS = ("kind", "text", "due_on", "repeat_every", "repeat_unit")

    def validate(self, session: Session | None, *, today: date) -> None:
        raw = self.raw
        self.values.update(kind=raw["kind"] or "note", text=raw["text"])
        self.check("due_on", lambda s: v.next_action_date(s, today))
        self.check(
            "repeat_every",
            lambda s: v.integer(s, low=1, high=365, message="Enter a whole number from 1 to 365."),
        )
        every, unit = self.values.get("repeat_every"), raw["repeat_unit"]
        self.values["repeat_every"] = self.values["repeat_unit"] = None
        if not every:
            return
        if unit not in REPEAT_UNITS:
            self.errors["repeat_every"] = "Choose days, weeks or months."
        elif self.values["kind"] != "task" or self.values.get("due_on") is None:
            self.errors["repeat_every"] = "Only a task with a due date can repeat."
        else:
            self.values["repeat_every"], self.values["repeat_unit"] = every, unit


def log_activity(
    session: Session,
    record,
    author: User,
    *,
    kind: str,
    text: str | None,
    due_on: date | None = None,
    repeat_every: int | None = None,
    repeat_unit: str | None = None,
    client_key: uuid.UUID | None = None,
) -> Activity | None:
    """Add an activity to ``record``'s timeline; raises ``validation.Refused`` for bad
    input. With the phone's ``client_key`` already stored (a resend), nothing is added:
    returns None."""
    if offline.applied(session, client_key):
        return None
    if kind not in ACTIVITY_KINDS:
        raise v.Refused("Choose note, call, email, meeting or task.")
    cleaned = v.long_text(text, max_length=TEXT_MAX)
    if not cleaned:
        raise v.Refused("Write what happened first.")
    activity = Activity(
        kind=kind,
        text=cleaned,
        due_on=due_on,
        repeat_every=repeat_every,
        repeat_unit=repeat_unit,
        author_id=author.id,
    )
    setattr(activity, _link(record), record.id)
    if kind == "task":
        activity.assignee_id = getattr(record, "owner_id", None) or author.id
    if isinstance(record, Contact) and record.company_id:
        activity.company_id = record.company_id
    if isinstance(record, Opportunity):
        # A call logged on a deal is a call with its company and its primary contact.
        activity.company_id = record.company_id
        activity.contact_id = record.contact_id
    session.add(activity)
    offline.claim(session, client_key, author, kind, activity)
    return activity if offline.commit_once(session, client_key) else None


def _about(record) -> ColumnElement[bool]:
    """The activities that belong on ``record``'s timeline: a company's own, its contacts'
    and its opportunities'; a contact's own and those of the opportunities they are the
    primary contact of; a lead's or an opportunity's own (docs/pipeline.md, "Existing
    customers")."""
    own = getattr(Activity, _link(record)) == record.id
    if isinstance(record, Company):
        contacts = select(Contact.id).where(Contact.company_id == record.id)
        deals = select(Opportunity.id).where(Opportunity.company_id == record.id)
        return or_(own, Activity.contact_id.in_(contacts), Activity.opportunity_id.in_(deals))
    if isinstance(record, Contact):
        deals = select(Opportunity.id).where(Opportunity.contact_id == record.id)
        return or_(own, Activity.opportunity_id.in_(deals))
    return own


def timeline(session: Session, record, limit: int = 200) -> list[Activity]:
    """``record``'s activities (rolled up, see ``_about``), newest first."""
    return list(
        session.scalars(
            select(Activity)
            .where(_about(record))
            .order_by(Activity.created_at.desc(), Activity.id.desc())
            .limit(limit)
        )
    )


# What counts as having been in touch: a call, an email or a meeting that happened (done, or
# logged without a due date) — not a note (a conversion's copied note is one), nor an edit.
CONTACT_KINDS = ("call", "email", "meeting")


def _contacted() -> ColumnElement[bool]:
    return and_(
        Activity.kind.in_(CONTACT_KINDS), or_(Activity.done.is_(True), Activity.due_on.is_(None))
    )


def _contacted_at():
    return func.coalesce(Activity.done_at, Activity.created_at)


def last_contacted(session: Session, record) -> datetime | None:
    """When someone last called, emailed or met ``record`` (its timeline's newest)."""
    return session.scalar(select(func.max(_contacted_at())).where(_about(record), _contacted()))


def last_contacted_of(session: Session, model: type, ids: Iterable[int]) -> dict[int, datetime]:
    """``last_contacted`` of many companies or contacts at once, for a list: one query over
    the activities linked to them directly (logging on a contact or an opportunity links
    the activity to its company and contact too)."""
    ids = list(ids)
    if not ids:
        return {}
    column = getattr(Activity, LINKS[model])
    rows = session.execute(
        select(column, func.max(_contacted_at()))
        .where(column.in_(ids), _contacted())
        .group_by(column)
    )
    return {ident: moment for ident, moment in rows}
