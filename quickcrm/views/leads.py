"""Leads: the list with its filters, review mode, and a lead's own page (its fields, timeline,
status, card photo and voice notes)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import (
    activities,
    attachments,
    categories,
    convert,
    leads,
    offline,
    ownership,
    users,
)
from quickcrm.domain import merge as merging
from quickcrm.domain import validation as v
from quickcrm.models import Lead
from quickcrm.web.formats import friendly_date, phone_region, today, viewer_days
from quickcrm.web.guards import role_required, safe_next
from quickcrm.web.inputs import body_limit
from quickcrm.web.log_activity import log_activity_on
from quickcrm.web.render import form_data, render, wants_page

bp = Blueprint("leads", __name__, url_prefix="/leads")

TEMPLATE = "leads/detail.html"


def _lead_for(lead_id: int) -> Lead:
    """The lead, if the signed-in user may see it: reps their own, coordinators all."""
    lead = get_session().get(Lead, lead_id)
    if lead is None:
        abort(404)
    if lead.owner_id != current_user.id and not current_user.can("coordinator"):
        abort(403)
    return lead


@bp.get("/")
def index():
    return _list()


def _list(status: int = 200, **extra):
    """The leads list as the URL's filters say (a refused *Reassign* keeps them: they are
    in its form's action)."""
    db = get_session()
    query = leads.LeadQuery.from_args(request.args)
    page = leads.list_leads(db, query, current_user, **viewer_days())
    owners = users.everyone_by_name(db) if current_user.can("coordinator") else []
    return render(
        "leads/index.html",
        ["results"],
        query=query,
        page=page,
        owners=owners,
        sources=leads.sources(db),
        category_list=categories.ordered(db),
        reasons=leads.DISQUALIFY_REASONS,
        status=status,
        **extra,
    )


@bp.get("/review")
def review():
    """Review mode: one lead of the filtered list per screen, with its position."""
    db = get_session()
    query = leads.LeadQuery.from_args(request.args)
    ids = leads.lead_ids(db, query, current_user, **viewer_days())
    category_list = categories.ordered(db)
    if not ids:
        return render(
            "leads/review.html",
            ["content"],
            query=query,
            lead=None,
            ids=ids,
            category_list=category_list,
        )
    position = request.args.get("at", type=int, default=1)
    position = min(max(position, 1), len(ids))
    # Back from converting the lead at this place: if it is still listed here, step on.
    if ids[position - 1] == v.record_id(request.args.get("past")) and position < len(ids):
        position += 1
    lead = _lead_for(ids[position - 1])
    return render(
        "leads/review.html",
        ["content"],
        query=query,
        lead=lead,
        ids=ids,
        position=position,
        action=leads.next_action(db, lead),
        timeline=activities.timeline(db, lead),
        reasons=leads.DISQUALIFY_REASONS,
        category_list=category_list,
    )


def _detail_context(lead: Lead, **extra) -> dict:
    """What the lead page shows; ``extra`` says which field row is open (``open_field``,
    with ``field_raw``/``field_errors`` after a refusal), saved or refused."""
    db = get_session()
    category_list = categories.ordered(db)
    return {
        "lead": lead,
        # A team without categories sees no Categories row.
        "fields": {
            name: label
            for name, label in leads.LEAD_FIELDS.items()
            if name != "categories" or category_list
        },
        # Issue 29: the optional fields (behind a disclosure) and those holding a value.
        "optional_fields": leads.OPTIONAL_FIELDS,
        "lead_optional_values": [n for n in leads.OPTIONAL_FIELDS if getattr(lead, n) is not None],
        "editable": leads.edit_refusal(lead) is None,
        "action": leads.next_action(db, lead),
        "field_raw": leads.field_values(db, lead),
        "field_errors": {},
        "timeline": activities.timeline(db, lead),
        "reasons": leads.DISQUALIFY_REASONS,
        "category_list": category_list,
        "result": leads.conversion_of(db, lead),
        "owners": users.active_users(get_session()) if current_user.can("coordinator") else [],
        "undo_refusal": (
            convert.undo_refusal(db, lead, current_user)
            if lead.status == "converted" and current_user.can("coordinator")
            else None
        ),
        **_merge_context(db, lead),
        **extra,
    }


