"""The app shell a phone keeps (docs/architecture.md): the service worker, at the root so
its scope is the whole app, and a fresh CSRF token for a page opened from the phone's
cache."""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from quickcrm.db import get_session
from quickcrm.web.static import MODULES, static_url

bp = Blueprint("shell", __name__)

# What the pages the phone keeps link (the capture page, the agenda, the record pages: the
# files of base.html and each page's own): the service worker keeps these and every module
# they import, at once or when a feature is used, read from their import lines
# (shell_files), so those pages open and work offline. tests/integration/
# test_offline_shell.py follows each kept page's links and imports and fails when one is
# missing.
SHELL_STATIC = (
    "app.css",
    "head.js",
    "icons/icon.svg",
    "icons/apple-touch-icon.png",
    "vendor/htmx-2.0.11.min.js",
    "js/app.js",
    "js/pages.js",
    "js/capture.js",
    "js/panels.js",
    "js/voice.js",
)

# `import … from "./x.js"`, `import "./x.js"`, `import("./x.js")`: the modules import each
# other from their own folder (quickcrm/web/static.py).
IMPORTED = re.compile(r"""\b(?:from|import)\s*\(?\s*["']\./([\w.-]+\.js)["']""")

KEPT_RECORDS = (
    ("leads.detail", "lead_id"),
    ("companies.detail", "company_id"),
    ("contacts.detail", "contact_id"),
    ("opportunities.detail", "opportunity_id"),
)


@bp.get("/healthz")
def health():
    """200 while this app server can reach the database, 503 when it cannot: what a load
    balancer's health check (Caddy's ``health_uri``) asks before sending it users. No
    sign-in and no data: the answer says only "ok" or "database unreachable"."""
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("Health check: the database did not answer")
        answer, status = "database unreachable\n", 503
    else:
        answer, status = "ok\n", 200
    return answer, status, {"Content-Type": "text/plain", "Cache-Control": "no-store"}


@bp.get("/captures/token")
def token():
    """A CSRF token for this session: a page opened from the phone's cache may carry an
    old one."""
    response = jsonify(csrf_token=generate_csrf(), user=current_user.id)
    response.headers["Cache-Control"] = "no-store"
    return response


@cache
def _imports(path: str, mtime: float) -> tuple[str, ...]:
    names = dict.fromkeys(IMPORTED.findall(Path(path).read_text()))
    return tuple(f"{MODULES}/{name}" for name in names)


def shell_files() -> list[str]:
    """SHELL_STATIC and every module those import, directly or through another."""
    folder = Path(current_app.static_folder)
    files = list(SHELL_STATIC)
    for name in files:  # grows as imports are found
        if name.startswith(f"{MODULES}/"):
            path = folder / name
            files += [i for i in _imports(str(path), path.stat().st_mtime) if i not in files]
    return files


def _service_worker_script() -> str:
    shell = [url_for("capture.index"), url_for("static", filename="manifest.webmanifest")]
    shell += [static_url(name) for name in shell_files()]
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
        # A notification's picture (static/sw.js, "Notifications").
        "icon": static_url("icons/apple-touch-icon.png"),
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
