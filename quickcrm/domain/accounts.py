"""One-time links to choose a password (issue 23): an admin's invite or reset, *Forgot
password*. The link's secret is random (``secrets.token_urlsafe(32)``, 256 bits) and shown
once; only its SHA-256 is stored, so a copy of the database opens no account. A link works
once, until it expires, and any password change ends every link of the user."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from quickcrm.domain import ratelimit, users
from quickcrm.domain import validation as v
from quickcrm.models import PASSWORD_TOKEN_PURPOSES, PasswordToken, User

LIFETIMES = {
    "invite": timedelta(days=7),
    "reset": timedelta(days=7),
    "forgot": timedelta(hours=1),
}
SECRET_BYTES = 32
# A secret is token_urlsafe(32): 43 characters; anything much longer is not one of ours.
SECRET_MAX = 100
USED_OR_EXPIRED = "This link was used already or has expired: ask for a new one."


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(
    session: Session, user: User, purpose: str, now: datetime
) -> tuple[PasswordToken, str]:
    """A new one-time link for ``user`` (flushed: the caller commits) and its secret, which
    is nowhere else: show or send it now."""
    if purpose not in PASSWORD_TOKEN_PURPOSES:
        raise ValueError(f"purpose must be one of {PASSWORD_TOKEN_PURPOSES}")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    token = PasswordToken(
        user_id=user.id,
        token_hash=_digest(secret),
        purpose=purpose,
        created_at=now,
        expires_at=now + LIFETIMES[purpose],
    )
    session.add(token)
    session.flush()
    return token, secret


def _live_token(session: Session, secret: str, now: datetime) -> PasswordToken | None:
    if not isinstance(secret, str) or not secret or len(secret) > SECRET_MAX:
        return None
    token = session.scalar(select(PasswordToken).where(PasswordToken.token_hash == _digest(secret)))
    if token is None or token.used_at is not None or token.expires_at <= now:
        return None
    return token


def token_user(session: Session, secret: str, now: datetime) -> User | None:
    """The active user whose unused, unexpired link this is, or ``None`` (unknown,
    tampered, used, expired, or the user is deactivated)."""
    token = _live_token(session, secret, now)
    if token is None:
        return None
    user = session.get(User, token.user_id)
    return user if user is not None and user.active else None


def set_password_with(
    session: Session,
    secret: str,
    new_password: str,
    now: datetime,
    *,
    password_method: str = users.DEFAULT_PASSWORD_METHOD,
) -> User:
    """Set the password of the link's user (flushed: the caller commits and signs them in):
    the link is used, every other link of theirs and every session of theirs ends. Raises
    ``validation.Conflict`` (409) for a used, expired or unknown link, ``Refused`` (422)
    for a password the policy refuses."""
    token = _live_token(session, secret, now)
    user = session.get(User, token.user_id) if token is not None else None
    if token is None or user is None or not user.active:
        raise v.Conflict(USED_OR_EXPIRED)
    users.check_password_strength(new_password, user.email)
    # Used first, guarded by "still unused": of two requests with one link, one wins.
    claimed = session.execute(
        update(PasswordToken)
        .where(PasswordToken.id == token.id, PasswordToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise v.Conflict(USED_OR_EXPIRED)
    users.set_password(session, user, new_password, password_method=password_method, now=now)
    return user


def invite(
    session: Session, email: str, name: str | None, role: str, now: datetime
) -> tuple[User, str]:
    """A new user without a password, and the secret of their link to choose one (7 days).
    Refused as ``users.create_user`` refuses (the email taken, a wrong role)."""
    user = users.create_user(session, email, None, role=role, name=name)
    _token, secret = issue_token(session, user, "invite", now)
    return user, secret


def reset(session: Session, user: User, now: datetime) -> str:
    """An admin's reset: the password stops working (whoever knew it), every session and
    earlier link of ``user`` ends; the secret of a new link to choose one (7 days)."""
    user.password_hash = users.UNUSABLE_PASSWORD
    users.end_sessions(session, user)
    users.end_password_tokens(session, user, now)
    _token, secret = issue_token(session, user, "reset", now)
    return secret


# *Forgot password*: counted per address and per account an hour (whatever was typed, so
# the counts tell nothing about which emails have an account).
FORGOT_WINDOW = timedelta(hours=1)
FORGOT_PER_ADDRESS = 20
FORGOT_PER_ACCOUNT = 5
FORGOT_MESSAGE = "Too many requests for a link. Wait {minutes} minutes, then try again."


def count_forgot_request(session: Session, email: str, address: str | None) -> None:
    """Count one *Forgot password* request; raises ``Refused`` (429) past the limits."""
    keys = (
        (ratelimit.address_key("forgot", address), FORGOT_PER_ADDRESS),
        (f"forgot:account:{users.normalise_email(email or '')}", FORGOT_PER_ACCOUNT),
    )
    for key, limit in keys:
        allowed, retry_after = ratelimit.hit(session, key, limit=limit, window=FORGOT_WINDOW)
        if not allowed:
            minutes = max(1, -(-retry_after // 60))
            raise v.Refused(
                {"email": FORGOT_MESSAGE.format(minutes=minutes)},
                status=429,
                retry_after=retry_after,
            )


def forgot(session: Session, email: str, now: datetime) -> tuple[User, str] | None:
    """The active user ``email`` names and the secret of a new one-hour link, or ``None``
    (no such active user: the caller answers the same either way)."""
    address = users.normalise_email(email or "")
    if not address or len(address) > users.EMAIL_MAX or not v.storable(address):
        return None
    user = session.scalar(select(User).where(User.email == address, User.active))
    if user is None:
        return None
    _token, secret = issue_token(session, user, "forgot", now)
    return user, secret
