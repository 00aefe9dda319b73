"""Companies: list with filters and search, page, new, edit, add a contact or an
opportunity, add a note, merge a duplicate (coordinators)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import activities, categories, companies, opportunities, users
from quickcrm.domain import validation as v
from quickcrm.domain.convert import CLOSE_AFTER
from quickcrm.models import COMPANY_RATINGS, COMPANY_TYPES, Company
from quickcrm.web.formats import phone_region, today
from quickcrm.web.guards import role_required
from quickcrm.web.log_activity import log_activity_on
from quickcrm.web.render import get_or_404, render, wants_page

bp = Blueprint("companies", __name__, url_prefix="/companies")

TEMPLATE = "companies/detail.html"


@bp.get("/")
def index():
    db = get_session()
    query = companies.CompanyQuery.from_args(request.args)
    page = companies.company_page(db, query)
    found = page.rows
    return render(
        "companies/index.html",
        ["results"],
        query=query,
        companies=found,
        after=page.after,
        types=COMPANY_TYPES,
        ratings=COMPANY_RATINGS,
        segments=companies.segments(db),
        last_contacted=activities.last_contacted_of(db, Company, [c.id for c in found]),
    )


def _company(company_id: int) -> Company:
    company = get_or_404(Company, company_id)
    if company.merged_into_id is not None:
        abort(404)
    return company


def _form_choices() -> dict:
    return {
        "segments": companies.segments(get_session()),
        "owners": users.active_users(get_session()),
    }


def _context(company: Company, **extra) -> dict:
    db = get_session()
    raw = {name: getattr(company, name) or "" for name in companies.COMPANY_FIELDS}
    raw |= {name: str(getattr(company, name) or "") for name in companies.CHOSEN_FIELDS}
    return {
        "company": company,
        "form": companies.CompanyForm(raw=raw),
        **_form_choices(),
        "contacts": companies.contacts_of(db, company),
        "opportunities": companies.opportunities_of(db, company_id=company.id),
        "timeline": activities.timeline(db, company),
        "last_contacted": companies.last_contacted(db, company),
        "others": companies.search_companies(db) if current_user.can("coordinator") else [],
        "category_list": categories.ordered(db),
        "chosen_categories": (
            _posted_categories()
            if request.method == "POST"
            else [category.id for category in company.categories]
        ),
        **extra,
    }


def _posted_categories() -> list[int]:
    return categories.chosen_ids(request.form.getlist("categories"))


@bp.get("/new")
@role_required("coordinator")
def new():
    form = companies.CompanyForm(raw={"type": "prospect", "owner_id": str(current_user.id)})
    return render("companies/new.html", ["company_form"], form=form, **_form_choices())


@bp.post("/new")
@role_required("coordinator")
def create():
    db = get_session()
    region = phone_region()
    form = companies.CompanyForm.clean(db, request.form, region=region)
    if not form.ok:
        context = {"form": form, **_form_choices()}
        return render("companies/new.html", ["company_form"], status=422, **context)
    company = companies.create_company(db, form, region, owner=current_user)
    db.commit()
    flash(f"Added — {company.name}.")
    return redirect(url_for("companies.detail", company_id=company.id), 303)


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
    region = phone_region()
    form = companies.CompanyForm.clean(get_session(), request.form, region=region)
    if not form.ok:
        return render(TEMPLATE, ["company_form"], status=422, **_context(company, form=form))
    companies.update_company(get_session(), company, form, region)
    if request.form.get("categories_shown"):  # the form had the chips (the team has some)
        categories.set_company_categories(get_session(), company, _posted_categories())
    get_session().commit()
    if wants_page():
        flash(f"Saved — {company.name}.")
        return redirect(url_for("companies.detail", company_id=company.id), 303)
    # The form says Saved; the heading and facts above it are refreshed out of band.
    blocks = ["company_form", "company_facts"]
    return render(TEMPLATE, blocks, saved=True, facts_oob=True, **_context(company))


# --- a new contact at the company (anyone signed in) ---------------------------------------

CONTACT_TEMPLATE = "companies/new_contact.html"


@bp.get("/<int:company_id>/contacts/new")
def new_contact(company_id: int):
    company = _company(company_id)
    return render(CONTACT_TEMPLATE, ["content"], company=company, form=companies.ContactForm({}))


@bp.post("/<int:company_id>/contacts/new")
def create_contact(company_id: int):
    company = _company(company_id)
    region = phone_region()
    form = companies.ContactForm.clean(get_session(), request.form, region=region)
    if not form.ok:
        return render(CONTACT_TEMPLATE, ["content"], status=422, company=company, form=form)
    contact = companies.create_contact(get_session(), company, form, region, owner=current_user)
    get_session().commit()
    flash(f"Added — {contact.name} at {company.name}.")
    return redirect(url_for("companies.detail", company_id=company.id, _anchor="contacts"), 303)


# --- a new opportunity for the company (coordinators) -------------------------------------

OPPORTUNITY_TEMPLATE = "companies/new_opportunity.html"


def _opportunity_page(company: Company, form: opportunities.OpportunityForm, status: int = 200):
    db = get_session()
    return render(
        OPPORTUNITY_TEMPLATE,
        ["content"],
        status=status,
        company=company,
        form=form,
        stages=opportunities.open_stages(db),
        contacts=companies.contacts_at(db, company.id),
        owners=users.active_users(get_session()),
    )


@bp.get("/<int:company_id>/opportunities/new")
@role_required("coordinator")
def new_opportunity(company_id: int):
    company = _company(company_id)
    form = opportunities.OpportunityForm.new(get_session(), current_user, today() + CLOSE_AFTER)
    return _opportunity_page(company, form)


@bp.post("/<int:company_id>/opportunities/new")
@role_required("coordinator")
def create_opportunity(company_id: int):
    company = _company(company_id)
    db = get_session()
    form = opportunities.OpportunityForm.clean(db, request.form, company=company)
    if form.ok:
        try:
            opportunity = opportunities.create_opportunity(db, company, form)
        except v.Refused as exc:
            form.errors.update(exc.errors)
    if not form.ok:
        return _opportunity_page(company, form, 422)
    db.commit()
    flash(f"Added — {opportunity.title} for {company.name}.")
    return redirect(url_for("opportunities.detail", opportunity_id=opportunity.id), 303)


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
    except v.Refused as exc:
        return render(TEMPLATE, ["content"], status=422, **_context(survivor, merge_error=str(exc)))
    get_session().commit()
    flash(f"Merged {duplicate.name} into {survivor.name}.")
    return redirect(url_for("companies.detail", company_id=survivor.id), 303)
