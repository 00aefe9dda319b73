"""Static files: WhiteNoise serves them with their content hash in the URL (cached for a
year); the ES modules share one folder version."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

from flask import current_app, g, url_for
from whitenoise import WhiteNoise

from quickcrm.web.security import add_security_headers


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


def _static_headers(headers, path: str, url: str) -> None:
    add_security_headers(headers)
    # The manifest and the service worker have fixed URLs: browsers must revalidate them.
    if url.endswith((".webmanifest", "/sw.js")):
        headers["Cache-Control"] = "no-cache"


def init_app(app) -> None:
    """WhiteNoise in front of the app, serving /static/ (and the modules' versioned URLs)."""
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
