"""What every answer carries for the browser's protection (the Content-Security-Policy and
friends), the CSRF field every form holds, and which user-entered URLs may become links
(docs/security.md, "In the browser")."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_wtf.csrf import generate_csrf
from markupsafe import Markup


def csrf_field() -> Markup:
    """The hidden CSRF input every form carries (a function, so htmx fragments have it)."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


# Only the app's own files run, style and connect; nothing frames the app. docs/security.md,
# "In the browser", explains each directive; the templates hold no inline script or style.
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
