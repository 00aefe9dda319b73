"""What the app answers when a request cannot be served: a page for people, JSON for JSON
clients, and never a second failure while answering the first.

The domain says no in one of two ways (quickcrm/domain/validation.py): ``Refused`` (the
input, 422 unless it says 413, 429 or 403) and ``Conflict`` (the state changed, 409). A
view that shows the messages next to a form's fields catches them; every other one is
answered here, once. Any other exception is a bug: 500."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, current_app, g, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from quickcrm.domain.validation import Conflict, Refused
from quickcrm.web.render import render

# (title, message) by status; a description given to abort() replaces the message.
MESSAGES = {
    400: ("The request could not be read", "Reload the page and try again."),
    403: ("Not allowed", "Your role does not allow this. Ask a coordinator or an admin."),
    404: ("Not found", "There is nothing here. It may have been removed."),
    405: ("Not allowed", "That action is not possible here."),
    409: ("Changed meanwhile", "This changed since the page was loaded. Reload it."),
    413: ("Too large", "That is more than QuickCRM accepts at once (1 MB)."),
    429: ("Too many attempts", "Wait a minute, then try again."),
    500: ("Something went wrong", "The error was logged. Please try again."),
}  # fmt: skip
CSRF_MESSAGE = "This form has expired or was not sent by QuickCRM. Reload the page and try again."


def answers_json(view):
    """Mark a view whose every answer is JSON (a card read, the phone's queue): its
    refusals are JSON too, whatever the client said it accepts."""
    view.answers_json = True
    return view


def wants_json() -> bool:
    """A client that sent JSON, or asks for JSON rather than HTML, gets JSON back."""
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes["text/html"]


def error_response(code: int, message: str | None = None, headers: dict | None = None):
    title, default = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    message = message or default
    headers = dict(headers or {})
    if wants_json():
        return jsonify(error=message), code, headers
    # htmx does not swap an error page into the page: static/js/pages.js shows this message.
    headers["X-QuickCRM-Message"] = quote(message)
    try:
        page, status = render(
            "errors/error.html", ["content"], status=code, code=code, title=title, message=message
        )
        return page, status, headers
    except Exception:  # the page itself failed (e.g. the database is down): plain text
        headers["Content-Type"] = "text/plain; charset=utf-8"
        return f"{title}. {message}", code, headers


def _rollback() -> None:
    """End the request's failed transaction first: on PostgreSQL nothing else can be read
    in it, not even what the error page shows."""
    db = g.get("db_session")
    if db is not None:
        try:
            db.rollback()
        except Exception:
            db.invalidate()


def refusal_response(exc: Refused | Conflict):
    """A refusal or conflict no view answered itself: JSON (``errors`` by field when the
    refusal names fields, else ``error``) to a JSON client or a view that answers JSON, the
    error page with its message otherwise; a 429 says when to come back."""
    headers = {}
    if getattr(exc, "retry_after", None) is not None:
        headers["Retry-After"] = str(exc.retry_after)
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "answers_json", False) or wants_json():
        named = isinstance(exc, Refused) and exc.field
        body = {"errors": exc.errors} if named else {"error": str(exc)}
        return jsonify(body), exc.status, headers
    return error_response(exc.status, str(exc), headers)


def init_app(app: Flask) -> None:
    @app.errorhandler(Refused)
    @app.errorhandler(Conflict)
    def refused(exc: Refused | Conflict):
        _rollback()  # nothing of a refused request is kept (docs/architecture.md)
        return refusal_response(exc)

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return error_response(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if error.code >= 500:
            _rollback()
        description = error.description if error.description != type(error).description else None
        return error_response(error.code, description)

    @app.errorhandler(InternalServerError)
    def server_error(_error):
        _rollback()
        return error_response(500)
