"""The database: one engine per app, one session per request (kept on ``g``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 5000
# FULL: a commit returns only once the WAL is synced to disk, so a capture answered
# "Saved" survives a power cut (docs/speed.md, "Durability"). NORMAL would be faster but may
# lose the last commits when the machine (not the process) goes down.
SQLITE_SYNCHRONOUS = "FULL"


def make_engine(url: str, synchronous: str = SQLITE_SYNCHRONOUS) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, a busy timeout and
    ``synchronous`` (FULL unless a bench asks for another level to compare)."""
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"unknown SQLite synchronous level {synchronous!r}")
    if url.startswith("sqlite"):
        create_private(url)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no branch
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database ``url``, or ``None`` (not SQLite, in memory, a URI)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else Path(database)


def create_private(url: str) -> None:
    """Create a new SQLite database file readable by this user only (0600: it holds
    password hashes, tokens and photos), before SQLite creates it 0644; SQLite gives its
    -wal and -shm files the database file's mode. An existing file is left as it is."""
    path = sqlite_file(url)
    if path is None:
        return
    # A folder that is missing or not writable: SQLite says so when it connects.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["quickcrm.engine"] = engine
    app.extensions["quickcrm.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(close_session)


def get_engine() -> Engine:
    return current_app.extensions["quickcrm.engine"]


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["quickcrm.sessionmaker"]()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
