"""Merging two leads into one, undoing a merge within a day, and the list of possible
duplicates (docs/domain.md, "Merging leads").

One lead (the *merged* one) goes into another (the *kept* one): the kept lead takes the
chosen value of each field, the merged lead's activities, follow-ups and attachments and
its categories; the merged lead stays as a row, disqualified and pointing at the kept lead
(``Lead.merged_into_id``), so a phone resending its capture's UUID finds it and nothing is
created twice. A ``LeadMerge`` row holds what undoing it puts back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.domain.convert import UNDO_WINDOW  # a merge is undone within a conversion's window
from quickcrm.domain.leads.lead import next_action
from quickcrm.domain.leads.search import search_condition
from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import (
    Activity,
    Attachment,
    Lead,
    LeadCategory,
    LeadMerge,
    User,
    utcnow,
)

TOO_LATE = "A merge can be undone for 24 hours only."

# The fields a merge chooses a value of, in the compare page's order: name → label.
MERGE_FIELDS = {
    "name": "Name",
    "company_name": "Company",
    "contact_name": "Contact name",
    "email": "Email",
    "phone": "Phone",
    "address": "Address",
    "temperature": "Temperature",
    "source": "Source",
    "potential_value": "Potential value",
    "owner": "Owner",
    "next_action": "Next action",
    "note": "Note",
}
# The lead's own columns among them (the owner is ``owner_id``; the next action is an
# activity).
COLUMNS = {name: name for name in MERGE_FIELDS if name not in ("owner", "next_action")}
COLUMNS["owner"] = "owner_id"
# Which value wins: the kept lead's, the merged lead's, or (a note) both joined.
CHOICES = ("kept", "merged", "both")
MERGED_REASON = "Merged into {name}"
REASON_MAX = 200


# --- what differs, and the choices -------------------------------------------------------


def _value(session: Session, lead: Lead, name: str):
    """``lead``'s value of the merge field ``name``: a column's value, or its next action."""
    if name == "next_action":
        return next_action(session, lead)
    return getattr(lead, COLUMNS[name])


def _same(a, b) -> bool:
    if isinstance(a, Activity) or isinstance(b, Activity):
        if a is None or b is None:
            return a is b
        return (a.text, a.due_on) == (b.text, b.due_on)
    return (None if _empty(a) else a) == (None if _empty(b) else b)


def _empty(value) -> bool:
    return value is None or value == ""


@dataclass
class FieldChoice:
    """One row of the compare page: the two leads' values of a field, and the default."""

    name: str
    label: str
    kept: object
    merged: object
    default: str

    @property
    def differs(self) -> bool:
        return not _same(self.kept, self.merged)

    @property
    def options(self) -> tuple[str, ...]:
        both = self.name == "note" and not _empty(self.kept) and not _empty(self.merged)
        return ("kept", "merged", "both") if both else ("kept", "merged")


def field_choices(session: Session, kept: Lead, merged: Lead) -> list[FieldChoice]:
    """Every merge field with both values and the default choice: the kept lead's value,
    or the merged lead's when the kept one is empty; two notes are joined by default (a
    note dropped by a hurried tap is lost for good, a joined one is edited in a moment)."""
    rows = []
    for name, label in MERGE_FIELDS.items():
        ours, theirs = _value(session, kept, name), _value(session, merged, name)
        default = "merged" if _empty(ours) and not _empty(theirs) else "kept"
        row = FieldChoice(name, label, ours, theirs, default)
        if name == "note" and "both" in row.options and row.differs:
            row.default = "both"
        rows.append(row)
    return rows


def clean_choices(
    session: Session, kept: Lead, merged: Lead, raw: Mapping[str, str]
) -> dict[str, str]:
    """The posted choice of each field that differs (its default when none is posted);
    raises ``validation.Refused`` for a value that is not one of the field's options."""
    chosen, errors = {}, {}
    for row in field_choices(session, kept, merged):
        if not row.differs:
            continue
        value = raw.get(row.name) or row.default
        if value not in row.options:
            errors[row.name] = f"Choose which {row.label.lower()} to keep."
        chosen[row.name] = value
    if errors:
        raise v.Refused(errors)
    return chosen


