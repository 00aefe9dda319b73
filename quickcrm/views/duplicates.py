"""Duplicate hints while typing (``/duplicates``): what a name, company, email or phone
being typed on the capture, new company or new contact form may already be, as JSON for
static/js/hints.js. The rules and who may open what are quickcrm/domain/duplicates.py's."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import duplicates
from quickcrm.web.errors import answers_json
from quickcrm.web.formats import phone_region, short_day

bp = Blueprint("duplicates", __name__)

ENDPOINTS = {"lead": "leads.detail", "contact": "contacts.detail", "company": "companies.detail"}


@bp.get("/duplicates")
@answers_json
def hints():
    """``{"hints": {field: [{"text", "url"}]}}``: ``url`` is null where the viewer may not
    open the record (another rep's lead). A value too long to be in any record matches
    nothing; nothing here is ever refused but a NUL byte (400, before every view)."""
    typed = duplicates.Typed(**{name: request.args.get(name, "") for name in duplicates.FIELDS})
    hints: dict[str, list[dict]] = {name: [] for name in duplicates.FIELDS}
    for match in duplicates.find(get_session(), typed, phone_region()):
        url = None
        if duplicates.openable(match, current_user):
            url = url_for(ENDPOINTS[match.kind], **{f"{match.kind}_id": match.id})
        text = duplicates.describe(match, current_user, short_day)
        hints[match.by].append({"kind": match.kind, "text": text, "url": url})
    response = jsonify(hints=hints)
    response.headers["Cache-Control"] = "no-store"
    return response
