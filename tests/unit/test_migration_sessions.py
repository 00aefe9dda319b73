"""Revision 0006: the session version of existing users, and the keyed rate limit table
that replaces the iCal feed's."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, bindparam, inspect, text

from quickcrm import migrate
from tests.unit.test_models import empty_engine  # noqa: F401 - the fixture


def test_existing_users_get_session_version_one_and_it_can_be_undone(empty_engine):  # noqa: F811
    engine = empty_engine
    migrate.upgrade(engine, "0005_lead_search")
    with engine.begin() as conn:
        conn.execute(
            text('INSERT INTO "user" (id, email, name, password_hash, role, active, created_at,'
                 " updated_at) VALUES (1, 'r@example.com', 'R', 'x', 'rep', :yes, :now, :now)"
                 ).bindparams(bindparam("now", type_=DateTime(timezone=True))),
            {"yes": True, "now": datetime(2026, 11, 23, tzinfo=UTC)},
        )  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text('SELECT session_version FROM "user"')).scalar_one() == 1
    tables = set(inspect(engine).get_table_names())
    assert "rate_limit" in tables and "feed_hit" not in tables

    migrate.downgrade(engine, "0005_lead_search")
    inspector = inspect(engine)
    assert "feed_hit" in inspector.get_table_names()
    assert "rate_limit" not in inspector.get_table_names()
    assert "session_version" not in {c["name"] for c in inspector.get_columns("user")}
    migrate.upgrade(engine)
