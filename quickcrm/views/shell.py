"""The app shell a phone keeps (docs/architecture.md): the service worker, at the root so
its scope is the whole app, and a fresh CSRF token for a page opened from the phone's
cache."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from quickcrm.web.static import static_url

bp = Blueprint("shell", __name__)

# What the capture page loads, and the modules it loads when they are used: the service
# worker keeps these so the page opens and works offline (tests/integration/
# test_offline_shell.py checks that it keeps all of them); and htmx and pages.js, for the
# pages the phone keeps (the agenda, records).
SHELL_STATIC = (
    "app.css",
    "head.js",
    "js/app.js",
    "js/capture.js",
    "js/captures.js",
    "js/outbox.js",
    "js/place.js",
    "js/store.js",
    "js/sync.js",
    "js/cards.js",
    "js/voice.js",
    "js/queue.js",
    "js/pages.js",
    "vendor/htmx-2.0.11.min.js",
    "icons/icon.svg",
    "icons/apple-touch-icon.png",
)

KEPT_RECORDS = (
    ("leads.detail", "lead_id"),
    ("companies.detail", "company_id"),
    ("contacts.detail", "contact_id"),
    ("opportunities.detail", "opportunity_id"),
)


@bp.get("/captures/token")
def token():
    """A CSRF token for this session: a page opened from the phone's cache may carry an
    old one."""
    response = jsonify(csrf_token=generate_csrf(), user=current_user.id)
    response.headers["Cache-Control"] = "no-store"
    return response


def _service_worker_script() -> str:
    shell = [url_for("capture.index"), url_for("static", filename="manifest.webmanifest")]
    shell += [static_url(name) for name in SHELL_STATIC]
    # The version is the hash of the shell's URLs, which carry their files' hashes: a
    # deployment that changes any of them is a new worker with a new cache.
    code = (Path(current_app.static_folder) / "sw.js").read_text()
    version = hashlib.sha256("\n".join([*shell, code]).encode()).hexdigest()[:12]
    settings = {
        "version": version,
        "shell": shell,
        "page": url_for("capture.index"),
        "signOut": url_for("auth.logout"),
        "signIn": url_for("auth.login"),
        "agenda": url_for("agenda.index"),
        "style": static_url("app.css"),
        # Record pages the phone keeps for a field day offline: these prefixes and an id.
        "records": [
            url_for(endpoint, **{key: 1}).removesuffix("1")
            for endpoint, key in KEPT_RECORDS
            if endpoint in current_app.view_functions
        ],
    }
    return f"const QUICKCRM = {json.dumps(settings)};\n{code}"


@bp.get("/sw.js")
def service_worker():
    """The service worker, at the root so its scope is the whole app."""
    response = Response(_service_worker_script(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response