def _merge_context(db, lead: Lead) -> dict:
    """The lead page's "Merged — name · Undo" for coordinators: the newest merge into
    this lead (or the one that merged it) still within its day, and why it may not be
    undone."""
    merged_into = db.get(Lead, lead.merged_into_id) if lead.merged_into_id else None
    if not current_user.can("coordinator"):
        return {"merge": None, "merged_into": merged_into}
    merge = merging.merge_of(db, lead) if lead.merged_into_id else merging.latest_merge(db, lead)
    refusal = merging.undo_refusal(db, merge, current_user) if merge else None
    if merge is None or refusal == merging.TOO_LATE:
        return {"merge": None, "merged_into": merged_into}
    return {"merge": merge, "merge_undo_refusal": refusal, "merged_into": merged_into}


@bp.get("/<int:lead_id>")
def detail(lead_id: int):
    """The lead page; ``?edit=<field>`` opens that field's form (the no-JavaScript way).
    A lead merged into another leads to that one, when the viewer may see it (as a merged
    company's page does, quickcrm/views/companies.py)."""
    lead = _lead_for(lead_id)
    kept = get_session().get(Lead, lead.merged_into_id) if lead.merged_into_id else None
    if kept is not None and (kept.owner_id == current_user.id or current_user.can("coordinator")):
        flash(f"{lead.name} was merged into {kept.name}.")
        return redirect(url_for("leads.detail", lead_id=kept.id), 303)
    edit = request.args.get("edit")
    open_field = edit if edit in leads.LEAD_FIELDS and leads.edit_refusal(lead) is None else None
    return render(TEMPLATE, ["content"], **_detail_context(lead, open_field=open_field))


def _lead_and_field(lead_id: int, name: str) -> Lead:
    lead = _lead_for(lead_id)
    if name not in leads.LEAD_FIELDS:
        abort(404)
    return lead


def _row(lead: Lead, name: str, status: int = 200, blocks=("field_row",), **extra):
    """One field's row of the lead page (the whole page for a non-htmx request)."""
    context = _detail_context(lead, field_name=name, **extra)
    return render(TEMPLATE, list(blocks), status=status, **context)


@bp.get("/<int:lead_id>/fields/<name>")
def field_row(lead_id: int, name: str):
    """A field's row: as shown, or with ``?edit=1`` as its form."""
    lead = _lead_and_field(lead_id, name)
    if request.args.get("edit") != "1":
        return _row(lead, name, take_focus=name)
    refusal = leads.edit_refusal(lead)
    if refusal:
        return _row(lead, name, status=409, refused_field=name, refusal=refusal)
    return _row(lead, name, open_field=name)


@bp.post("/<int:lead_id>/fields/<name>")
def save_field(lead_id: int, name: str):
    """Save one field; bad input answers its form again with the message, nothing saved."""
    lead = _lead_and_field(lead_id, name)
    try:
        leads.update_field(
            get_session(),
            lead,
            current_user,
            name,
            request.form,
            today=today(),
            phone_region=phone_region(),
        )
    except v.Conflict as exc:
        return _row(lead, name, status=409, refused_field=name, refusal=str(exc))
    except v.Refused as exc:
        errors = exc.errors
        return _row(lead, name, 422, open_field=name, field_raw=form_data(), field_errors=errors)
    get_session().commit()
    if wants_page():
        flash(f"Saved — {leads.LEAD_FIELDS[name].lower()}.")
        return redirect(url_for("leads.detail", lead_id=lead.id, _anchor=f"field-{name}"), 303)
    # The heading shows the name and temperature: it is refreshed along with the row.
    blocks = ("field_row", "lead_heading")
    return _row(lead, name, blocks=blocks, saved_field=name, take_focus=name, heading_oob=True)


@bp.post("/<int:lead_id>/activities")
def log_activity(lead_id: int):
    """Log a note, call, email, meeting or (repeating) task on the lead."""
    lead = _lead_for(lead_id)

    def timeline(status: int = 200, **extra):
        # A task with a due date may be the new next action: its row comes along (htmx).
        oob = not wants_page()
        context = _detail_context(lead, field_name="next_action", row_oob=oob, **extra)
        return render(TEMPLATE, ["timeline", "field_row"], status=status, **context)

    refusal = leads.edit_refusal(lead)
    if refusal:
        return timeline(status=409, timeline_refusal=refusal)
    return log_activity_on(lead, timeline, url_for("leads.detail", lead_id=lead.id))


def _back(lead: Lead) -> str:
    """Where to go after an action: the page it came from (review mode), if it is ours."""
    return safe_next(request.form.get("next"), url_for("leads.detail", lead_id=lead.id))


@bp.post("/<int:lead_id>/disqualify")
@role_required("coordinator")
def disqualify(lead_id: int):
    lead = _lead_for(lead_id)
    reason = request.form.get("reason")
    try:
        leads.disqualify(get_session(), lead, reason)
    except v.Refused as exc:
        context = _detail_context(lead, reason_error=str(exc))
        return render(TEMPLATE, ["content"], status=422, **context)
    except v.Conflict as exc:
        flash(str(exc), "error")
        return redirect(_back(lead), 303)
    flash(f"Disqualified — {lead.name} ({reason}).")
    return redirect(_back(lead), 303)


