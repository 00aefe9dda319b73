"""API tokens: the credential of the web-to-lead API (docs/api.md).

A token is a long random secret (``qcrm_`` + 32 random bytes, URL-safe), shown once when it
is made. Only its SHA-256 is stored: the secret has 256 bits of randomness, so a plain hash
is as hard to reverse as the secret is to guess, and a request's token is found by its hash
with one index look-up. A revoked token is kept (the list shows it) but opens nothing.

These functions flush and leave the commit to the caller, as the rest of the domain does —
but for ``authenticate``, which commits when it notes a token's last use.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from quickcrm.domain import validation as v
from quickcrm.domain.users import normalise_email
from quickcrm.models import ApiToken, User, utcnow

PREFIX = "qcrm_"
SECRET_BYTES = 32
# What a token looks like: the prefix and 43 URL-safe characters. Anything else (longer,
# other characters) is not looked up at all.
_TOKEN = re.compile(rf"{PREFIX}[A-Za-z0-9_-]{{43}}")
_BEARER = re.compile(r"Bearer[ ]+(\S+)[ ]*", re.IGNORECASE)
NAME_MAX = 120
SOURCE_MAX = 120
RATE_LIMIT_MAX = 10_000
# Requests per minute per token, unless the token names its own; the app's API_RATE_LIMIT
# setting (QUICKCRM_API_RATE_LIMIT) replaces this default.
DEFAULT_RATE_LIMIT = 60
RATE_WINDOW = timedelta(minutes=1)
# "Last used" is written at most this often per token: not one write per request.
LAST_USED_STEP = timedelta(minutes=1)


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def hash_token(secret: str) -> str:
    """The hex SHA-256 of ``secret``: what is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class ApiTokenForm(v.Form):
    """A new token (Admin → API tokens, ``flask create-api-token``):
    ``ApiTokenForm.clean(session, raw)`` — its name, the source its leads get, its limit
    of requests a minute, and ``owner``, the id of the active user its leads go to."""

    FIELDS = ("token_name", "source", "rate_limit", "owner")

    def validate(self, session: Session) -> None:
        limit = f"Enter a number of requests per minute from 1 to {RATE_LIMIT_MAX:,}."
        self.check_all(
            {
                "token_name": lambda s: v.text(
                    s, max_length=NAME_MAX, required="Name the token (e.g. the website)."
                ),
                "source": lambda s: v.text(s, max_length=SOURCE_MAX),
                "rate_limit": lambda s: v.integer(s, low=1, high=RATE_LIMIT_MAX, message=limit),
            }
        )
        self.values["owner"] = owner_by_id(session, self.raw["owner"])
        if self.values["owner"] is None:
            self.errors["owner"] = "Choose an active user to receive the leads."


def create_token(
    session: Session, form: ApiTokenForm, *, created_by: User | None = None
) -> tuple[ApiToken, str]:
    """Make the token of a cleaned form (flushed: the caller commits).

    Returns the token and its secret — the only time the secret exists outside the client.
    """
    assert form.ok, "create_token needs a cleaned form without errors"
    values = form.values
    secret = new_secret()
    token = ApiToken(
        name=values["token_name"],
        token_hash=hash_token(secret),
        prefix=secret[: len(PREFIX) + 4],
        source=values["source"],
        owner=values["owner"],
        rate_limit=values["rate_limit"],
        created_by=created_by,
    )
    session.add(token)
    session.flush()
    return token, secret


def owner_by_id(session: Session, raw: str | None) -> User | None:
    """The active user a form's owner select names, or ``None``."""
    user = v.chosen(session, User, raw)
    return user if user is not None and user.active else None


def owner_by_email(session: Session, email: str | None) -> User | None:
    """The active user with ``email``; without an email, the first active admin."""
    query = select(User).where(User.active)
    if email:
        query = query.where(User.email == normalise_email(email))
    else:
        query = query.where(User.role == "admin").order_by(User.id).limit(1)
    return session.scalars(query).first()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if it has the shape of one."""
    match = _BEARER.fullmatch(authorization or "")
    if match is None or not _TOKEN.fullmatch(match.group(1)):
        return None
    return match.group(1)


def authenticate(
    session: Session, authorization: str | None, *, now: datetime | None = None
) -> ApiToken | None:
    """The unrevoked token an ``Authorization`` header carries, or ``None``.

    Notes when the token was last used (to the minute); the caller commits it.
    """
    secret = bearer_token(authorization)
    if secret is None:
        return None
    token = session.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None)
        )
    ).one_or_none()
    if token is None:
        return None
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_STEP:
        token.last_used_at = now
    return token


def owner_refusal(token: ApiToken) -> str | None:
    """Why a valid token opens nothing now, or ``None``: its owner was deactivated (a lead
    for nobody active would be seen by no rep). An admin makes a new token for an active
    user (Admin → API tokens)."""
    if not token.owner.active:
        return (
            "The user this token gives its leads to was deactivated: ask a QuickCRM admin"
            " for a new token."
        )
    return None


def revoke(session: Session, token: ApiToken, *, now: datetime | None = None) -> bool:
    """Revoke ``token`` for good. False when it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now or utcnow()
    session.flush()
    return True


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token: the ones in use first, newest first."""
    return list(
        session.scalars(
            select(ApiToken).order_by(
                ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc()
            )
        )
    )


def rate_limit(config: Mapping[str, object], token: ApiToken | None = None) -> int:
    """Requests a minute allowed to ``token`` (or to a token that names none)."""
    if token is not None and token.rate_limit:
        return token.rate_limit
    return int(config.get("API_RATE_LIMIT", DEFAULT_RATE_LIMIT))  # type: ignore[call-overload]


def rate_limit_key(token: ApiToken) -> str:
    """The key the token's requests are counted under (quickcrm/domain/ratelimit.py)."""
    return f"api:token:{token.id}"
