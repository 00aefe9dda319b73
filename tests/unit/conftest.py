"""The unit layer: domain functions on a real migrated database, each test inside one
transaction that is rolled back at its end — no app, no emptying of tables.

The domain commits as it would in production; here each commit only releases a SAVEPOINT
of the test's transaction (SQLAlchemy's ``join_transaction_mode="create_savepoint"``).
A test that needs real commits (other connections, threads) asks for the ``app`` fixture
and gets the integration layer's database, really committed (marked ``commits``) and
emptied after it.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session


def pytest_collection_modifyitems(items):
    for item in items:
        if "/unit/" in str(item.fspath) and "app" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.commits)


@pytest.fixture
def db(request, savepoint_engine):
    """A session whose commits stay inside the test's own transaction, rolled back after —
    or, for a test that also asks for the ``app``, a session of the app's that really
    commits (what it writes must be seen by other connections)."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        with app.extensions["quickcrm.sessionmaker"]() as session:
            yield session
        return
    with savepoint_engine.connect() as connection:
        outer = connection.begin()
        session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            session.close()
            outer.rollback()