@bp.post("/<int:lead_id>/reopen")
@role_required("coordinator")
def reopen(lead_id: int):
    lead = _lead_for(lead_id)
    try:
        leads.reopen(get_session(), lead)
    except v.Conflict as exc:
        flash(str(exc), "error")
        return redirect(_back(lead), 303)
    flash(f"Reopened — {lead.name}.")
    return redirect(_back(lead), 303)


@bp.post("/<int:lead_id>/snooze")
def snooze(lead_id: int):
    lead = _lead_for(lead_id)
    action = leads.snooze(get_session(), lead, current_user, today=today())
    get_session().commit()
    flash(f"Snoozed — {lead.name}, next action {friendly_date(action.due_on)}.")
    return redirect(_back(lead), 303)


@bp.post("/<int:lead_id>/owner")
@role_required("coordinator")
def reassign(lead_id: int):
    """Give the lead to another user (its open follow-ups go along)."""
    lead = _lead_for(lead_id)
    db = get_session()
    try:
        owner = ownership.new_owner(db, request.form.get("owner_id"))
    except v.Refused as exc:
        context = _detail_context(lead, owner_error=str(exc))
        return render(TEMPLATE, ["content"], status=422, **context)
    ownership.reassign_leads(db, [lead.id], owner)
    db.commit()
    flash(f"Reassigned — {lead.name} is now {owner.name}'s.")
    return redirect(_back(lead), 303)


@bp.post("/reassign")
@role_required("coordinator")
def reassign_many():
    """Give the checked leads of the list to the chosen user."""
    db = get_session()
    try:
        ids = ownership.lead_ids(request.form.getlist("lead_ids"))
        owner = ownership.new_owner(db, request.form.get("owner_id"))
    except v.Refused as exc:
        return _list(422, reassign_errors=exc.errors)
    back = url_for("leads.index", **leads.LeadQuery.from_args(request.args).to_args())
    moved = ownership.reassign_leads(db, ids, owner)
    db.commit()
    flash(f"Reassigned {moved} lead{'' if moved == 1 else 's'} to {owner.name}.")
    return redirect(back, 303)


# --- The lead's card photo and voice notes -------------------------------------------


def _lead_page(lead: Lead, status: int = 200, **extra):
    """The lead page's attachments (and, out of band, its heading with the card mark)."""
    blocks = ["attachments", "lead_heading"]
    context = _detail_context(lead, heading_oob=True, **extra)
    return render(TEMPLATE, blocks, status=status, **context)


@bp.post("/<int:lead_id>/voice-notes")
@body_limit(attachments.LIMIT + attachments.MB)
def add_voice_note(lead_id: int):
    """A voice note recorded on a lead's page."""
    lead = _lead_for(lead_id)
    refusal = leads.edit_refusal(lead)
    if refusal:
        return _lead_page(lead, status=409, attachment_error=refusal)
    # A phone that recorded it with no network sends it later under a UUID it made
    # (static/js/voice.js, the phone's queue): a resend after a lost reply stores it once.
    key = offline.client_key(request.form.get(offline.FIELD))
    if offline.applied(get_session(), key):
        return _voice_note_saved(lead)
    upload = request.files.get("voice_note")
    try:
        if upload is None:
            raise v.Refused("Record a voice note first.")
        note = attachments.prepare_voice_note(upload.read(attachments.LIMIT + 1))
    except v.Refused as refusal:
        return _lead_page(lead, status=refusal.status, attachment_error=str(refusal))
    attachments.attach(lead, note, current_user)
    offline.claim(get_session(), key, current_user, "voice_note", None)
    offline.commit_once(get_session(), key)
    return _voice_note_saved(lead)


def _voice_note_saved(lead):
    if wants_page():
        return redirect(url_for("leads.detail", lead_id=lead.id, _anchor="attachments"), 303)
    return _lead_page(lead, attachment_saved="Voice note saved.")


@bp.post("/<int:lead_id>/card-checked")
def card_checked(lead_id: int):
    """The rep or coordinator checked the fields read from the card: the mark goes."""
    lead = _lead_for(lead_id)
    lead.from_card = False
    get_session().commit()
    if wants_page():
        return redirect(url_for("leads.detail", lead_id=lead.id), 303)
    return _lead_page(lead, attachment_saved="Marked as checked.")
