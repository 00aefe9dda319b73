"""Users: creating them, checking a sign-in (and throttling it), changing a password,
ending sessions, an admin changing a role or deactivating someone."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
import threading
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from quickcrm.domain import push, ratelimit
from quickcrm.domain import validation as v
from quickcrm.models import (
    ROLES,
    Activity,
    Company,
    Lead,
    Opportunity,
    PasswordToken,
    User,
    utcnow,
)

PASSWORD_MIN = 10
PASSWORD_MAX = 200
DEFAULT_PASSWORD_METHOD = "scrypt"
# The password hash of a user who has none yet (invited, not yet through their link): no
# hash method starts with "!", so no password ever matches it.
UNUSABLE_PASSWORD = "!unusable"
# The demo data's users (quickcrm/domain/demo.py) all have an address at this domain.
DEMO_EMAIL_DOMAIN = "@demo.quickcrm"
EMAIL_MAX = 254  # the column's length
NEEDS_AN_ADMIN = "QuickCRM needs at least one active admin."
# The 20,000 most common passwords, lowercased (quickcrm/data/common-passwords.NOTICE.md).
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"

# Sign-in attempts are counted in windows of a minute (quickcrm/domain/ratelimit.py) per
# account from one client address, per address and per account from every address; the
# limits themselves are settings (quickcrm/config.py).
SIGN_IN_WINDOW = timedelta(minutes=1)
# The defaults of those limits that are not in every app's settings yet: attempts a minute
# at one account from one address, and from all addresses together (ten addresses' worth,
# so guesses from one address, refused at the first, never hold the account for its owner
# signing in from elsewhere).
SIGN_IN_ACCOUNT_AND_ADDRESS_LIMIT = 10
SIGN_IN_ACCOUNT_TOTAL_LIMIT = 100

# How many passwords one process hashes or checks at a time. scrypt's strength is its
# memory: werkzeug's default (N=2**15, r=8) takes 32 MB for each hash, so a gunicorn worker
# whose 4 threads sign people in at once grew by 128 MB. One at a time keeps a worker's
# peak at one hash and the hashing as strong as before; a burst of sign-ins waits its turn
# (about 0.1 s each) instead, which costs little on a server with a core or two, where
# parallel hashes would compete for the same cores anyway (docs/speed.md, "Memory: signing in").
SIMULTANEOUS_HASHES = 1
_hashing = threading.BoundedSemaphore(SIMULTANEOUS_HASHES)


def _hash(password: str, method: str) -> str:
    with _hashing:
        return generate_password_hash(password, method=method)


def _check(stored: str, password: str) -> bool:
    with _hashing:
        return check_password_hash(stored, password)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _typeable(value: str) -> str:
    """``value`` with lone surrogates (which no keyboard types, and which cannot be encoded
    for hashing or the database) replaced."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines)


