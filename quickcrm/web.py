"""What every view shares: page-or-fragment rendering, role checks, security headers,
cache-busted static URLs and the template helpers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date, timedelta
from functools import cache, wraps
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2_fragments.flask import render_blocks
from markupsafe import Markup
from whitenoise import WhiteNoise

from quickcrm import htmx, models
from quickcrm.db import get_session
from quickcrm.domain import housekeeping

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


def role_required(role: str) -> Callable:
    """Allow the view to users whose role is ``role`` or above; others get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated or not current_user.can(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def today() -> date:
    """The server's today; views pass it to domain rules that need one."""
    return date.today()


def friendly_date(when: date) -> str:
    """ "today", "tomorrow", a weekday within the week, else "Mon 30 Nov"."""
    days = (when - today()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    if 1 < days < 7:
        return when.strftime("%A")
    return when.strftime("%a %d %b %Y" if when.year != today().year else "%a %d %b")


@cache
def _file_hash(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


# static/js/ holds the ES modules. They import each other by relative URL ("./store.js"),
# which carries no query string: so the folder's version is a segment of their path
# (/static/js/<hash>/capture.js imports /static/js/<hash>/store.js) and any change to any
# module gives every one of them a new URL. The server ignores the segment, as it does ?v=.
MODULES = "js"
_MODULE_VERSION = re.compile(r"^(/static/js/)[0-9a-f]{12}/")


@cache
def _folder_hash(root: str, files: tuple[tuple[str, float], ...]) -> str:
    digest = hashlib.sha256()
    for name, _mtime in files:
        digest.update(f"{name}\0".encode())
        digest.update((Path(root) / name).read_bytes())
    return digest.hexdigest()[:12]


def _modules_version() -> str:
    """The modules' folder version, read once per request (a page links several modules;
    the service worker's script names all of them)."""
    version = g.get("quickcrm_modules_version")
    if version is None:
        root = Path(current_app.static_folder) / MODULES
        files = tuple(sorted((p.name, p.stat().st_mtime) for p in root.glob("*.js")))
        version = g.quickcrm_modules_version = _folder_hash(str(root), files)
    return version


def static_url(filename: str) -> str:
    """The URL of a static file with its content hash, so it can be cached for a year."""
    folder, _, name = filename.partition("/")
    if folder == MODULES and name:
        return url_for("static", filename=f"{MODULES}/{_modules_version()}/{name}")
    path = Path(current_app.static_folder) / filename
    version = _file_hash(str(path), path.stat().st_mtime)
    return url_for("static", filename=filename, v=version)


def _unversioned_modules(wsgi_app):
    """Serves /static/js/<hash>/name.js as /static/js/name.js (WhiteNoise's file)."""

    def serve(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/static/js/"):
            environ["PATH_INFO"] = _MODULE_VERSION.sub(r"\1", path)
        return wsgi_app(environ, start_response)

    return serve


def csrf_field() -> Markup:
    """The hidden CSRF input every form carries (a function, so htmx fragments have it)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


# Only the app's own files run, style and connect; nothing frames the app. README.md
# "Security" explains each directive; the templates hold no inline script or style.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def add_security_headers(headers) -> None:
    """The headers every answer carries, pages and static files alike (a header a view
    set itself wins)."""
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)


def _static_headers(headers, path: str, url: str) -> None:
    add_security_headers(headers)
    # The manifest and the service worker have fixed URLs: browsers must revalidate them.
    if url.endswith((".webmanifest", "/sw.js")):
        headers["Cache-Control"] = "no-cache"


_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)


def http_url(text: str | None) -> str | None:
    """``text`` as a link target when it is an http(s) URL (a bare "example.com" gets
    https://), else None: a user-entered ``javascript:`` or ``data:`` URL is never a link.

    Browsers ignore leading/trailing spaces and control characters and any tab or newline
    inside a URL, so those are dropped before the scheme is read; any other control
    character means it is not linked at all."""
    url = re.sub(r"[\t\n\r]", "", (text or "").strip(_C0_AND_SPACE))
    if _CONTROL.search(url):
        return None
    scheme = _SCHEME.match(url)
    if scheme is None or "." in scheme.group(1):  # "example.com" or "example.com:8080"
        if not url[:1].isalnum():
            return None
        url = f"https://{url}"
    elif scheme.group(1).lower() not in ("http", "https"):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def money(amount, cents: bool = False, signed: bool = False) -> str:
    """How every page writes an amount: thousands separated, whole units unless ``cents``,
    with its sign when ``signed`` (a change)."""
    return format(amount, ("+" if signed else "") + (",.2f" if cents else ",.0f"))


def init_app(app: Flask) -> None:
    app.wsgi_app = _unversioned_modules(
        WhiteNoise(
            app.wsgi_app,
            root=app.static_folder,
            prefix="static/",
            max_age=app.config["STATIC_MAX_AGE"],
            add_headers_function=_static_headers,
            mimetypes={".webmanifest": "application/manifest+json"},
        )
    )
    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.globals["csrf_field"] = csrf_field
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.filters["friendly_date"] = friendly_date
    app.jinja_env.filters["http_url"] = http_url
    app.jinja_env.filters["money"] = money
    # The word lists live once, in models.py; templates loop over them.
    app.jinja_env.globals.update(
        ACTIVITY_KINDS=models.ACTIVITY_KINDS,
        COMPANY_RATINGS=models.COMPANY_RATINGS,
        COMPANY_TYPES=models.COMPANY_TYPES,
        LEAD_STATUSES=models.LEAD_STATUSES,
        OUTCOMES=models.OUTCOMES,
        REPEAT_UNITS=models.REPEAT_UNITS,
        ROLES=models.ROLES,
        TEMPERATURES=models.TEMPERATURES,
    )

    @app.after_request
    def vary_on_htmx(response):
        # Pages answer a fragment to htmx and the whole page otherwise: caches must know.
        response.vary.add("HX-Request")
        add_security_headers(response.headers)
        return response

    # Rows kept only for a while are purged by the app servers themselves, after an answer
    # has gone, at most once an hour per process (domain/housekeeping.py: a lease in the
    # database lets one server run it). QUICKCRM_HOUSEKEEPING_EVERY (seconds, 0: never).
    app.extensions["quickcrm.housekeeping"] = housekeeping.Hourly()

    @app.after_request
    def purge_now_and_then(response):
        every = app.config["HOUSEKEEPING_EVERY"]
        if not isinstance(every, timedelta):
            every = timedelta(seconds=float(every or 0))
        if every > timedelta(0) and app.extensions["quickcrm.housekeeping"].due(every):
            response.call_on_close(lambda: _purge(app, every))
        return response


def _purge(app: Flask, every: timedelta) -> None:
    try:
        with app.extensions["quickcrm.sessionmaker"]() as session:
            counts = housekeeping.purge(session, models.utcnow(), every=every)
    except Exception:  # the next hour tries again; the answer has gone already
        app.logger.exception("Housekeeping failed")
        return
    if any(counts.values()):
        app.logger.info("Housekeeping purged %s", counts)


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path of this app, else ``default``: never a redirect off-site
    (browsers drop tabs and newlines, and read a backslash as a slash)."""
    target = (target or "").strip()
    if not target or any(ch in target for ch in "\\\t\r\n\x00") or not target.isprintable():
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def wants_page() -> bool:
    """True for a normal browser request (not htmx): it gets redirects and whole pages."""
    return not htmx or htmx.history_restore_request


def form_data() -> dict[str, str]:
    return {key: request.form.get(key, "") for key in request.form}
