"""Leads: the list with its filters, review mode, and a lead's own page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from quickcrm.db import get_session
from quickcrm.domain import leads
from quickcrm.domain import validation as v
from quickcrm.models import Lead, User
from quickcrm.web import render, role_required, today, wants_page

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


def _form_of(lead: Lead) -> leads.LeadForm:
    action = leads.next_action(get_session(), lead)
    raw = {name: getattr(lead, name, None) or "" for name in leads.CAPTURE_FIELDS}
    raw["next_action_on"] = action.due_on.isoformat() if action else ""
    return leads.LeadForm(raw=raw)


@bp.get("/")
def index():
    session = get_session()
    query = leads.LeadQuery.from_mapping(request.args)
    page = leads.list_leads(
        session, query, current_user, today=today(), after=request.args.get("after")
    )
    owners = (
        list(session.scalars(select(User).order_by(User.name)))
        if current_user.can("coordinator")
        else []
    )
    return render(
        "leads/index.html",
        ["results"],
        query=query,
        page=page,
        owners=owners,
        sources=leads.sources(session),
        reasons=leads.DISQUALIFY_REASONS,
    )


@bp.get("/review")
def review():
    """Review mode: one lead of the filtered list per screen, with its position."""
    session = get_session()
    query = leads.LeadQuery.from_mapping(request.args)
    ids = leads.lead_ids(session, query, current_user, today=today())
    if not ids:
        return render("leads/review.html", ["content"], query=query, lead=None, ids=ids)
    position = request.args.get("at", type=int, default=1)
    position = min(max(position, 1), len(ids))
    lead = _lead_for(ids[position - 1])
    return render(
        "leads/review.html",
        ["content"],
        query=query,
        lead=lead,
        ids=ids,
        position=position,
        action=leads.next_action(session, lead),
        timeline=leads.timeline(session, lead),
        reasons=leads.DISQUALIFY_REASONS,
    )


def _detail_context(lead: Lead, **extra) -> dict:
    session = get_session()
    return {
        "lead": lead,
        "form": _form_of(lead),
        "timeline": leads.timeline(session, lead),
        "reasons": leads.DISQUALIFY_REASONS,
        "result": leads.conversion_of(session, lead),
        **extra,
    }


@bp.get("/<int:lead_id>")
def detail(lead_id: int):
    lead = _lead_for(lead_id)
    return render(TEMPLATE, ["content"], **_detail_context(lead))


@bp.post("/<int:lead_id>")
def update(lead_id: int):
    lead = _lead_for(lead_id)
    form = leads.LeadForm.from_mapping(request.form).clean(
        today=today(), phone_region=current_app.config.get("PHONE_REGION")
    )
    if not form.ok:
        return render(TEMPLATE, ["lead_form"], status=422, lead=lead, form=form)
    leads.update_lead(get_session(), lead, current_user, form)
    if wants_page():
        flash(f"Saved — {lead.name}.")
        return redirect(url_for("leads.detail", lead_id=lead.id), 303)
    return render(TEMPLATE, ["lead_form"], lead=lead, form=_form_of(lead), saved=True)


@bp.post("/<int:lead_id>/notes")
def add_note(lead_id: int):
    lead = _lead_for(lead_id)
    try:
        leads.add_note(get_session(), lead, current_user, request.form.get("text"))
    except v.Invalid as exc:
        context = _detail_context(lead, note_error=str(exc), note_text=request.form.get("text"))
        return render(TEMPLATE, ["timeline"], status=422, **context)
    if wants_page():
        flash("Note added.")
        return redirect(url_for("leads.detail", lead_id=lead.id), 303)
    return render(TEMPLATE, ["timeline"], **_detail_context(lead))


def _back(lead: Lead) -> str:
    """Where to go after an action: the page it came from (review mode), if it is ours."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("leads.detail", lead_id=lead.id)


@bp.post("/<int:lead_id>/disqualify")
@role_required("coordinator")
def disqualify(lead_id: int):
    lead = _lead_for(lead_id)
    reason = request.form.get("reason")
    try:
        leads.disqualify(get_session(), lead, reason)
    except v.Invalid as exc:
        context = _detail_context(lead, reason_error=str(exc))
        return render(TEMPLATE, ["content"], status=422, **context)
    except leads.NotOpen as exc:
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
    except leads.NotOpen as exc:
        flash(str(exc), "error")
        return redirect(_back(lead), 303)
    flash(f"Reopened — {lead.name}.")
    return redirect(_back(lead), 303)


@bp.post("/<int:lead_id>/snooze")
def snooze(lead_id: int):
    lead = _lead_for(lead_id)
    action = leads.snooze(get_session(), lead, current_user, today=today())
    flash(f"Snoozed — {lead.name}, next action {action.due_on.isoformat()}.")
    return redirect(_back(lead), 303)
