"""Revision 0020: existing users, leads, companies and contacts get their names' sort keys,
the lists' indexes move onto them, and a downgrade takes them away again."""

from __future__ import annotations

import importlib
import uuid
import warnings
from datetime import UTC, datetime

from sqlalchemy import DateTime, Uuid, bindparam, inspect, text

from quickcrm import migrate
from tests.unit.test_models import empty_engine  # noqa: F401 - the fixture

NOW = datetime(2026, 11, 23, tzinfo=UTC)
NEW_INDEXES = {
    "company": "ix_company_name_sort",
    "contact": "ix_contact_name_sort",
    "lead": "ix_lead_status_name_sort",
}
BATCH = importlib.import_module("quickcrm.migrations.versions.0020_name_sort_keys").BATCH
OLD_INDEXES = {
    "company": "ix_company_name",
    "contact": "ix_contact_name",
    "lead": "ix_lead_status_name",
}


def _indexes(engine, table: str) -> set[str]:
    with warnings.catch_warnings():
        # SQLite cannot reflect lower(email)'s index (see test_models); it is not ours.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        return {index["name"] for index in inspect(engine).get_indexes(table)}


def _columns(engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_existing_rows_get_their_sort_keys_and_the_downgrade_removes_them(empty_engine):  # noqa: F811
    engine = empty_engine
    migrate.upgrade(engine, "0019_team_settings")
    stamp = bindparam("now", type_=DateTime(timezone=True))
    with engine.begin() as conn:
        conn.execute(
            text('INSERT INTO "user" (id, email, name, password_hash, role, active, created_at,'
                 " updated_at) VALUES (1, 'r@example.com', ' Émile', 'x', 'rep', :yes, :now,"
                 " :now)").bindparams(stamp),
            {"yes": True, "now": NOW},
        )  # fmt: skip
        for n, name in enumerate(["Zeta", "  Énergie", "ACME"], start=1):
            conn.execute(
                text("INSERT INTO company (id, name, name_key, type, created_at, updated_at)"
                     " VALUES (:id, :name, :name, 'prospect', :now, :now)").bindparams(stamp),
                {"id": n, "name": name, "now": NOW},
            )  # fmt: skip
            conn.execute(
                text("INSERT INTO contact (id, name, created_at, updated_at)"
                     " VALUES (:id, :name, :now, :now)").bindparams(stamp),
                {"id": n, "name": name, "now": NOW},
            )  # fmt: skip
            conn.execute(
                text("INSERT INTO lead (id, uuid, name, status, owner_id, captured_at,"
                     " created_at, updated_at) VALUES (:id, :uuid, :name, 'open', 1, :now,"
                     " :now, :now)").bindparams(stamp, bindparam("uuid", type_=Uuid)),
                {"id": n, "uuid": uuid.UUID(int=n), "name": name, "now": NOW},
            )  # fmt: skip
        # More companies than one batch of the fill: it carries on past its first.
        conn.execute(
            text("INSERT INTO company (id, name, name_key, type, created_at, updated_at)"
                 " VALUES (:id, :name, :name, 'prospect', :now, :now)").bindparams(stamp),
            [{"id": 4 + n, "name": f"ÜBER {n:04}", "now": NOW} for n in range(BATCH)],
        )  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as conn:
        for table in ("company", "contact", "lead"):
            keys = conn.execute(
                text(f"SELECT name_sort FROM {table} WHERE id <= 3 ORDER BY name_sort, id")
            )
            assert keys.scalars().all() == ["acme", "energie", "zeta"], table
            assert NEW_INDEXES[table] in _indexes(engine, table)
            assert OLD_INDEXES[table] not in _indexes(engine, table)
        assert conn.execute(text('SELECT name_sort FROM "user"')).scalar_one() == "emile"
        last = conn.execute(text("SELECT name_sort FROM company ORDER BY id DESC LIMIT 1"))
        assert last.scalar() == f"uber {BATCH - 1:04}"

    migrate.downgrade(engine, "0019_team_settings")
    for table in ("user", "company", "contact", "lead"):
        assert "name_sort" not in _columns(engine, table)
    for table, index in OLD_INDEXES.items():
        assert index in _indexes(engine, table)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name_sort FROM company WHERE id = 2")).scalar() == (
            "energie"
        )
