"""Revision 0010: the offline_action table (a phone's action UUIDs), and back.

On a SQLite file of its own whatever the run's database: quickcrm.migrate builds its engine
from the URL, so on PostgreSQL it would not see the empty_engine fixture's schema and would
downgrade the shared test database instead."""

from __future__ import annotations

from sqlalchemy import inspect

from quickcrm import migrate
from quickcrm.db import make_engine


def test_the_offline_actions_table_comes_and_goes(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'migrations.sqlite3'}")
    migrate.upgrade(engine, "0010_offline_actions")
    inspector = inspect(engine)
    assert "offline_action" in inspector.get_table_names()
    assert inspector.get_pk_constraint("offline_action")["constrained_columns"] == ["key"]
    migrate.downgrade(engine, "0006_sessions_and_rate_limits")
    assert "offline_action" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    engine.dispose()
