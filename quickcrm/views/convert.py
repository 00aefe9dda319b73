"""Converting a lead: one screen, one transaction (docs/architecture.md, "The path of a
conversion"); and undoing a conversion within a day (docs/pipeline.md, "Undo a
conversion")."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from markupsafe import Markup

from quickcrm.db import get_session
from quickcrm.domain import matching
from quickcrm.domain import validation as v
from quickcrm.domain.convert import ConvertForm, convert_lead, undo_conversion
from quickcrm.domain.stages import ordered_stages
from quickcrm.models import Lead
from quickcrm.web.formats import phone_region, today
from quickcrm.web.guards import role_required, safe_next
from quickcrm.web.render import get_or_404, render

bp = Blueprint("convert", __name__, url_prefix="/leads")

TEMPLATE = "convert/index.html"


def _next() -> str:
    """Where to go after converting: back to review mode when it came from there."""
    return safe_next(request.values.get("next"), "")


def _page(lead: Lead, form: ConvertForm, status: int = 200):
    db = get_session()
    region = phone_region()
    companies = matching.suggest_companies(db, lead, region)
    contacts = matching.suggest_contacts(db, lead, [c.id for c in companies], region)
    return render(
        TEMPLATE,
        ["content"],
        status=status,
        lead=lead,
        form=form,
        companies=companies,
        contacts=contacts,
        company_reasons={c.id: matching.company_match_reasons(c, lead, region) for c in companies},
        contact_reasons={c.id: matching.contact_match_reasons(c, lead, region) for c in contacts},
        stages=ordered_stages(db),
        next=_next(),
    )


def _already(lead: Lead, status: int = 409):
    return render(TEMPLATE, ["content"], status=status, lead=lead, already=True)


@bp.get("/<int:lead_id>/convert")
@role_required("coordinator")
def form(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    if lead.status != "open":
        return _already(lead, 200)
    db = get_session()
    region = phone_region()
    suggested = matching.suggest_companies(db, lead, region)
    return _page(lead, ConvertForm.initial(db, lead, suggested, today()))


@bp.post("/<int:lead_id>/convert")
@role_required("coordinator")
def convert(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    db = get_session()
    region = phone_region()
    if lead.status != "open":
        return _already(lead)
    form = ConvertForm.clean(db, request.form, phone_region=region)
    if not form.ok:
        return _page(lead, form, 422)
    try:
        result = convert_lead(db, lead, current_user, form, phone_region=region)
    except v.Conflict:
        return _already(lead)
    company_url = url_for("companies.detail", company_id=result.company.id)
    message = Markup('Converted — {} is now a contact at <a href="{}">{}</a>').format(
        lead.name, company_url, result.company.name
    )
    if result.opportunity is not None:
        deal_url = url_for("opportunities.detail", opportunity_id=result.opportunity.id)
        message += Markup(', with the opportunity <a href="{}">{}</a>').format(
            deal_url, result.opportunity.title
        )
    lead_url = url_for("leads.detail", lead_id=lead.id)
    message += Markup('. <a href="{}">Undo</a> from the lead\'s page.').format(lead_url)
    flash(message)
    return redirect(_next() or company_url, 303)


@bp.post("/<int:lead_id>/convert/undo")
@role_required("coordinator")
def undo(lead_id: int):
    """Undo the conversion: the lead is open again, the records it made are gone."""
    lead = get_or_404(Lead, lead_id)
    name = lead.name
    try:
        undo_conversion(get_session(), lead, current_user)
    except v.Conflict as exc:
        return render(TEMPLATE, ["content"], status=409, lead=lead, already=True, undo_error=exc)
    flash(f"Conversion undone — {name} is an open lead again.")
    return redirect(url_for("leads.detail", lead_id=lead_id), 303)
