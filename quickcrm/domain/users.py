"""Users: creating them, checking a sign-in, changing a password, an admin changing a
role or deactivating someone."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from quickcrm.domain import validation as v
from quickcrm.models import ROLES, User

PASSWORD_MIN = 8
PASSWORD_MAX = 200
DEFAULT_PASSWORD_METHOD = "scrypt"
NEEDS_AN_ADMIN = "QuickCRM needs at least one active admin."
# Checked when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASHES: dict[str, str] = {}


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password_strength(password: str) -> None:
    if len(password or "") < PASSWORD_MIN:
        raise UserError(f"Use at least {PASSWORD_MIN} characters.", "password")
    if len(password) > PASSWORD_MAX:
        raise UserError(f"Use at most {PASSWORD_MAX} characters.", "password")


def has_users(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(User)) > 0


def create_user(
    session: Session,
    email: str,
    password: str,
    *,
    role: str = "rep",
    name: str | None = None,
    password_method: str = DEFAULT_PASSWORD_METHOD,
) -> User:
    """Create and commit a user; raises ``UserError`` with a message for the person."""
    if role not in ROLES:
        raise UserError(f"Role must be one of {', '.join(ROLES)}.", "role")
    try:
        address = v.email(email)
    except v.Invalid as exc:
        raise UserError(str(exc), "email") from None
    if address is None:
        raise UserError("Enter an email address.", "email")
    address = normalise_email(address)
    try:
        display_name = v.text(name, max_length=120) or address.split("@")[0]
    except v.Invalid as exc:
        raise UserError(str(exc), "name") from None
    check_password_strength(password)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise UserError("A user with this email already exists.", "email")
    user = User(
        email=address,
        name=display_name,
        role=role,
        password_hash=generate_password_hash(password, method=password_method),
    )
    session.add(user)
    session.commit()
    return user


def authenticate(
    session: Session, email: str, password: str, *, password_method: str = DEFAULT_PASSWORD_METHOD
) -> User | None:
    """The active user with this email and password, or ``None`` — the same either way."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        dummy = _DUMMY_HASHES.setdefault(
            password_method, generate_password_hash("not a password", method=password_method)
        )
        check_password_hash(dummy, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    *,
    password_method: str = DEFAULT_PASSWORD_METHOD,
) -> None:
    if not check_password_hash(user.password_hash, current or ""):
        raise UserError("That is not your current password.", "current_password")
    check_password_strength(new)
    user.password_hash = generate_password_hash(new, method=password_method)
    # Anyone signed in with the old password is signed out; the caller signs the person
    # who changed it in again with the new session version.
    end_sessions(session, user, commit=False)
    session.commit()


# A session's user id as User.get_id() writes it: "id:version", ASCII digits, no sign.
_SESSION_ID = re.compile(r"([1-9][0-9]{0,18}):([1-9][0-9]{0,18})", re.ASCII)
ID_MAX = 2**31 - 1  # the id and version columns are 32-bit integers on PostgreSQL


def user_for_session(session: Session, session_id: object) -> User | None:
    """The active user a session or "stay signed in" cookie names (``User.get_id()``), or
    ``None``: malformed, out of range, unknown, deactivated, or ended since (the session
    version moved on)."""
    match = _SESSION_ID.fullmatch(session_id) if isinstance(session_id, str) else None
    if match is None:
        return None
    user_id, version = (int(part) for part in match.groups())
    if user_id > ID_MAX or version > ID_MAX:
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def end_sessions(session: Session, user: User, *, commit: bool = True) -> None:
    """End every session and "stay signed in" cookie of ``user``, in every browser: they
    all carry the session version, which moves on. Commits unless told not to."""
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["session_version"])
    if commit:
        session.commit()


def list_users(session: Session) -> list[User]:
    """Everyone, active users first, by name."""
    return list(session.scalars(select(User).order_by(User.active.desc(), User.name, User.id)))


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
    """Give ``user`` the ``role``, as the admin ``by`` asked; commits."""
    if role not in ROLES:
        raise UserError(f"Role must be one of {', '.join(ROLES)}.", "role")
    if role != "admin" and user.role == "admin":
        if _is_the_last_active_admin(session, user):
            raise UserError(NEEDS_AN_ADMIN, "role")
        if user.id == by.id:
            raise UserError("You cannot remove your own admin role.", "role")
    user.role = role
    session.commit()


def deactivate(session: Session, user: User, *, by: User) -> None:
    """Stop ``user`` signing in (their open sessions end too); commits."""
    if _is_the_last_active_admin(session, user):
        raise UserError(NEEDS_AN_ADMIN, "active")
    if user.id == by.id:
        raise UserError("You cannot deactivate yourself.", "active")
    user.active = False
    end_sessions(session, user, commit=False)
    session.commit()


def reactivate(session: Session, user: User) -> None:
    """Let ``user`` sign in again (with their password: the sessions and "stay signed in"
    cookies that deactivation ended stay ended); commits."""
    user.active = True
    session.commit()
