"""A lead's own page: see it and edit it."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import leads
from quickcrm.models import Lead
from quickcrm.web import render, today, wants_page

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


@bp.get("/<int:lead_id>")
def detail(lead_id: int):
    lead = _lead_for(lead_id)
    return render(TEMPLATE, ["content"], lead=lead, form=_form_of(lead))


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