def check_password_strength(password: str, email: str | None = None) -> None:
    """Refuse a password that is short, one of the most common ones, or the person's own
    email (or the part before the @); the message says which."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        raise v.Refused({"password": f"Use at least {PASSWORD_MIN} characters."})
    if len(password) > PASSWORD_MAX:
        raise v.Refused({"password": f"Use at most {PASSWORD_MAX} characters."})
    if _typeable(password) != password or "\x00" in password:
        raise v.Refused({"password": "This password has a character that cannot be typed."})
    folded = password.strip().lower()
    if folded in common_passwords():
        message = "This is one of the most common passwords: choose one that is harder to guess."
        raise v.Refused({"password": message})
    address = normalise_email(email or "")
    if address and folded in {address, address.split("@")[0]}:
        raise v.Refused({"password": "Do not use your email address as your password."})


def has_users(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(User)) > 0


def has_real_admin(session: Session) -> bool:
    """Whether QuickCRM has an active admin of its own: the demo data's users do not count,
    so the first-run page stays open after ``seed-demo``."""
    found = session.scalar(
        select(User.id)
        .where(User.role == "admin", User.active, ~User.email.endswith(DEMO_EMAIL_DOMAIN))
        .limit(1)
    )
    return found is not None


# --- First run: the setup code ------------------------------------------------------------

# No 0/O, 1/I/L or U: read off a console and typed on a phone without doubt.
SETUP_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
SETUP_CODE_LABEL = b"QuickCRM first-run setup code"


def setup_code(secret_key: str | bytes) -> str:
    """The code the first-run page asks for, as three groups of four (``ABCD-EFGH-JKMN``).

    Derived from the secret key (an HMAC of a fixed label), so every worker and every app
    server of one deployment shows the same code, and nothing is stored."""
    key = secret_key if isinstance(secret_key, bytes) else str(secret_key).encode()
    number = int.from_bytes(hmac.new(key, SETUP_CODE_LABEL, hashlib.sha256).digest(), "big")
    letters = []
    for _ in range(12):
        number, index = divmod(number, len(SETUP_CODE_ALPHABET))
        letters.append(SETUP_CODE_ALPHABET[index])
    return "-".join("".join(letters[start : start + 4]) for start in (0, 4, 8))


def setup_code_matches(secret_key: str | bytes, typed: str) -> bool:
    """Whether ``typed`` is the setup code, ignoring case, spaces and dashes."""
    cleaned = re.sub(r"[\s-]", "", _typeable(typed or "")).upper()
    expected = setup_code(secret_key).replace("-", "")
    return hmac.compare_digest(cleaned.encode(), expected.encode())


def create_first_admin(
    session: Session,
    *,
    secret_key: str | bytes,
    code: str,
    email: str,
    password: str,
    password_confirm: str | None = None,
    name: str | None = None,
    password_method: str = DEFAULT_PASSWORD_METHOD,
) -> User:
    """Create the first admin, for whoever has the server's setup code; raises
    ``validation.Refused`` (403) without it, and 422 once QuickCRM has a user."""
    if not setup_code_matches(secret_key, code):
        message = "That is not the setup code. Look for it on the server's console."
        raise v.Refused({"setup_code": message}, status=403)
    if password_confirm is not None and password != password_confirm:
        raise v.Refused({"password_confirm": "The two passwords differ."})
    if has_real_admin(session):
        raise v.Refused({"email": "QuickCRM already has its first admin: sign in instead."})
    return create_user(
        session, email, password, role="admin", name=name, password_method=password_method
    )


def create_user(
    session: Session,
    email: str,
    password: str | None,
    *,
    role: str = "rep",
    name: str | None = None,
    password_method: str = DEFAULT_PASSWORD_METHOD,
) -> User:
    """Create a user (flushed: the caller commits); raises ``validation.Refused`` with a
    message for the person. ``password`` ``None``: the user has none yet and cannot sign in
    until they choose one through a link (quickcrm/domain/accounts.py)."""
    if role not in ROLES:
        raise v.Refused({"role": f"Role must be one of {', '.join(ROLES)}."})
    try:
        address = v.email(email)
    except v.Refused as exc:
        raise v.Refused({"email": str(exc)}) from None
    if address is None:
        raise v.Refused({"email": "Enter an email address."})
    address = normalise_email(address)
    try:
        display_name = v.text(name, max_length=120) or address.split("@")[0]
    except v.Refused as exc:
        raise v.Refused({"name": str(exc)}) from None
    if password is not None:
        check_password_strength(password, address)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise v.Refused({"email": "A user with this email already exists."})
    user = User(
        email=address,
        name=display_name,
        role=role,
        password_hash=UNUSABLE_PASSWORD if password is None else _hash(password, password_method),
    )
    session.add(user)
    session.flush()
    return user


@cache
def dummy_hash(password_method: str) -> str:
    """A hash made once per method and checked when the email is unknown, so an unknown
    email costs one password check, as a wrong password does."""
    return _hash("not anyone's password", password_method)


def authenticate(
    session: Session, email: str, password: str, *, password_method: str = DEFAULT_PASSWORD_METHOD
) -> User | None:
    """The active user with this email and password, or ``None``: exactly one password
    check either way (unknown email, wrong password, deactivated user), so the answer
    time does not tell which emails have an account."""
    address = normalise_email(email)
    user = None
    if len(address) <= EMAIL_MAX and "\x00" not in address and _typeable(address) == address:
        user = session.scalar(select(User).where(User.email == address))
    usable = user is not None and user.password_hash != UNUSABLE_PASSWORD
    # A user without a password yet costs the same one check, of the dummy hash.
    stored = user.password_hash if usable else dummy_hash(password_method)
    matches = _check(stored, _typeable(password or ""))
    if not usable or not matches or not user.active:
        return None
    return user


def _account_key(email: str) -> str:
    return f"sign-in:account:{normalise_email(email)}"


def _account_and_address_key(email: str, address: str | None) -> str:
    # JSON: whatever the email holds, it cannot pass for another account or address.
    pair = json.dumps([normalise_email(email), ratelimit.address_key("sign-in", address)])
    return f"sign-in:account+addr:{pair}"


def _count(
    session: Session, key: str, limit: int, message: str, now: datetime | None, field: str
) -> None:
    """Count one attempt; past ``limit``, a 429 refusal that says when to try again."""
    allowed, retry_after = ratelimit.hit(session, key, limit=limit, window=SIGN_IN_WINDOW, now=now)
    if not allowed:
        refusal = {field: message.format(seconds=retry_after)}
        raise v.Refused(refusal, status=429, retry_after=retry_after)


def count_sign_in_attempt(
    session: Session,
    email: str,
    address: str | None,
    *,
    per_account: int,
    per_address: int,
    per_account_and_address: int = SIGN_IN_ACCOUNT_AND_ADDRESS_LIMIT,
    now: datetime | None = None,
) -> None:
    """Count one sign-in attempt at the account ``email`` from the client ``address``,
    before its password is checked (so parallel guesses are counted too); raises
    ``validation.Refused`` (429, with ``retry_after``) past, in a minute, ``per_address``
    attempts from the address (at any accounts), ``per_account_and_address`` at the
    account from the address, or ``per_account`` at the account from every address
    together. Commits.

    An attempt refused by one count is not counted by the next: guesses from one address,
    refused there, never add up to the account's total, so they slow that address and not
    the account's owner signing in from another one."""
    message = "Too many sign-in attempts. Wait {seconds} seconds, then try again."
    by_address = ratelimit.address_key("sign-in", address)
    _count(session, by_address, per_address, message, now, "attempts")
    pair = _account_and_address_key(email, address)
    _count(session, pair, per_account_and_address, message, now, "attempts")
    _count(session, _account_key(email), per_account, message, now, "attempts")


