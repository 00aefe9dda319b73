"""Revision 0018: calendar feed secrets are hashed in place, so existing addresses keep
working; a downgrade ends them (a hash cannot be turned back into the secret)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.orm import Session

from quickcrm import migrate
from quickcrm.domain import agenda
from tests.unit.test_models import empty_engine  # noqa: F401 - the fixture

SECRET = "an-existing-feed-secret-of-43-characters-xx"


def test_existing_feed_addresses_keep_working_once_hashed(empty_engine):  # noqa: F811
    engine = empty_engine
    migrate.upgrade(engine, "0017_attachment_contact_set_null")
    with engine.begin() as conn:
        conn.execute(
            text('INSERT INTO "user" (id, email, name, password_hash, role, active, created_at,'
                 " updated_at, session_version, ical_token)"
                 " VALUES (1, 'r@example.com', 'R', 'x', 'rep', :yes, :now, :now, 1, :token)"
                 ).bindparams(bindparam("now", type_=DateTime(timezone=True))),
            {"yes": True, "now": datetime(2026, 11, 23, tzinfo=UTC), "token": SECRET},
        )  # fmt: skip
    migrate.upgrade(engine)
    with Session(engine) as db:
        assert agenda.user_for_feed(db, SECRET).id == 1
    with engine.connect() as conn:
        assert conn.execute(text('SELECT ical_token FROM "user"')).scalar_one() != SECRET

    migrate.downgrade(engine, "0017_attachment_contact_set_null")
    with engine.connect() as conn:
        assert conn.execute(text('SELECT ical_token FROM "user"')).scalar_one() is None
    migrate.upgrade(engine)
