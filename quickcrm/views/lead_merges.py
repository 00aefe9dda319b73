"""Merging two leads (docs/domain.md, "Merging leads"): *Merge into…* picks the lead to
keep, a page compares the two field by field, *Merge*; *Undo* within a day; and the
*Possible duplicates* list. Coordinators and admins only."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import merge as merging
from quickcrm.domain import users
from quickcrm.domain import validation as v
from quickcrm.models import Lead, LeadMerge
from quickcrm.web.guards import role_required, safe_next
from quickcrm.web.render import form_data, get_or_404, render

bp = Blueprint("merges", __name__, url_prefix="/leads")

PICK = "leads/merge_pick.html"
COMPARE = "leads/merge_compare.html"
DUPLICATES = "leads/duplicates.html"


def _next() -> str:
    """Where to go after merging: back to review mode when it came from there."""
    return safe_next(request.values.get("next"), "")


@bp.get("/<int:lead_id>/merge")
@role_required("coordinator")
def pick(lead_id: int):
    """Pick the lead to keep: the likely duplicates first, then what *Search* finds."""
    db = get_session()
    lead = get_or_404(Lead, lead_id)
    typed = request.args.get("q", "").strip()[:200]
    return render(
        PICK,
        ["results"],
        lead=lead,
        q=typed,
        refusal=merging.lead_refusal(lead),
        likely=merging.likely_duplicates(db, lead),
        found=merging.merge_targets(db, lead, typed) if v.storable(typed) else [],
        next=_next(),
    )


def _compare(lead: Lead, kept: Lead, status: int = 200, **extra):
    db = get_session()
    rows = merging.field_choices(db, kept, lead)
    owner_ids = {r.kept for r in rows if r.name == "owner"} | {lead.owner_id}
    return render(
        COMPARE,
        ["content"],
        status=status,
        lead=lead,
        kept=kept,
        rows=rows,
        owners={u.id: u.name for u in users.everyone_by_name(db) if u.id in owner_ids},
        refusal=merging.merge_refusal(kept, lead),
        chosen=extra.pop("chosen", {}),
        next=_next(),
        **extra,
    )


@bp.get("/<int:lead_id>/merge/<int:kept_id>")
@role_required("coordinator")
def compare(lead_id: int, kept_id: int):
    """The two leads field by field, a choice where they differ, and *Merge*."""
    lead, kept = get_or_404(Lead, lead_id), get_or_404(Lead, kept_id)
    return _compare(lead, kept)


@bp.post("/<int:lead_id>/merge/<int:kept_id>")
@role_required("coordinator")
def merge(lead_id: int, kept_id: int):
    """Merge the lead into ``kept_id`` with the chosen values."""
    db = get_session()
    lead, kept = get_or_404(Lead, lead_id), get_or_404(Lead, kept_id)
    refusal = merging.merge_refusal(kept, lead)
    if refusal:
        return _compare(lead, kept, status=409)
    try:
        choices = merging.clean_choices(db, kept, lead, request.form)
        merging.merge_leads(db, kept, lead, choices, current_user)
    except v.Refused as exc:
        return _compare(lead, kept, status=422, errors=exc.errors, chosen=form_data())
    except v.Conflict as exc:
        db.expire_all()
        return _compare(lead, kept, status=409, conflict=str(exc))
    name = lead.name
    flash(f"Merged — {name} into {kept.name}.")
    return redirect(_next() or url_for("leads.detail", lead_id=kept.id), 303)


@bp.post("/merges/<int:merge_id>/undo")
@role_required("coordinator")
def undo(merge_id: int):
    """Undo a merge: both leads as they were before it."""
    record = get_or_404(LeadMerge, merge_id)
    kept_id, merged_id, name = record.kept_id, record.merged_id, record.merged.name
    try:
        merging.undo_merge(get_session(), record, current_user)
    except v.Conflict as exc:
        flash(f"The merge was not undone. {exc}", "error")
        return redirect(url_for("leads.detail", lead_id=kept_id), 303)
    flash(f"Merge undone — {name} is a lead of its own again.")
    return redirect(url_for("leads.detail", lead_id=merged_id), 303)


@bp.get("/duplicates")
@role_required("coordinator")
def duplicates():
    """Open leads sharing an email, a phone or a name, grouped; ``?by=`` and ``?after=``
    page one kind of key."""
    db = get_session()
    kind = request.args.get("by", "")
    after = request.args.get("after")
    if kind and kind not in merging.DUPLICATE_KEYS:
        abort(404)
    if after is not None and (not v.storable(after) or len(after) > 300):
        abort(404)
    kinds = [kind] if kind else list(merging.DUPLICATE_KEYS)
    sections = [merging.duplicate_groups(db, name, after if kind else None) for name in kinds]
    return render(DUPLICATES, ["content"], sections=sections, kind=kind)