def forget_sign_in_attempts(session: Session, email: str, address: str | None = None) -> None:
    """A sign-in at ``email`` from ``address`` succeeded: the account's counts start again,
    from that address and in total (the address's count at any accounts does not)."""
    ratelimit.reset(session, _account_and_address_key(email, address), _account_key(email))


def count_setup_attempt(
    session: Session, address: str | None, *, limit: int, now: datetime | None = None
) -> None:
    """Count one attempt at the first-run page from ``address``; raises
    ``validation.Refused`` (429, said next to the setup code) past ``limit`` in a minute.
    Commits."""
    message = "Too many attempts. Wait {seconds} seconds, then try again."
    _count(session, ratelimit.address_key("setup", address), limit, message, now, "setup_code")


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    *,
    password_method: str = DEFAULT_PASSWORD_METHOD,
) -> None:
    if not _check(user.password_hash, _typeable(current or "")):
        raise v.Refused({"current_password": "That is not your current password."})
    set_password(session, user, new, password_method=password_method)


def set_password(
    session: Session,
    user: User,
    new: str,
    *,
    password_method: str = DEFAULT_PASSWORD_METHOD,
    now: datetime | None = None,
) -> None:
    """Give ``user`` the password ``new`` (policy checked): every session of theirs and
    every unused password link ends. Flushed: the caller commits."""
    check_password_strength(new, user.email)
    user.password_hash = _hash(new, password_method)
    # Anyone signed in with the old password is signed out; the caller signs the person
    # who changed it in again with the new session version.
    end_sessions(session, user)
    end_password_tokens(session, user, now or utcnow())


