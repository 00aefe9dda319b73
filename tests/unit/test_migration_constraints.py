"""Revision 0015: the database refuses what the models imply cannot be, fills or refuses
the rows already there, and comes back down."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quickcrm import migrate
from quickcrm.db import make_engine
from quickcrm.models import Activity, Company, Lead, Opportunity, Stage, User


def _refused(db, *rows) -> None:
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add_all(rows)
        db.flush()


def test_the_database_refuses_rows_the_models_cannot_mean(db, make_user):
    rep = make_user()
    stages = {s.name: s for s in db.scalars(select(Stage))}
    company = Company(name="Acme", name_key="acme")
    db.add(company)
    db.flush()
    _refused(db, Activity(kind="task", text="Call", due_on=date.today(), author_id=rep.id))
    _refused(db, Opportunity(title="Gone", company_id=company.id, stage=stages["Lost"],
                             probability=0, outcome="lost"))  # fmt: skip
    _refused(db, Opportunity(title="Odd", company_id=company.id, stage=stages["New"],
                             probability=10, value=Decimal("-1")))  # fmt: skip
    _refused(db, Lead(name="Out", owner_id=rep.id, status="disqualified"))
    _refused(db, Stage(name="new", position=9, probability=10, outcome="open"))
    lead = Lead(name="Out", owner_id=rep.id)
    db.add(lead)
    db.flush()
    with pytest.raises(IntegrityError), db.begin_nested():
        lead.status = "disqualified"  # an UPDATE is checked too
        db.flush()


def test_existing_rows_are_filled_or_refused_and_the_revision_comes_back_down(tmp_path):
    """On a SQLite file of its own (see test_migration_offline_actions.py)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'constraints.sqlite3'}")
    migrate.upgrade(engine)
    with Session(engine) as session:
        rep = User(email="rep@example.com", password_hash="x", name="Rep", role="rep")
        company = Company(name="Acme", name_key="acme")
        lost = session.scalar(select(Stage).where(Stage.outcome == "lost"))
        deal = Opportunity(title="Gone", company=company, stage=lost, probability=0,
                           outcome="lost", lost_reason="Price")  # fmt: skip
        lead = Lead(name="Out", owner=rep, status="disqualified", disqualified_reason="Spam")
        task = Activity(kind="task", text="Call", author=rep, company=company)
        session.add_all([deal, lead, task])
        session.commit()
        ids = deal.id, lead.id, task.id
    migrate.downgrade(engine, "0014_list_page_indexes")
    assert "ix_lead_status_created" in {i["name"] for i in inspect(engine).get_indexes("lead")}
    with engine.begin() as conn:
        conn.execute(text("UPDATE opportunity SET lost_reason = NULL"))
        conn.execute(text("UPDATE lead SET disqualified_reason = ''"))
        conn.execute(text("UPDATE activity SET company_id = NULL"))
    with pytest.raises(RuntimeError, match=rf"1 activities belong to no lead.*\(ids {ids[2]}\)"):
        migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM activity"))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        lost_reason = conn.scalar(text("SELECT lost_reason FROM opportunity"))
        disqualified_reason = conn.scalar(text("SELECT disqualified_reason FROM lead"))
    assert (lost_reason, disqualified_reason) == ("Not recorded", "Not recorded")
    indexes = {i["name"] for i in inspect(engine).get_indexes("lead")}
    assert "ix_lead_status_created" not in indexes
    engine.dispose()
