"""Revision 0024: the scheduler's table comes, and the purge's old lease (a row of
``rate_limit``) goes; the counters beside it stay."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, bindparam, inspect, text

from quickcrm import migrate
from tests.unit.test_models import empty_engine  # noqa: F401 - the fixture


def test_the_old_purge_lease_goes_and_the_counters_stay(empty_engine):  # noqa: F811
    engine = empty_engine
    migrate.upgrade(engine, "0023_search_pending_lists")
    with engine.begin() as conn:
        for key in ("lease:housekeeping", "a" * 64):
            conn.execute(
                text("INSERT INTO rate_limit (key, window_start, hits) VALUES (:key, :at, 1)")
                .bindparams(bindparam("at", type_=DateTime(timezone=True))),
                {"key": key, "at": datetime(2026, 12, 6, 9, tzinfo=UTC)},
            )  # fmt: skip
    migrate.upgrade(engine, "0024_scheduled_jobs")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT key FROM rate_limit")).scalars().all() == ["a" * 64]
        assert inspect(conn).has_table("scheduled_job")
    migrate.downgrade(engine, "0023_search_pending_lists")
    with engine.connect() as conn:
        assert not inspect(conn).has_table("scheduled_job")
    migrate.upgrade(engine)
