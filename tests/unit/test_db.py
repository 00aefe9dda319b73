"""The SQLite engine: an answered commit is on disk (docs/speed.md, "Durability")."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from quickcrm import create_app
from quickcrm.db import make_engine
from tests.conftest import config_for


def test_every_new_sqlite_connection_runs_wal_with_synchronous_full(tmp_path):
    url = f"sqlite:///{tmp_path / 'durable.sqlite3'}"
    app = create_app(config_for(url), instance_path=str(tmp_path / "instance"))
    engine = app.extensions["quickcrm.engine"]
    try:
        for _ in range(2):  # the first connection creates the file; the second reopens it
            with engine.connect() as conn:
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            engine.dispose()
    finally:
        engine.dispose()


def test_a_bench_may_ask_for_another_level_but_not_a_made_up_one(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fast.sqlite3'}", synchronous="NORMAL")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    engine.dispose()
    with pytest.raises(ValueError, match="synchronous"):
        make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", synchronous="FULL; DROP TABLE lead")
