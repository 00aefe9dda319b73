"""The schema: migrations match the models, default stages, constraints hold."""

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

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
