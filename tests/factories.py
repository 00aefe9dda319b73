"""Records for tests to arrange, committed, with the fewest fields that make them valid:
a test names only the fields it is about."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from quickcrm.config import TestConfig
from quickcrm.domain import agenda, api_tokens, users
from quickcrm.domain.matching import name_key
from quickcrm.models import (
    Activity,
    ApiToken,
    Attachment,
    Category,
    Company,
    Contact,
    Import,
    ImportChunk,
    Lead,
    LeadMerge,
    LostReason,
    Opportunity,
    Segment,
    Stage,
    User,
)

PASSWORD = "correct horse battery"


def user(db: Session, email: str = "rep@example.com", role: str = "rep", name: str | None = None):
    """A user who signs in with ``PASSWORD``, made as Admin → Users makes them."""
    made = users.create_user(
        db, email, PASSWORD, role=role, name=name, password_method=TestConfig.PASSWORD_METHOD
    )
    db.commit()
    return made


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


def contact(db: Session, company: Company, name: str = "Ann Smith", **fields) -> Contact:
    """A contact at ``company``."""
    made = Contact(company=company, name=name, **fields)
    db.add(made)
    db.commit()
    return made


def stage(db: Session, name: str = "New") -> Stage:
    """One of the stages the migrations seed, by name."""
    return db.scalars(select(Stage).where(Stage.name == name)).one()


def opportunity(
    db: Session,
    company: Company | None = None,
    title: str = "Acme — first order",
    value: str = "10000",
    stage_name: str = "New",
    **fields,
) -> Opportunity:
    """An opportunity at ``company`` (a new Acme when none), in the stage named
    ``stage_name`` at that stage's probability."""
    at = stage(db, stage_name)
    made = Opportunity(
        company=company or Company(name="Acme", name_key=name_key("Acme")),
        title=title,
        value=Decimal(value),
        stage=at,
        probability=fields.pop("probability", at.probability),
        **fields,
    )
    db.add(made)
    db.commit()
    return made


def task(db: Session, user: User, due_on: date | None, text: str = "Follow up", **fields):
    """A task ``user`` gave themselves (``fields``: ``lead``, ``company``, …)."""
    made = Activity(
        kind="task", text=text, due_on=due_on, author_id=user.id, assignee_id=user.id, **fields
    )
    db.add(made)
    db.commit()
    return made


def segment(db: Session, name: str = "Retail", position: int = 1) -> Segment:
    made = Segment(name=name, position=position)
    db.add(made)
    db.commit()
    return made


def category(db: Session, name: str = "North of the river", position: int = 1) -> Category:
    """One of the team's categories (Admin → Categories)."""
    made = Category(name=name, position=position)
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


FEED_SECRET = "f" * 40


def one_of_each(
    db: Session, owner: User, assignee: User, importer: User, import_status: str = "done"
) -> dict:
    """One record of each kind, ``owner``'s — a task of theirs for ``assignee``, an import
    ``importer`` uploaded, "done" or waiting for its "mapping" — for the tests that visit
    every route: what to put in each path parameter, by name."""
    stage = db.scalars(
        select(Stage).where(Stage.outcome == "open").order_by(Stage.position)
    ).first()
    made = company(db, "Acme", owner_id=owner.id)
    ann = contact(db, made, email="ann@acme.example")
    deal = opportunity(db, made, "Acme deal", "1000", stage.name, contact=ann, owner_id=owner.id)
    lena = lead(db, owner, "Lena Lead", company_name="Acme", email="lena@acme.example")
    call = Activity(
        kind="task", text="Call back", due_on=date.today() + timedelta(days=1),
        author_id=owner.id, assignee_id=assignee.id, lead=lena,
    )  # fmt: skip
    db.add(call)
    retail = segment(db)
    north = category(db)
    note = attachment(db, lena)
    done = import_status == "done"
    upload = Import(
        kind="leads", status=import_status, filename="fair.csv", encoding="utf-8",
        delimiter=",", headers='["Name", "Email"]', total_rows=1, chunk_count=1,
        next_chunk=1 if done else 0, rows_done=1 if done else 0,
        created_by_id=importer.id, owner_id=importer.id,
    )  # fmt: skip
    db.add(upload)
    owner.ical_token = agenda.feed_token_hash(FEED_SECRET)
    db.commit()
    if not done:
        db.add(ImportChunk(import_id=upload.id, number=0, rows='[[2, "Ann", "a@x.example"]]'))
        db.commit()
    token, _secret = api_token(db, owner)
    kept, merge = merged_pair(db, owner, importer)
    return {
        "lead_id": lena.id,
        "company_id": made.id,
        "contact_id": ann.id,
        "opportunity_id": deal.id,
        "activity_id": call.id,
        "stage_id": stage.id,
        "segment_id": retail.id,
        "category_id": north.id,
        "reason_id": db.scalars(select(LostReason)).first().id,
        "user_id": owner.id,
        "token_id": token.id,
        "name": "name",
        "token": FEED_SECRET,
        "attachment_id": note.id,
        "import_id": upload.id,
        "job_name": "purge",
        "kept_id": kept.id,
        "merge_id": merge.id,
    }


def merged_pair(db: Session, owner: User, merger: User) -> tuple[Lead, LeadMerge]:
    """A lead of ``owner``'s and another merged into it by ``merger`` (nothing moved), as
    quickcrm/domain/merge.py leaves them: the kept lead and the merge."""
    kept = lead(db, owner, "Kim Kept", email="kim@kept.example")
    gone = lead(
        db, owner, "Kim Kept", status="disqualified", disqualified_reason="Merged into Kim Kept",
        merged_into_id=kept.id,
    )  # fmt: skip
    undo = {
        "kept_before": {}, "kept_after": {}, "activities": [], "closed": [], "assignees": {},
        "attachments": [], "categories": [], "audit": None,
        "merged_before": {"status": "open", "disqualified_reason": None, "owner_id": owner.id},
    }  # fmt: skip
    merge = LeadMerge(
        kept_id=kept.id, merged_id=gone.id, merged_by_id=merger.id, undo=json.dumps(undo)
    )
    db.add(merge)
    db.commit()
    return kept, merge
