"""Security that every route shares: CSRF on every state change, server-side roles,
headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_login import login_required

from quickcrm.models import Lead
from quickcrm.web import role_required
from tests.conftest import csrf_token


def state_changing_rules(app):
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if methods and rule.endpoint != "static":
            yield rule, methods


def test_every_state_changing_route_rejects_a_request_without_csrf(app, client, rep):
    rules = list(state_changing_rules(app))
    assert len(rules) >= 5
    for rule, methods in rules:
        url = re.sub(r"<(int:)?\w+>", "1", rule.rule)
        for method in methods:
            response = client.open(url, method=method, headers={"HX-Request": "true"})
            assert response.status_code == 400, (method, url)


def test_a_token_from_another_session_is_rejected(app, client, rep, db):
    stranger = app.test_client()
    stolen = csrf_token(stranger)
    response = client.post("/", data={"name": "X", "csrf_token": stolen})
    assert response.status_code == 400


@pytest.mark.parametrize(("role", "status"), [("rep", 403), ("coordinator", 200), ("admin", 200)])
def test_role_required_is_checked_on_the_server(app, make_user, role, status):
    @app.get("/_coordinators_only")
    @login_required
    @role_required("coordinator")
    def coordinators_only():
        return "ok"

    make_user("someone@example.com", role)
    client = app.test_client()
    from tests.conftest import Auth

    Auth(client).login("someone@example.com")
    assert client.get("/_coordinators_only").status_code == status


def test_pages_send_protective_headers(client, rep):
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]


def test_errors_are_pages_not_stack_traces(client, rep):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "There is nothing here" in response.get_data(as_text=True)


NAV_RE = re.compile(r'<nav aria-label="Main"[^>]*>(.*?)</nav>', re.S)


@pytest.mark.parametrize(
    "role, shown, not_shown",
    [
        (
            "rep",
            ["Capture", "Agenda", "Leads", "Companies", "Contacts", "Opportunities"],
            ["Forecast", "Admin"],
        ),
        ("coordinator", ["Leads", "Opportunities", "Forecast"], ["Admin"]),
        ("admin", ["Capture", "Forecast", "Admin"], []),
    ],
)
def test_navigation_shows_what_the_role_may_open(client, sign_in_as, role, shown, not_shown):
    sign_in_as(role)
    nav = NAV_RE.search(client.get("/").get_data(as_text=True)).group(1)
    links = re.findall(r">(\w+)(?: <span[^>]*>\d+</span>)?</a>", nav)
    assert set(shown) <= set(links)
    assert not set(not_shown) & set(links)


INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_no_template_holds_an_inline_event_handler():
    """Inline handlers turn HTML-escaped text back into script; confirmations are
    data-confirm / hx-confirm attributes instead."""
    templates = Path(__file__).resolve().parents[2] / "templates"
    offenders = [
        f"{path.relative_to(templates)}:{number}"
        for path in templates.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if INLINE_HANDLER.search(line)
    ]
    assert offenders == []


def test_a_name_with_quotes_stays_text_in_the_disqualify_confirmation(client, coordinator, db):
    lead = Lead(owner=coordinator, name="x');alert(1);('")
    db.add(lead)
    db.commit()
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'data-confirm="Disqualify x&#39;);alert(1);(&#39;?"' in page
