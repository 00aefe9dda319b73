"""One lead: its fields edited one at a time, its next action and snooze, disqualifying
and reopening it, and what a converted lead became."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from quickcrm.domain import categories
from quickcrm.domain import validation as v
from quickcrm.domain.leads.capture import NEXT_ACTION_TEXT, field_checks, new_next_action
from quickcrm.domain.money import typed
from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import Activity, Company, Contact, Lead, Opportunity, User, utcnow


def next_action(session: Session, lead: Lead) -> Activity | None:
    """The lead's next action: its earliest open task with a due date."""
    return session.scalars(
        select(Activity)
        .where(Activity.lead_id == lead.id, Activity.done.is_(False), Activity.due_on.is_not(None))
        .order_by(Activity.due_on, Activity.id)
        .limit(1)
    ).first()


# The lead page's fields, edited one at a time, in the page's order: name → label.
LEAD_FIELDS = {
    "name": "Name",
    "temperature": "Temperature",
    "company_name": "Company",
    "phone": "Phone",
    "email": "Email",
    "source": "Source",
    "note": "Note",
    "next_action": "Next action",
    # After the next action, which stays on a phone's first screen (shown when the team has
    # any categories).
    "categories": "Categories",
    # Issue 29's optional fields, last: the lead page keeps them behind a disclosure until
    # one has a value (the first screen of a phone shows the facts and the history).
    "contact_name": "Contact name",
    "address": "Address",
    "potential_value": "Potential value",
}
OPTIONAL_FIELDS = ("contact_name", "address", "potential_value")
# Each field posts the input of its own name, except the next action: its text and date.
FIELD_INPUTS = {"next_action": ("next_action_text", "next_action_on")}


def edit_refusal(lead: Lead) -> str | None:
    """Why ``lead`` can no longer be edited or added to, or ``None`` if it can.

    A converted lead is history: what happens next belongs to the company and contact it
    became; so is a lead merged into another (quickcrm/domain/merge.py): the kept lead
    holds its activities now. A disqualified lead may be reopened, so it stays editable.
    """
    if lead.merged_into_id is not None:
        return f"{lead.name} was merged into another lead: edit that one instead."
    if lead.status == "converted":
        return (
            f"{lead.name} has been converted: it is kept as it was. "
            "Edit the contact and company it became instead."
        )
    return None


def field_values(session: Session, lead: Lead) -> dict[str, str]:
    """The lead's fields as its page's forms show them, by input name."""
    values = {
        name: getattr(lead, name) or ""
        for name in LEAD_FIELDS
        if name not in ("next_action", "categories")
    }
    values["categories"] = ",".join(str(category.id) for category in lead.categories)
    values["potential_value"] = typed(lead.potential_value)
    action = next_action(session, lead)
    values["next_action_text"] = action.text if action else ""
    values["next_action_on"] = action.due_on.isoformat() if action else ""
    return values


def update_field(
    session: Session,
    lead: Lead,
    editor: User,
    name: str,
    data: Mapping[str, str],
    *,
    today: date,
    phone_region: str | None,
) -> Lead:
    """Check and save one of ``LEAD_FIELDS`` alone, from the posted inputs ``data``.

    Raises ``validation.Refused`` for bad input and ``validation.Conflict`` for a lead that
    can no longer be edited; either way nothing is written.
    """
    if name not in LEAD_FIELDS:
        raise KeyError(name)
    refusal = edit_refusal(lead)
    if refusal:
        raise v.Conflict(refusal)
    if name == "categories":
        # The chips checked (an id no longer in the list is skipped, never refused).
        posted = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        categories.set_lead_categories(session, lead, categories.chosen_ids(posted))
        return lead
    checks = field_checks(today=today, phone_region=phone_region)
    current = next_action(session, lead) if name == "next_action" else None
    if current is not None:
        check_date = checks["next_action_on"]

        def next_action_on(raw: str | None) -> date | None:
            # An overdue next action whose text alone changes may keep its date.
            kept = current.due_on
            return kept if (raw or "").strip() == kept.isoformat() else check_date(raw)

        checks["next_action_on"] = next_action_on
    values, errors = {}, {}
    for input_name in FIELD_INPUTS.get(name, (name,)):
        try:
            values[input_name] = checks[input_name](data.get(input_name))
        except v.Refused as exc:
            errors[input_name] = str(exc)
    if errors:
        raise v.Refused(errors)
    if name == "next_action":
        text, due = values["next_action_text"], values["next_action_on"]
        if due is None and current is None and text:
            raise v.Refused({"next_action_on": "Pick a date for the next action."})
        _set_next_action(session, lead, editor, current, text, due)
    else:
        setattr(lead, name, values[name])
    session.flush()
    return lead