# --- refusals ---------------------------------------------------------------------------


def lead_refusal(lead: Lead) -> str | None:
    """Why ``lead`` cannot take part in a merge (either side), or ``None`` if it can."""
    if lead.merged_into_id is not None:
        return f"{lead.name} was already merged into another lead."
    if lead.status == "converted":
        return (
            f"{lead.name} has been converted: a converted lead is kept as it was. "
            "Merge open leads only."
        )
    if lead.status != "open":
        return f"{lead.name} is {lead.status}: reopen it first to merge it."
    return None


def merge_refusal(kept: Lead, merged: Lead) -> str | None:
    """Why ``merged`` cannot go into ``kept``, or ``None`` if it can."""
    if kept.id == merged.id:
        return "A lead cannot be merged into itself."
    return lead_refusal(merged) or lead_refusal(kept)


# --- the merge --------------------------------------------------------------------------


def _json(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _column_value(name: str, raw):
    if raw is None:
        return None
    if name == "potential_value":
        return Decimal(raw)
    return raw


def _claim(session: Session, kept: Lead, merged: Lead) -> None:
    """Claim both leads in one order (their ids), each only if it is still open and not
    merged: two coordinators merging the same pair (or the pair both ways) at once — the
    second waits for the first's row locks, then finds the leads changed and is refused."""
    reason = MERGED_REASON.format(name=kept.name)[:REASON_MAX]
    for lead in sorted((kept, merged), key=lambda lead: lead.id):
        values = {"updated_at": utcnow()}
        if lead is merged:
            values |= {
                "status": "disqualified",
                "disqualified_reason": reason,
                "merged_into_id": kept.id,
            }
        claimed = session.execute(
            update(Lead)
            .where(Lead.id == lead.id, Lead.status == "open", Lead.merged_into_id.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise v.Conflict(f"{lead.name} was changed meanwhile (merged, converted or closed).")


@owns_transaction("the claim: conditional UPDATEs of both leads, so a pair is merged once")
def merge_leads(
    session: Session,
    kept: Lead,
    merged: Lead,
    choices: Mapping[str, str],
    user: User,
    now: datetime | None = None,
) -> LeadMerge:
    """Merge ``merged`` into ``kept`` as ``choices`` say (field → "kept", "merged" or
    "both"; a field not named keeps the default of ``field_choices``), in one transaction,
    committed. Raises ``validation.Conflict`` when the pair cannot be merged (the reason
    from ``merge_refusal``, or the leads changed under the request)."""
    refusal = merge_refusal(kept, merged)
    if refusal:
        raise v.Conflict(refusal)
    now = now or utcnow()
    rows = {row.name: row for row in field_choices(session, kept, merged)}
    picks = {name: choices.get(name) or row.default for name, row in rows.items()}
    try:
        merged_status = {
            "status": merged.status,
            "disqualified_reason": merged.disqualified_reason,
            "owner_id": merged.owner_id,
        }
        _claim(session, kept, merged)
        session.refresh(merged)
        record = _move(session, kept, merged, rows, picks, user, now)
        record["merged_before"] = merged_status
        merge = LeadMerge(
            kept_id=kept.id,
            merged_id=merged.id,
            merged_by_id=user.id,
            merged_at=now,
            undo=json.dumps(record),
        )
        session.add(merge)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return merge


def _move(session, kept, merged, rows, picks, user, now) -> dict:
    """Write the chosen values on ``kept`` and move ``merged``'s activities, attachments and
    categories to it; returns what undoing needs."""
    before, after = {}, {}
    closed: list[int] = []
    for name, row in rows.items():
        if not row.differs or name == "next_action":
            continue
        pick = picks[name]
        if pick == "kept":
            continue
        column = COLUMNS[name]
        value = row.merged
        if pick == "both":
            value = f"{row.kept}\n\n{row.merged}"
        before[column] = _json(getattr(kept, column))
        setattr(kept, column, value)
        after[column] = _json(value)
    # Two next actions: the one not chosen is closed (the person is called back once).
    action = rows["next_action"]
    if action.differs and action.kept is not None and action.merged is not None:
        losing = action.merged if picks["next_action"] == "kept" else action.kept
        losing.done, losing.done_at = True, now
        closed.append(losing.id)
    session.flush()
    # The kept lead's open follow-ups follow a new owner, as a reassignment's do
    # (quickcrm/domain/ownership.py); so do the merged lead's, which come along.
    assignees: dict[str, int | None] = {}
    moved = list(session.scalars(select(Activity).where(Activity.lead_id == merged.id)))
    old_owner = int(before["owner_id"]) if "owner_id" in before else kept.owner_id
    for activity in moved:
        activity.lead_id = kept.id
        if not activity.done and activity.assignee_id == merged.owner_id != kept.owner_id:
            assignees[str(activity.id)] = activity.assignee_id
            activity.assignee_id = kept.owner_id
    if kept.owner_id != old_owner:
        for activity in session.scalars(
            select(Activity).where(
                Activity.lead_id == kept.id,
                Activity.done.is_(False),
                Activity.assignee_id == old_owner,
            )
        ):
            assignees.setdefault(str(activity.id), activity.assignee_id)
            activity.assignee_id = kept.owner_id
    attachments = list(
        session.scalars(select(Attachment.id).where(Attachment.lead_id == merged.id))
    )
    if attachments:
        session.execute(
            update(Attachment)
            .where(Attachment.id.in_(attachments))
            .values(lead_id=kept.id)
            .execution_options(synchronize_session=False)
        )
    theirs = set(
        session.scalars(select(LeadCategory.category_id).where(LeadCategory.lead_id == merged.id))
    )
    ours = set(
        session.scalars(select(LeadCategory.category_id).where(LeadCategory.lead_id == kept.id))
    )
    added = sorted(theirs - ours)
    if added:
        session.execute(
            insert(LeadCategory), [{"lead_id": kept.id, "category_id": c} for c in added]
        )
    audit = Activity(
        kind="note",
        text=f"Merged {merged.name} into this lead.",
        author_id=user.id,
        lead_id=kept.id,
    )
    session.add(audit)
    session.flush()
    session.expire(kept, ["attachments", "categories", "activities"])
    return {
        "kept_before": before,
        "kept_after": after,
        "activities": [a.id for a in moved],
        "closed": closed,
        "assignees": assignees,
        "attachments": attachments,
        "categories": added,
        "audit": audit.id,
    }


# --- undo -------------------------------------------------------------------------------


def latest_merge(session: Session, kept: Lead) -> LeadMerge | None:
    """The newest merge into ``kept`` that is not undone."""
    return session.scalars(
        select(LeadMerge)
        .where(LeadMerge.kept_id == kept.id, LeadMerge.undone_at.is_(None))
        .order_by(LeadMerge.merged_at.desc(), LeadMerge.id.desc())
        .limit(1)
    ).first()


def merge_of(session: Session, merged: Lead) -> LeadMerge | None:
    """The merge that put ``merged`` into another lead (not undone)."""
    return session.scalars(
        select(LeadMerge)
        .where(LeadMerge.merged_id == merged.id, LeadMerge.undone_at.is_(None))
        .order_by(LeadMerge.id.desc())
        .limit(1)
    ).first()


def _changed_since(session: Session, merge: LeadMerge, record: dict) -> list[str]:
    """What changed since the merge that undoing it would overwrite or break: each a
    reason it can no longer be undone."""
    kept, merged = merge.kept, merge.merged
    found = []
    if kept.status != "open" or kept.merged_into_id is not None:
        state = "merged into another lead" if kept.merged_into_id else kept.status
        found.append(f"{kept.name} is {state}")
    if merged.merged_into_id != kept.id:
        found.append(f"{merged.name} is no longer merged into it")
    labels = {column: MERGE_FIELDS[name] for name, column in COLUMNS.items()}
    for column, value in record["kept_after"].items():
        if _json(getattr(kept, column)) != value:
            found.append(f"changes to the {labels[column].lower()}")
    return found


def undo_refusal(
    session: Session, merge: LeadMerge, user: User, now: datetime | None = None
) -> str | None:
    """Why ``user`` may not undo ``merge`` now, or ``None`` if they may."""
    now = now or utcnow()
    if merge.undone_at is not None:
        return "This merge was already undone."
    if now - merge.merged_at > UNDO_WINDOW:
        return TOO_LATE
    if not (user.can("admin") or (user.can("coordinator") and merge.merged_by_id == user.id)):
        return "Only the coordinator who merged them, or an admin, can undo it."
    changed = _changed_since(session, merge, json.loads(merge.undo))
    if changed:
        return "Changed since the merge: " + "; ".join(changed) + "."
    return None


@owns_transaction("the claim: one conditional UPDATE, so a merge is undone once")
def undo_merge(session: Session, merge: LeadMerge, user: User, now: datetime | None = None) -> None:
    """Put both leads back as they were before ``merge``, in one transaction, committed;
    raises ``validation.Conflict`` with the reason when it may not be undone."""
    now = now or utcnow()
    refusal = undo_refusal(session, merge, user, now)
    if refusal:
        raise v.Conflict(refusal)
    record = json.loads(merge.undo)
    kept, merged = merge.kept, merge.merged
    try:
        claimed = session.execute(
            update(LeadMerge)
            .where(LeadMerge.id == merge.id, LeadMerge.undone_at.is_(None))
            .values(undone_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise v.Conflict("This merge was already undone.")
        back = record["merged_before"]
        freed = session.execute(
            update(Lead)
            .where(Lead.id == merged.id, Lead.merged_into_id == kept.id)
            .values(
                status=back["status"],
                disqualified_reason=back["disqualified_reason"],
                owner_id=back["owner_id"],
                merged_into_id=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if freed.rowcount != 1:
            raise v.Conflict(f"{merged.name} is no longer merged into {kept.name}.")
        for column, value in record["kept_before"].items():
            setattr(kept, column, _column_value(column, value))
        moved = record["activities"]
        for activity in session.scalars(select(Activity).where(Activity.id.in_(moved))):
            activity.lead_id = merged.id
        for raw_id, assignee in record["assignees"].items():
            activity = session.get(Activity, int(raw_id))
            if activity is not None:
                activity.assignee_id = assignee
        for activity in session.scalars(select(Activity).where(Activity.id.in_(record["closed"]))):
            activity.done, activity.done_at = False, None
        session.execute(
            update(Attachment)
            .where(Attachment.id.in_(record["attachments"]), Attachment.lead_id == kept.id)
            .values(lead_id=merged.id)
            .execution_options(synchronize_session=False)
        )
        if record["categories"]:
            session.execute(
                delete(LeadCategory).where(
                    LeadCategory.lead_id == kept.id,
                    LeadCategory.category_id.in_(record["categories"]),
                )
            )
        # The merge's audit line stays; a second one says it was undone.
        session.add(
            Activity(
                kind="note",
                text=f"Undid merging {merged.name} into this lead.",
                author_id=user.id,
                lead_id=kept.id,
            )
        )
        session.flush()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.expire_all()


# --- choosing the lead to keep, and the possible duplicates -----------------------------

PICK_LIMIT = 20


def _open():
    return (Lead.status == "open", Lead.merged_into_id.is_(None))


def _same_keys(lead: Lead):
    keys = [Lead.name_key == lead.name_key] if lead.name_key else []
    if lead.email_key:
        keys.append(Lead.email_key == lead.email_key)
    if lead.phone_tail:
        keys.append(Lead.phone_tail == lead.phone_tail)
    return or_(*keys) if keys else None


def likely_duplicates(session: Session, lead: Lead, limit: int = 10) -> list[Lead]:
    """The open leads sharing ``lead``'s name, email or phone key: the first to offer as the
    lead to keep."""
    same = _same_keys(lead)
    if same is None:
        return []
    return list(
        session.scalars(
            select(Lead)
            .where(same, Lead.id != lead.id, *_open())
            .order_by(Lead.captured_at, Lead.id)
            .limit(limit)
        )
    )


def merge_targets(session: Session, lead: Lead, typed: str) -> list[Lead]:
    """The open leads whose fields hold ``typed`` (the leads list's search), newest first:
    what *Search* finds on the page that picks the lead to keep."""
    search = search_condition(session, typed)
    if search is None:
        return []
    return list(
        session.scalars(
            select(Lead)
            .where(search, Lead.id != lead.id, *_open())
            .order_by(Lead.captured_at.desc(), Lead.id.desc())
            .limit(PICK_LIMIT)
        )
    )


# The keys the possible duplicates are grouped by: kind → (column, heading).
DUPLICATE_KEYS = {
    "email": (Lead.email_key, "Same email"),
    "phone": (Lead.phone_tail, "Same phone"),
    "name": (Lead.name_key, "Same name"),
}
GROUPS_SHOWN = 20
KEYS_PER_READ = 200
READS_MAX = 10


@dataclass
class DuplicateGroups:
    kind: str
    heading: str
    groups: list[list[Lead]] = field(default_factory=list)
    next_after: str | None = None  # the key to continue after when there are more


def duplicate_groups(
    session: Session, kind: str, after: str | None = None, limit: int = GROUPS_SHOWN
) -> DuplicateGroups:
    """Groups of open leads sharing the key ``kind`` (email, phone or name), in the key's
    order after ``after``. The keys held by two leads or more are read from the key's index
    (GROUP BY … HAVING, in index order, a few hundred at a time), then the ids of the open
    leads of those keys, and only then the leads of the groups shown; a key with fewer than
    two open leads is skipped. Bounded: at most ``READS_MAX`` reads of keys, whatever the
    table's size."""
    column, heading = DUPLICATE_KEYS[kind]
    found = DuplicateGroups(kind, heading)
    groups: list[list[int]] = []
    last = after
    for _ in range(READS_MAX):
        stmt = (
            select(column)
            .where(column.is_not(None), column != "")
            .group_by(column)
            .having(func.count() > 1)
            .order_by(column)
            .limit(KEYS_PER_READ)
        )
        if last is not None:
            stmt = stmt.where(column > last)
        keys = list(session.scalars(stmt))
        if not keys:
            break
        rows = session.execute(
            select(column, Lead.id)
            .where(column.in_(keys), *_open())
            .order_by(column, Lead.captured_at, Lead.id)
        )
        by_key: dict[str, list[int]] = {}
        for key, lead_id in rows:
            by_key.setdefault(key, []).append(lead_id)
        for key in keys:
            if len(by_key.get(key, ())) > 1:
                groups.append(by_key[key])
                if len(groups) == limit:
                    found.next_after = key
                    break
        if found.next_after is not None:
            break
        last = keys[-1]
        if len(keys) < KEYS_PER_READ:
            break
    else:
        found.next_after = last
    shown = {lead.id: lead for lead in session.scalars(
        select(Lead).where(Lead.id.in_([i for group in groups for i in group]))
    )}  # fmt: skip
    found.groups = [[shown[i] for i in group] for group in groups]
    return found