def end_password_tokens(session: Session, user: User, now: datetime) -> None:
    """Every unused one-time password link of ``user`` stops working."""
    session.execute(
        update(PasswordToken)
        .where(PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


# A session's user id as User.get_id() writes it: "id:version", ASCII digits, no sign.
_SESSION_ID = re.compile(r"([1-9][0-9]{0,18}):([1-9][0-9]{0,18})", re.ASCII)


def user_for_session(session: Session, session_id: object) -> User | None:
    """The active user a session or "stay signed in" cookie names (``User.get_id()``), or
    ``None``: malformed, out of range, unknown, deactivated, or ended since (the session
    version moved on)."""
    match = _SESSION_ID.fullmatch(session_id) if isinstance(session_id, str) else None
    if match is None:
        return None
    user_id, version = (int(part) for part in match.groups())
    # The id and the session version are 32-bit integer columns, as every id is.
    if user_id > v.ID_MAX or version > v.ID_MAX:
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def end_sessions(session: Session, user: User) -> None:
    """End every session and "stay signed in" cookie of ``user``, in every browser: they
    all carry the session version, which moves on. Their calendar feed's address ends too
    (whoever had a session may have copied it); they can make a new one."""
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(session_version=User.session_version + 1, ical_token=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["session_version", "ical_token"])


def list_users(session: Session) -> list[User]:
    """Everyone, active users first, by name."""
    return list(session.scalars(select(User).order_by(User.active.desc(), User.name_sort, User.id)))


def active_users(session: Session) -> list[User]:
    """The users who may be given work (an owner, an assignee), by name."""
    return list(session.scalars(select(User).where(User.active).order_by(User.name_sort, User.id)))


def everyone_by_name(session: Session) -> list[User]:
    """Every user, deactivated ones included (a filter of what they owned), by name."""
    return list(session.scalars(select(User).order_by(User.name_sort, User.id)))


def _is_the_last_active_admin(session: Session, user: User) -> bool:
    if not (user.active and user.role == "admin"):
        return False
    # FOR UPDATE (PostgreSQL): two admins demoting each other at once cannot both see
    # the other one still there; the second waits and counts again.
    admins = session.scalars(
        select(User.id).where(User.role == "admin", User.active).with_for_update()
    ).all()
    return set(admins) <= {user.id}


def change_role(session: Session, user: User, role: str, *, by: User) -> None:
    """Give ``user`` the ``role``, as the admin ``by`` asked (flushed; the caller commits)."""
    if role not in ROLES:
        raise v.Refused({"role": f"Role must be one of {', '.join(ROLES)}."})
    if role != "admin" and user.role == "admin":
        if _is_the_last_active_admin(session, user):
            raise v.Refused({"role": NEEDS_AN_ADMIN})
        if user.id == by.id:
            raise v.Refused({"role": "You cannot remove your own admin role."})
    user.role = role
    session.flush()


def deactivate(session: Session, user: User, *, by: User) -> None:
    """Stop ``user`` signing in (their open sessions end too, and their phones'
    notifications); flushed, the caller commits."""
    if _is_the_last_active_admin(session, user):
        raise v.Refused({"active": NEEDS_AN_ADMIN})
    if user.id == by.id:
        raise v.Refused({"active": "You cannot deactivate yourself."})
    user.active = False
    end_sessions(session, user)
    push.forget_user(session, user)
    session.flush()


def reactivate(session: Session, user: User) -> None:
    """Let ``user`` sign in again (with their password: the sessions and "stay signed in"
    cookies that deactivation ended stay ended); flushed, the caller commits."""
    user.active = True
    session.flush()


def hand_over(session: Session, user: User, to: User, *, by: User) -> dict[str, int]:
    """Give everything ``user`` is responsible for to ``to`` — their open leads (with their
    follow-ups), companies, open opportunities and open activities — and say how many of
    each moved (a rep who leaves, docs/pipeline.md, "Existing customers"), as the admin
    ``by`` asked. The caller commits it as one transaction.

    Never one's own work, as one never deactivates oneself: an admin who leaves is handed
    over by another admin."""
    if user.id == by.id:
        raise v.Refused({"to": "You cannot hand over your own work: another admin does that."})
    if to.id == user.id:
        raise v.Refused({"to": "Choose someone else to hand over to."})
    if not to.active:
        raise v.Refused({"to": "Choose an active user to hand over to."})
    now = utcnow()

    def move(model, column, *where) -> int:
        return session.execute(
            update(model)
            .where(getattr(model, column) == user.id, *where)
            .values({column: to.id, "updated_at": now})
            .execution_options(synchronize_session=False)
        ).rowcount

    moved = {
        "leads": move(Lead, "owner_id", Lead.status == "open"),
        "companies": move(Company, "owner_id", Company.merged_into_id.is_(None)),
        "opportunities": move(Opportunity, "owner_id", Opportunity.outcome == "open"),
        "activities": move(Activity, "assignee_id", Activity.done.is_(False)),
    }
    session.expire_all()
    return moved
