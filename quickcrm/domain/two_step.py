"""Two-step sign-in: a six-digit code from an authenticator app (TOTP, RFC 6238) after the
password, or one of ten recovery codes.

The secret is made here, shown to the user once as a QR code and as text, and kept on the
user (``User.totp_secret``) only once they typed a right code from their app (``confirm``).
A code is accepted one time step (30 seconds) either side of now, to allow for a phone's
clock and for typing; each step's code works once (``User.totp_last_step``: a code seen
over a shoulder, or replayed, is refused). Recovery codes are random, shown once and
stored as their SHA-256; each works once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from quickcrm.domain import ratelimit, users
from quickcrm.domain import validation as v
from quickcrm.models import RecoveryCode, User, utcnow

STEP_SECONDS = 30
# Steps either side of now a code is accepted at.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 10
# Wrong codes allowed per window, per account and per client address.
CODE_WINDOW = timedelta(minutes=5)
CODE_ACCOUNT_LIMIT = 5
CODE_ADDRESS_LIMIT = 30

WRONG_CODE = "That code is not right. Type the 6-digit code your app shows now."
_DIGITS = re.compile(r"[0-9]{6}", re.ASCII)
_RECOVERY = re.compile(rf"[{RECOVERY_ALPHABET}]{{{RECOVERY_LENGTH}}}", re.ASCII)


def new_secret() -> str:
    """A new random secret (160 bits, base32), as authenticator apps take it."""
    return pyotp.random_base32()


def otpauth_uri(user: User, secret: str, issuer: str = "QuickCRM") -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def _step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def _matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step (within the drift, later than ``after``) whose code is ``code``."""
    if not _DIGITS.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    current = _step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _plain(code: str | None) -> str:
    """What was typed, without spaces and dashes (recovery codes are shown in two halves)."""
    return re.sub(r"[\s\-]", "", code or "").lower()


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def _new_recovery_codes(session: Session, user: User, now: datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    session.flush()
    half = RECOVERY_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def confirm(
    session: Session, user: User, secret: str, code: str | None, now: datetime | None = None
) -> list[str]:
    """Turn two-step sign-in on for ``user`` with ``secret`` once ``code`` is its right
    code now; returns the ten new recovery codes (shown once: only their hashes are kept).
    Raises ``validation.Refused`` for a wrong code or when it is on already. Flushes."""
    now = now or utcnow()
    if user.totp_secret:
        raise v.Refused({"code": "Two-step sign-in is on already."}, status=409)
    step = _matching_step(secret, _plain(code), now, None)
    if step is None:
        raise v.Refused({"code": WRONG_CODE})
    user.totp_secret = secret
    user.totp_last_step = step
    session.flush()
    return _new_recovery_codes(session, user, now)


def verify(session: Session, user: User, code: str | None, now: datetime | None = None) -> bool:
    """Whether ``code`` is right for ``user`` now: their app's code of a time step within
    the drift not used before, or an unused recovery code (then used up). Flushes."""
    now = now or utcnow()
    if not user.totp_secret:
        return False
    typed = _plain(code)
    step = _matching_step(user.totp_secret, typed, now, user.totp_last_step)
    if step is not None:
        # Conditional, so two requests with the same code at once cannot both pass.
        taken = session.execute(
            update(User)
            .where(User.id == user.id)
            .where(or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.refresh(user, ["totp_last_step"])
        return taken == 1
    if not _RECOVERY.fullmatch(typed):
        return False
    used = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id)
        .where(RecoveryCode.code_hash == _hash(typed))
        .where(RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return used >= 1


def recovery_codes_left(session: Session, user: User) -> int:
    """How many of ``user``'s recovery codes are still unused."""
    unused = select(func.count()).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return session.scalar(unused) or 0


def disable(session: Session, user: User) -> None:
    """Turn two-step sign-in off for ``user`` (they lost their phone, or asked): their
    secret and recovery codes go, and every session of theirs ends. Raises
    ``validation.Refused`` (409) when it is not on. Flushes."""
    if not user.totp_secret:
        raise v.Refused({"code": f"Two-step sign-in is not on for {user.name}."}, status=409)
    user.totp_secret = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
    users.end_sessions(session, user)


def count_code_attempt(
    session: Session,
    user: User,
    address: str | None,
    *,
    per_account: int = CODE_ACCOUNT_LIMIT,
    per_address: int = CODE_ADDRESS_LIMIT,
    now: datetime | None = None,
) -> None:
    """Count one code typed for ``user`` from the client ``address``, before it is checked;
    raises ``validation.Refused`` (429, with ``retry_after``) past ``per_address`` codes
    from the address or ``per_account`` codes for the account in five minutes. Commits."""
    message = "Too many codes tried. Wait {seconds} seconds, then try again."
    for key, limit in (
        (ratelimit.address_key("two-step", address), per_address),
        (f"two-step:account:{user.id}", per_account),
    ):
        allowed, retry_after = ratelimit.hit(session, key, limit=limit, window=CODE_WINDOW, now=now)
        if not allowed:
            refusal = {"code": message.format(seconds=retry_after)}
            raise v.Refused(refusal, status=429, retry_after=retry_after)


def forget_code_attempts(session: Session, user: User) -> None:
    """A right code: the account's count starts again (the address's goes on)."""
    ratelimit.reset(session, f"two-step:account:{user.id}")
