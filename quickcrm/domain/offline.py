"""Actions a phone queued offline (*Done*, *Snooze*, a note): each carries a UUID the phone
made, and an action whose UUID is already stored is not applied again — a resend after a
lost reply changes nothing, like a capture's UUID (docs/architecture.md)."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import Activity, OfflineAction, User

FIELD = "client_key"


def client_key(value: str | None) -> uuid.UUID | None:
    """The UUID the phone sent, or ``None`` when it is missing or malformed (the action is
    then simply applied, as from a page without the queue)."""
    try:
        return uuid.UUID((value or "").strip())
    except (ValueError, AttributeError):
        return None


def applied(session: Session, key: uuid.UUID | None) -> bool:
    """True when an action under ``key`` was already applied."""
    return key is not None and session.get(OfflineAction, key) is not None


def claim(
    session: Session, key: uuid.UUID | None, user: User, kind: str, activity: Activity | None
) -> None:
    """Record ``key`` in the transaction that applies the action (committed with it)."""
    if key is not None:
        session.add(OfflineAction(key=key, user_id=user.id, kind=kind, activity=activity))


@owns_transaction("the phone's action UUID: its UNIQUE key settles a resend racing the first")
def commit_once(session: Session, key: uuid.UUID | None) -> bool:
    """Commit; False when another request under the same key committed first (this one is
    rolled back: the action was applied once, by the other)."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if applied(session, key):
            return False
        raise
    return True
