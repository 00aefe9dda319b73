"""Records for tests to arrange, committed, with the fewest fields that make them valid:
a test names only the fields it is about."""

from __future__ import annotations

from sqlalchemy.orm import Session

from quickcrm.domain.matching import name_key
from quickcrm.models import Company, Lead, User


def lead(db: Session, owner: User, name: str = "Jo Bloggs", **fields) -> Lead:
    """A lead captured by ``owner``."""
    made = Lead(owner=owner, name=name, **fields)
    db.add(made)
    db.commit()
    return made


def company(db: Session, name: str = "Acme", **fields) -> Company:
    """A company, its matching key filled in as the app fills it."""
    made = Company(name=name, name_key=name_key(name), **fields)
    db.add(made)
    db.commit()
    return made
