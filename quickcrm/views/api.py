"""The web-to-lead API (``POST /api/leads``) for website forms and webhooks (docs/api.md).

The Bearer token is the credential, not a session: the API is exempt from CSRF, public to
the sign-in check, and runs without a session at all, so it never reads or sets a cookie.
Every answer is JSON, errors included.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from quickcrm.db import get_session
from quickcrm.domain import api_tokens, ratelimit, web_leads
from quickcrm.domain import validation as v
from quickcrm.web.errors import MESSAGES
from quickcrm.web.formats import phone_region, today

bp = Blueprint("api", __name__, url_prefix="/api")

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _json(body: dict | str, status: int, headers: dict | None = None) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    response = Response(text, status=status, mimetype="application/json", headers=headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(status: int, message: str, headers: dict | None = None) -> Response:
    return _json({"error": message}, status, headers)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, except that an API answer never writes the cookie
    (not even to refresh a "stay signed in" browser's): the API has no session."""

    def save_session(self, app, session, response) -> None:
        if request.blueprint == bp.name:
            return
        super().save_session(app, session, response)


@bp.record_once
def _use_cookie_sessions(state) -> None:
    # Replacing another kind of session would change more than the API: fail loudly.
    assert type(state.app.session_interface) is SecureCookieSessionInterface
    state.app.session_interface = CookieSessions()


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    """Errors raised before or inside the view (413, a NUL byte) answer JSON too."""
    default = MESSAGES.get(error.code or 400, MESSAGES[400])[1]
    description = error.description if error.description != type(error).description else None
    return _error(error.code or 400, description or default)


NO_TOKEN = "Send a valid API token: Authorization: Bearer qcrm_…"


def _unauthorized(message: str = NO_TOKEN) -> Response:
    challenge = 'Bearer realm="QuickCRM"'
    if "Authorization" in request.headers:  # RFC 6750: a token was sent, and it is no good
        challenge += ', error="invalid_token"'
    return _error(401, message, {"WWW-Authenticate": challenge})


def _read_body() -> dict | Response:
    """The posted fields: a JSON object or a form, else an error answer."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return _error(400, "The body is not a JSON object QuickCRM can read.")
        return data
    if request.mimetype in FORMS or not (request.mimetype or request.content_length):
        return request.form.to_dict()  # a form, or nothing at all (a lead without a name)
    return _error(415, "Send the lead as JSON (application/json) or as a form.")


@bp.post("/leads")
def create_lead():
    db = get_session()
    token = api_tokens.authenticate(db, request.headers.get("Authorization"))
    if token is None:
        return _unauthorized()
    db.commit()  # the token's last use, kept even when it opens nothing now
    refusal = api_tokens.owner_refusal(token)
    if refusal is not None:
        return _unauthorized(refusal)
    limit = api_tokens.rate_limit(current_app.config, token)
    allowed, retry_after = ratelimit.hit(
        db, api_tokens.rate_limit_key(token), limit=limit, window=api_tokens.RATE_WINDOW
    )
    if not allowed:
        message = f"More than {limit} requests a minute with this token: wait and send again."
        return _error(429, message, {"Retry-After": str(retry_after)})
    try:
        key = web_leads.idempotency_key(request.headers.get("Idempotency-Key"))
    except v.Refused as exc:
        return _json({"errors": {web_leads.KEY_FIELD: str(exc)}}, 422)
    first = web_leads.first_answer(db, token, key)
    if first is None:
        data = _read_body()
        if isinstance(data, Response):
            return data
        form, errors = web_leads.lead_form(data, today=today(), phone_region=phone_region())
        names, refusal = web_leads.category_names(data)
        if refusal:
            errors["categories"] = refusal
        if errors:
            return _json({"errors": errors}, 422)
        first = web_leads.store_web_lead(
            db,
            token,
            form,
            key=key,
            url_of=lambda lead: url_for("leads.detail", lead_id=lead.id, _external=True),
            category_names=names,
        )
    return _answer(first)


def _answer(answer: web_leads.Answer) -> Response:
    """The (first) answer, with the new lead's page as its Location."""
    headers = {"Location": json.loads(answer.body)["url"]} if answer.status == 201 else {}
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _json(answer.body, answer.status, headers)
