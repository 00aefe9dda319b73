"""Contacts: list with search, page with tap-to-call/email and vCard, edit, add a note."""

from __future__ import annotations

import re
from dataclasses import replace

from flask import Blueprint, Response, flash, redirect, request, url_for

from quickcrm.db import get_session
from quickcrm.domain import activities, companies
from quickcrm.domain import validation as v
from quickcrm.models import Company, Contact
from quickcrm.web.formats import phone_region
from quickcrm.web.guards import role_required
from quickcrm.web.log_activity import log_activity_on
from quickcrm.web.render import get_or_404, render, wants_page

bp = Blueprint("contacts", __name__, url_prefix="/contacts")

TEMPLATE = "contacts/detail.html"


@bp.get("/")
def index():
    db = get_session()
    query = companies.ContactQuery.from_args(request.args)
    company = v.chosen(db, Company, query.company_id)
    # A company that is not there lists every contact.
    query = replace(query, company_id=company.id if company else None)
    page = companies.contact_page(db, query)
    found = page.rows
    return render(
        "contacts/index.html",
        ["results"],
        query=query,
        company=company,
        contacts=found,
        last_contacted=activities.last_contacted_of(db, Contact, [c.id for c in found]),
        after=page.after,
    )


def _context(contact: Contact, **extra) -> dict:
    db = get_session()
    form = companies.ContactForm(
        raw={name: getattr(contact, name) or "" for name in companies.CONTACT_FIELDS}
    )
    return {
        "contact": contact,
        "form": form,
        "last_contacted": companies.last_contacted(db, contact),
        "opportunities": companies.opportunities_of(db, contact_id=contact.id),
        "timeline": activities.timeline(db, contact),
        **extra,
    }


@bp.get("/<int:contact_id>")
def detail(contact_id: int):
    return render(TEMPLATE, ["content"], **_context(get_or_404(Contact, contact_id)))


@bp.get("/<int:contact_id>/vcard")
def vcard(contact_id: int):
    contact = get_or_404(Contact, contact_id)
    filename = re.sub(r"[^A-Za-z0-9]+", "-", contact.name).strip("-") or "contact"
    return Response(
        companies.vcard(contact),
        mimetype="text/vcard",
        headers={"Content-Disposition": f'attachment; filename="{filename}.vcf"'},
    )


@bp.post("/<int:contact_id>")
@role_required("coordinator")
def update(contact_id: int):
    contact = get_or_404(Contact, contact_id)
    region = phone_region()
    form = companies.ContactForm.clean(get_session(), request.form, region=region)
    if not form.ok:
        return render(TEMPLATE, ["contact_form"], status=422, **_context(contact, form=form))
    companies.update_contact(get_session(), contact, form, region)
    get_session().commit()
    if wants_page():
        flash(f"Saved — {contact.name}.")
        return redirect(url_for("contacts.detail", contact_id=contact.id), 303)
    # The form says Saved; the heading and facts above it are refreshed out of band.
    blocks = ["contact_form", "contact_facts"]
    return render(TEMPLATE, blocks, saved=True, facts_oob=True, **_context(contact))


@bp.post("/<int:contact_id>/activities")
def log_activity(contact_id: int):
    """Log a note, call, email, meeting or (repeating) task on the contact."""
    contact = get_or_404(Contact, contact_id)

    def timeline(status: int = 200, **extra):
        return render(TEMPLATE, ["timeline"], status=status, **_context(contact, **extra))

    return log_activity_on(contact, timeline, url_for("contacts.detail", contact_id=contact.id))
