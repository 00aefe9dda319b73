"""Records for tests to arrange, committed, with the fewest fields that make them valid:
a test names only the fields it is about."""

from __future__ import annotations

from sqlalchemy.orm import Session

from quickcrm.domain import api_tokens
from quickcrm.domain.matching import name_key
from quickcrm.models import ApiToken, Attachment, Company, Lead, User


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


def attachment(db: Session, lead: Lead, kind: str = "voice_note", **fields) -> Attachment:
    """A card photo or voice note kept with ``lead`` (a few bytes stand in for the file)."""
    data = fields.pop("data", b"OggS" if kind == "voice_note" else b"\xff\xd8\xff")
    content_type = "audio/ogg" if kind == "voice_note" else "image/jpeg"
    made = Attachment(
        lead=lead, kind=kind, content_type=content_type, size=len(data), data=data, **fields
    )
    db.add(made)
    db.commit()
    return made


def api_token(db: Session, owner: User, name: str = "Website", **fields) -> tuple[ApiToken, str]:
    """A web-to-lead API token whose leads go to ``owner``, made as Admin → API tokens
    makes it (``fields``: ``source``, ``rate_limit``), and its secret."""
    raw = {"token_name": name, "owner": str(owner.id), **{k: str(v) for k, v in fields.items()}}
    form = api_tokens.ApiTokenForm.clean(db, raw)
    assert form.ok, form.errors
    made = api_tokens.create_token(db, form)
    db.commit()
    return made
