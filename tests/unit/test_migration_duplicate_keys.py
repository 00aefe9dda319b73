"""Revision 0026: existing leads and contacts get the keys duplicate matching compares,
more than one batch of them, and a downgrade takes the revision away again."""

from __future__ import annotations

import importlib
import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, Uuid, bindparam, inspect, text

from quickcrm import migrate
from tests.unit.test_models import empty_engine  # noqa: F401 - the fixture

NOW = datetime(2026, 12, 6, tzinfo=UTC)
REVISION = importlib.import_module("quickcrm.migrations.versions.0026_duplicates_categories")


def _columns(engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_existing_leads_and_contacts_get_their_keys_and_the_downgrade_removes_them(empty_engine):  # noqa: F811
    engine = empty_engine
    migrate.upgrade(engine, "0025_reminders")
    stamp = bindparam("now", type_=DateTime(timezone=True))
    with engine.begin() as conn:
        conn.execute(
            text('INSERT INTO "user" (id, email, name, password_hash, role, active, created_at,'
                 " updated_at) VALUES (1, 'r@example.com', 'Rep', 'x', 'rep', :yes, :now,"
                 " :now)").bindparams(stamp),
            {"yes": True, "now": NOW},
        )  # fmt: skip
        people = [("Novák, Maria", "M.Novak@ACME.com", "+44 20 7946 0958")] + [
            (f"Person {n:04}", None, None) for n in range(REVISION.BATCH)
        ]
        conn.execute(
            text("INSERT INTO lead (id, uuid, name, email, phone, status, owner_id, captured_at,"
                 " created_at, updated_at) VALUES (:id, :uuid, :name, :email, :phone, 'open', 1,"
                 " :now, :now, :now)").bindparams(stamp, bindparam("uuid", type_=Uuid)),
            [
                {"id": n, "uuid": uuid.UUID(int=n), "name": name, "email": email,
                 "phone": phone, "now": NOW}
                for n, (name, email, phone) in enumerate(people, start=1)
            ],
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO contact (id, name, created_at, updated_at)"
                 " VALUES (1, 'Émile ZOLA', :now, :now)").bindparams(stamp),
            {"now": NOW},
        )  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as conn:
        first = conn.execute(text("SELECT name_key, email_key, phone_tail FROM lead WHERE id = 1"))
        assert tuple(first.one()) == ("maria novak", "m.novak@acme.com", "079460958")
        last = conn.execute(text("SELECT name_key FROM lead ORDER BY id DESC LIMIT 1"))
        assert last.scalar() == f"{REVISION.BATCH - 1:04} person"
        assert conn.execute(text("SELECT name_key FROM contact")).scalar() == "emile zola"
        assert conn.execute(text("SELECT count(*) FROM category")).scalar() == 0

    migrate.downgrade(engine, "0025_reminders")
    assert not {"name_key", "email_key", "phone_tail", "merged_into_id", "potential_value"} & (
        _columns(engine, "lead")
    )
    assert "name_key" not in _columns(engine, "contact")
    assert "category" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name_key FROM lead WHERE id = 1")).scalar() == (
            "maria novak"
        )
