"""The schema: migrations match the models, default stages, constraints hold."""

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from quickcrm import migrate
from quickcrm.db import make_engine
from quickcrm.domain.stages import DEFAULT_STAGES, ordered_stages
from quickcrm.models import Base, Lead, User


def test_migrations_build_exactly_the_models(app):
    engine = app.extensions["quickcrm.engine"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_default_stages_in_order(db):
    stages = [(s.name, s.probability, s.outcome) for s in ordered_stages(db)]
    assert stages == list(DEFAULT_STAGES)


def test_roles_rank(make_user):
    rep = make_user("r@example.com", "rep")
    coordinator = make_user("c@example.com", "coordinator")
    admin = make_user("a@example.com", "admin")
    assert rep.can("rep") and not rep.can("coordinator")
    assert coordinator.can("coordinator") and not coordinator.can("admin")
    assert admin.can("admin") and admin.can("rep")


def test_temperature_is_constrained_in_the_database(db, make_user):
    db.add(Lead(name="X", owner=make_user(), temperature="tepid"))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_lead_uuid_is_unique(db, make_user):
    rep = make_user()
    first = Lead(name="A", owner=rep)
    db.add(first)
    db.commit()
    db.add(Lead(name="B", owner=rep, uuid=first.uuid))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_times_come_back_in_utc(db, make_user):
    user = make_user()
    db.expire_all()
    created = db.scalar(select(User.created_at).where(User.id == user.id))
    assert isinstance(created, datetime) and created.utcoffset().total_seconds() == 0


def test_the_next_action_migration_fills_the_column_from_open_activities(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate.upgrade(engine, "0003_pipeline")
    now = "2026-11-23 10:00:00"
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO user (id, email, name, password_hash, role, active, created_at,"
                 " updated_at) VALUES (1, 'r@example.com', 'R', 'x', 'rep', 1, :now, :now)"),
            {"now": now},
        )  # fmt: skip
        for lead_id in (1, 2):
            conn.execute(
                text("INSERT INTO lead (id, uuid, name, status, owner_id, captured_at,"
                     " created_at, updated_at) VALUES (:id, :uuid, 'L', 'open', 1, :now, :now,"
                     " :now)"),
                {"id": lead_id, "uuid": f"{lead_id:032x}", "now": now},
            )  # fmt: skip
        for due, done in (("2026-12-09", 0), ("2026-12-01", 0), ("2026-11-20", 1)):
            conn.execute(
                text("INSERT INTO activity (kind, text, due_on, done, author_id, lead_id,"
                     " created_at, updated_at) VALUES ('task', 't', :due, :done, 1, 1, :now,"
                     " :now)"),
                {"due": due, "done": done, "now": now},
            )  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, next_action_on FROM lead")).all())
    engine.dispose()
    assert rows == {1: "2026-12-01", 2: None}
