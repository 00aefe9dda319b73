"""Converting a lead: one screen, one transaction (PRODUCT.md §4, screen 5)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import matching
from quickcrm.domain.convert import AlreadyConverted, ConvertForm, convert_lead
from quickcrm.domain.stages import ordered_stages
from quickcrm.models import Lead
from quickcrm.web import get_or_404, render, role_required, today

bp = Blueprint("convert", __name__, url_prefix="/leads")

TEMPLATE = "convert/index.html"


def _page(lead: Lead, form: ConvertForm, status: int = 200):
    session = get_session()
    region = current_app.config.get("PHONE_REGION")
    companies = matching.suggest_companies(session, lead, region)
    contacts = matching.suggest_contacts(session, lead, [c.id for c in companies], region)
    return render(
        TEMPLATE,
        ["content"],
        status=status,
        lead=lead,
        form=form,
        companies=companies,
        contacts=contacts,
        stages=ordered_stages(session),
    )


def _already(lead: Lead, status: int = 409):
    return render(TEMPLATE, ["content"], status=status, lead=lead, already=True)


@bp.get("/<int:lead_id>/convert")
@role_required("coordinator")
def form(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    if lead.status != "open":
        return _already(lead, 200)
    session = get_session()
    region = current_app.config.get("PHONE_REGION")
    suggested = matching.suggest_companies(session, lead, region)
    return _page(lead, ConvertForm.initial(session, lead, suggested, today()))


@bp.post("/<int:lead_id>/convert")
@role_required("coordinator")
def convert(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    session = get_session()
    region = current_app.config.get("PHONE_REGION")
    if lead.status != "open":
        return _already(lead)
    form = ConvertForm.from_mapping(request.form).clean(session, phone_region=region)
    if not form.ok:
        return _page(lead, form, 422)
    try:
        result = convert_lead(session, lead, current_user, form, phone_region=region)
    except AlreadyConverted:
        return _already(lead)
    message = f"Converted — {lead.name} is now a contact at {result.company.name}"
    if result.opportunity is not None:
        message += f", with the opportunity “{result.opportunity.title}”"
    flash(message + ".")
    return redirect(url_for("companies.detail", company_id=result.company.id), 303)