def _set_next_action(
    session: Session,
    lead: Lead,
    editor: User,
    current: Activity | None,
    text: str | None,
    due: date | None,
) -> None:
    """Make ``current`` (the lead's open next action, if any) say ``text`` on ``due``, or
    make one for the lead's owner; no date removes it. Not committed."""
    if due is None:
        if current is not None:
            session.delete(current)
        return
    if current is None:
        current = new_next_action(lead, editor, due)
        session.add(current)
    current.text = text or NEXT_ACTION_TEXT
    current.due_on = due


# --- The coordinator's desk -------------------------------------------------------------

DISQUALIFY_REASONS = ("no budget", "no fit", "duplicate", "no response", "other")


def disqualify(session: Session, lead: Lead, reason: str | None) -> Lead:
    """Close an open lead with one of ``DISQUALIFY_REASONS``."""
    if reason not in DISQUALIFY_REASONS:
        raise v.Refused("Choose a reason.")
    return _move(
        session,
        lead,
        "open",
        "{name} is {status}, not open.",
        status="disqualified",
        disqualified_reason=reason,
    )


def reopen(session: Session, lead: Lead) -> Lead:
    """Make a disqualified lead open again (a converted lead stays converted; a merged
    one is brought back by undoing its merge)."""
    if lead.merged_into_id is not None:
        raise v.Conflict(f"{lead.name} was merged into another lead: undo the merge instead.")
    return _move(
        session,
        lead,
        "disqualified",
        "{name} is {status}; only a disqualified lead can be reopened.",
        status="open",
        disqualified_reason=None,
    )


@owns_transaction("the claim: one conditional UPDATE, so two people cannot both win")
def _move(session: Session, lead: Lead, from_status: str, refusal: str, **values) -> Lead:
    """Change ``lead`` only if it is still ``from_status``, in one conditional UPDATE, so two
    people acting at once cannot both succeed; ``refusal`` says why it could not."""
    claimed = session.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.status == from_status)
        .values(**values, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.rollback()
        session.refresh(lead)
        raise v.Conflict(refusal.format(name=lead.name, status=lead.status))
    session.commit()
    session.refresh(lead)
    return lead


SNOOZE = timedelta(days=7)


def snooze(session: Session, lead: Lead, editor: User, *, today: date) -> Activity:
    """Push the lead's next action a week on (from today if it is overdue or missing)."""
    action = next_action(session, lead)
    if action is None:
        action = new_next_action(lead, editor, today + SNOOZE)
        session.add(action)
    else:
        action.due_on = max(action.due_on, today) + SNOOZE
    session.flush()
    return action


def conversion_of(session: Session, lead: Lead) -> dict | None:
    """What a converted lead became: its company, contact and opportunity."""
    if lead.status != "converted" or lead.company_id is None:
        return None
    return {
        "company": session.get(Company, lead.company_id),
        "contact": session.get(Contact, lead.contact_id) if lead.contact_id else None,
        "opportunity": session.get(Opportunity, lead.opportunity_id)
        if lead.opportunity_id
        else None,
    }
