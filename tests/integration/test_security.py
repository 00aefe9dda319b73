"""Security that every route shares: CSRF on every state change, server-side roles,
headers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask_login import login_required

from quickcrm.models import Company, Lead
from quickcrm.web.guards import role_required
from quickcrm.web.security import http_url
from tests.conftest import csrf_token


def state_changing_rules(app):
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if methods and rule.endpoint != "static":
            yield rule, methods


# Routes whose credential is a token in a header, not the session cookie: no CSRF, and a
# signed-in browser gets nowhere without the token (401).
TOKEN_ROUTES = {"api.create_lead"}
# A reminder email's stop link: its signed token is the credential, and the mail provider's
# one-click POST (RFC 8058) carries no CSRF token (docs/security.md, "Reminder emails' stop
# link"). With a wrong token: 404.
SIGNED_LINK_ROUTES = {"reminders.stop"}


def test_every_state_changing_route_rejects_a_request_without_csrf(app, client, rep):
    rules = list(state_changing_rules(app))
    assert len(rules) >= 5
    for rule, methods in rules:
        url = re.sub(r"<(int:)?\w+>", "1", rule.rule)
        for method in methods:
            response = client.open(url, method=method, headers={"HX-Request": "true"})
            expected = (
                401
                if rule.endpoint in TOKEN_ROUTES
                else 404
                if rule.endpoint in SIGNED_LINK_ROUTES
                else 400
            )
            assert response.status_code == expected, (method, url)


def test_a_token_from_another_session_is_rejected(app, client, rep, db):
    stranger = app.test_client()
    stolen = csrf_token(stranger)
    response = client.post("/", data={"name": "X", "csrf_token": stolen})
    assert response.status_code == 400


@pytest.mark.fresh_app
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


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def assert_protected(response):
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer")


def test_pages_send_protective_headers(client, rep):
    response = client.get("/")
    assert_protected(response)
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/no-such-page",
        "/sw.js",
        "/static/app.css",
        "/static/head.js",
        "/static/js/capture.js",
        "/static/vendor/htmx-2.0.11.min.js",
        "/static/manifest.webmanifest",
        "/static/icons/icon.svg",
    ],
)
def test_every_answer_carries_the_policy_static_files_too(client, path):
    response = client.get(path)
    assert response.status_code in (200, 302, 404), path
    assert_protected(response)


def test_json_and_refusals_carry_the_policy_too(client, rep):
    assert_protected(client.get("/captures/token"))
    assert_protected(client.post("/captures", json={"name": "x"}))


ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"\sstyle\s*=|<style[\s>]", re.I)
HTMX_SCRIPT = re.compile(r"\shx-on|\shx-vars|=\s*[\'\"]\s*(js|javascript):", re.I)


def markup_files():
    yield from sorted((ROOT / "templates").rglob("*.html"))
    yield from sorted((ROOT / "static").rglob("*.html"))


@pytest.mark.parametrize(
    ("what", "pattern"),
    [
        ("inline <script>", INLINE_SCRIPT),
        ("inline event handler", INLINE_HANDLER),
        ("style attribute or element", INLINE_STYLE),
        ("htmx script attribute", HTMX_SCRIPT),
    ],
)
def test_no_markup_holds_script_or_style_the_policy_would_block(what, pattern):
    """The policy runs only the app's own files: inline script, handlers (which also turn
    HTML-escaped text back into script) and style attributes would be blocked, so none
    exist; confirmations are data-confirm / hx-confirm attributes instead."""
    files = list(markup_files())
    assert len(files) > 20
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {what}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_htmx_runs_no_script_from_attributes_or_answers():
    base = (ROOT / "templates" / "base.html").read_text()
    config = json.loads(re.search(r'name="htmx-config" content=\'([^\']*)\'', base).group(1))
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False  # an inline <style> otherwise


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("http://example.com", "http://example.com"),
        ("  example.com  ", "https://example.com"),
        ("www.example.com/path", "https://www.example.com/path"),
        ("javascript://%0aalert(1)", None),
        ("JaVa\tScRiPt:alert(1)", None),
        ("\x01javascript:alert(1)", None),
        ("\u200bjavascript:alert(1)", None),
        (" data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox(1)", None),
        ("//evil.example", None),
        ("https://", None),
        ("https:evil.example", None),
        ('"><img src=x onerror=alert(1)>', None),
        ("", None),
        (None, None),
    ],
)
def test_only_http_and_https_urls_become_links(text, link):
    assert http_url(text) == link


def test_a_javascript_website_is_shown_but_not_linked(client, coordinator, db):
    company = Company(name="Evil Corp", name_key="evil corp", website="javascript://%0aalert(1)")
    good = Company(name="Good Corp", name_key="good corp", website="good.example")
    db.add_all([company, good])
    db.commit()
    page = client.get(f"/companies/{company.id}").get_data(as_text=True)
    assert "Website: javascript://%0aalert(1)" in page
    assert 'href="javascript' not in page
    page = client.get(f"/companies/{good.id}").get_data(as_text=True)
    assert '<a class="button quiet" href="https://good.example" rel="noopener noreferrer">' in page


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
    # Each link's name: its text without the badge (the bottom bar's More list included).
    links = {
        re.sub(r"<[^>]+>", " ", link).split()[0]
        for link in re.findall(r"<a [^>]*>(.*?)</a>", nav, re.S)
    }
    assert set(shown) <= set(links)
    assert not set(not_shown) & set(links)


def test_a_name_with_quotes_stays_text_in_the_disqualify_confirmation(client, coordinator, db):
    lead = Lead(owner=coordinator, name="x');alert(1);('")
    db.add(lead)
    db.commit()
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'data-confirm="Disqualify x&#39;);alert(1);(&#39;?"' in page
