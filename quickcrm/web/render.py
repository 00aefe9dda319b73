"""Answering a request with a page: the whole page or — for htmx — the blocks it asks for,
the records a URL names, the form a request carries, the navigation every page shows."""

from __future__ import annotations

from typing import TypeVar

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_blocks

from quickcrm.db import get_session
from quickcrm.extensions import htmx

T = TypeVar("T")

# The main navigation, in the order of docs/domain.md's areas: (label, endpoint, role
# needed). An entry shows once its area exists and the signed-in user's role allows it.
NAVIGATION = (
    ("Capture", "capture.index", "rep"),
    ("Agenda", "agenda.index", "rep"),
    ("Leads", "leads.index", "rep"),
    ("Companies", "companies.index", "rep"),
    ("Contacts", "contacts.index", "rep"),
    ("Opportunities", "opportunities.index", "rep"),
    ("Forecast", "forecast.index", "coordinator"),
    ("Admin", "admin.index", "admin"),
)


def navigation() -> list[tuple[str, str, bool]]:
    """(label, url, current) of each navigation entry the signed-in user may open."""
    if not current_user.is_authenticated:
        return []
    area = (request.endpoint or "").split(".")[0]
    return [
        (label, url_for(endpoint), endpoint.split(".")[0] == area)
        for label, endpoint, role in NAVIGATION
        if endpoint in current_app.view_functions and current_user.can(role)
    ]


def get_or_404(model: type[T], ident: int) -> T:
    """The ``model`` row with primary key ``ident``, or a 404 page."""
    record = get_session().get(model, ident)
    if record is None:
        abort(404)
    return record


def render(template: str, blocks: list[str], status: int = 200, **context):
    """The whole page, or — for an htmx request that is not a history restore — the
    named blocks of the same template."""
    if htmx and not htmx.history_restore_request:
        return render_blocks(template, blocks, **context), status
    return render_template(template, **context), status


def wants_page() -> bool:
    """True for a normal browser request (not htmx): it gets redirects and whole pages."""
    return not htmx or htmx.history_restore_request


def form_data() -> dict[str, str]:
    return {key: request.form.get(key, "") for key in request.form}
