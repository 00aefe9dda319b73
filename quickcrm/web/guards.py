"""Who may do what, and where a request may send the browser: role checks and safe
redirects (docs/security.md)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user


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
