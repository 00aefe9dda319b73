"""The scratch database every bench script starts from: the PostgreSQL database given
(its public schema dropped and made again — never point it at data you keep) or a new
SQLite file in a temporary folder, migrated to ``revision``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, text

from quickcrm import create_app, migrate
from quickcrm.config import TestConfig
from quickcrm.db import make_engine


def scratch_database(url: str | None, revision: str = "head") -> Engine:
    engine = make_engine(url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine, revision)
    return engine


def scratch_app(database_url: str) -> Flask:
    """The app on the scratch database, with the test suite's settings (fast password
    hashing) and an instance folder of its own."""
    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    return create_app({**config, "DATABASE_URL": database_url}, instance_path=tempfile.mkdtemp())
