"""Companies: list with search, page, edit, add a note, merge a duplicate (coordinators)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import activities, companies
from quickcrm.domain import validation as v
from quickcrm.models import COMPANY_TYPES, Company
from quickcrm.web import get_or_404, log_activity_on, render, role_required, wants_page

bp = Blueprint("companies", __name__, url_prefix="/companies")

TEMPLATE = "companies/detail.html"


@bp.get("/")
def index():
    q = request.args.get("q", "")[:200]
    found = companies.search_companies(get_session(), q)
    return render("companies/index.html", ["results"], q=q, companies=found)


def _context(company: Company, **extra) -> dict:
    session = get_session()
    form = companies.RecordForm(
        raw={name: getattr(company, name) or "" for name in companies.COMPANY_FIELDS}
    )
    return {
        "company": company,
        "form": form,
        "types": COMPANY_TYPES,
        "opportunities": companies.opportunities_of(session, company_id=company.id),
        "timeline": activities.timeline(session, company),
        "others": companies.search_companies(session) if current_user.can("coordinator") else [],
        **extra,
    }


@bp.get("/<int:company_id>")
def detail(company_id: int):
    company = get_or_404(Company, company_id)
    if company.merged_into_id is not None:
        return redirect(url_for("companies.detail", company_id=company.merged_into_id), 301)
    return render(TEMPLATE, ["content"], **_context(company))


@bp.post("/<int:company_id>")
@role_required("coordinator")
def update(company_id: int):
    company = get_or_404(Company, company_id)
    region = current_app.config.get("PHONE_REGION")
    form = companies.company_form(request.form, region)
    if not form.ok:
        return render(TEMPLATE, ["company_form"], status=422, **_context(company, form=form))
    companies.update_company(get_session(), company, form, region)
    if wants_page():
        flash(f"Saved — {company.name}.")
        return redirect(url_for("companies.detail", company_id=company.id), 303)
    return render(TEMPLATE, ["company_form"], saved=True, **_context(company))


@bp.post("/<int:company_id>/activities")
def log_activity(company_id: int):
    """Log a note, call, email, meeting or (repeating) task on the company."""
    company = get_or_404(Company, company_id)

    def timeline(status: int = 200, **extra):
        return render(TEMPLATE, ["timeline"], status=status, **_context(company, **extra))

    return log_activity_on(company, timeline, url_for("companies.detail", company_id=company.id))


@bp.post("/<int:company_id>/merge")
@role_required("coordinator")
def merge(company_id: int):
    """Merge the chosen duplicate into this company."""
    survivor = get_or_404(Company, company_id)
    duplicate_id = v.record_id(request.form.get("duplicate"))
    duplicate = get_session().get(Company, duplicate_id) if duplicate_id else None
    if duplicate is None:
        context = _context(survivor, merge_error="Choose the duplicate to merge into this one.")
        return render(TEMPLATE, ["content"], status=422, **context)
    try:
        companies.merge_companies(get_session(), survivor, duplicate)
    except companies.MergeRefused as exc:
        return render(TEMPLATE, ["content"], status=422, **_context(survivor, merge_error=str(exc)))
    flash(f"Merged {duplicate.name} into {survivor.name}.")
    return redirect(url_for("companies.detail", company_id=survivor.id), 303)
