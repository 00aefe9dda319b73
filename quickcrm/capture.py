"""The capture screen (``/``): a lead in seconds, one hand, on a phone."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import leads
from quickcrm.models import Lead
from quickcrm.web import render, today, wants_page

bp = Blueprint("capture", __name__)

TEMPLATE = "capture/index.html"
STICKY_SOURCE = "capture_source"
LAST_SAVED = "capture_last_saved"


def _page(form: leads.LeadForm | None = None, status: int = 200, blocks=None, **context):
    db = get_session()
    if form is None:
        form = leads.LeadForm.from_mapping({"source": session.get(STICKY_SOURCE, "")})
    recent = leads.recent_captures(db, current_user)
    return render(
        TEMPLATE,
        blocks or ["capture_form"],
        status=status,
        form=form,
        recent=recent,
        next_actions=leads.next_action_dates(db, recent),
        undo_window=current_app.config["UNDO_WINDOW"],
        **context,
    )


@bp.get("/")
def index():
    saved = None
    saved_id = session.pop(LAST_SAVED, None)
    if saved_id is not None:
        saved = get_session().get(Lead, saved_id)
    return _page(saved=saved)


@bp.post("/")
def save():
    form = leads.LeadForm.from_mapping(request.form).clean(
        today=today(), phone_region=current_app.config.get("PHONE_REGION")
    )
    if not form.ok:
        return _page(form, status=422)
    lead = leads.capture_lead(get_session(), current_user, form)
    session[STICKY_SOURCE] = form.values["source"] or ""
    if wants_page():
        session[LAST_SAVED] = lead.id
        return redirect(url_for("capture.index"), 303)
    return _page(blocks=["capture_form", "status", "recent"], saved=lead, oob=True)


@bp.post("/captures/<int:lead_id>/undo")
def undo(lead_id: int):
    db = get_session()
    lead = db.get(Lead, lead_id)
    if lead is None:
        abort(404)
    name = lead.name
    try:
        leads.undo_capture(db, lead, current_user, window=current_app.config["UNDO_WINDOW"])
    except leads.UndoRefused as refusal:
        return _page(blocks=["status"], status=409, refusal=str(refusal), oob=True)
    if wants_page():
        flash(f"Removed — {name}.")
        return redirect(url_for("capture.index"), 303)
    return _page(blocks=["status", "recent"], removed=name, oob=True)
