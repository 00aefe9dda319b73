"""What every answer carries for the browser's protection (the Content-Security-Policy and
friends), the CSRF field every form holds, and which user-entered URLs may become links
(docs/security.md, "In the browser")."""

from __future__ import annotations

from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from quickcrm.domain.validation import web_address


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


# The template filter: which user-entered URLs may become links (the domain's one rule).
http_url = web_address
