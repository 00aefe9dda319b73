"""What Admin → *System* tells an admin about the installation: how big the database is,
which version of QuickCRM runs and at which database revision."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def database_size(session: Session, sqlite_file: Path | None) -> int | None:
    """Bytes the database takes on disk: PostgreSQL's own count, or the SQLite file with
    its write-ahead log (which holds the newest commits until a checkpoint)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(text("SELECT pg_database_size(current_database())"))
    if sqlite_file is None:
        return None
    total = 0
    for path in (sqlite_file, Path(f"{sqlite_file}-wal")):
        try:
            total += path.stat().st_size
        except OSError:
            continue
    return total


def revision(session: Session) -> str | None:
    """The database's migration revision (``flask db upgrade`` moves it), or None."""
    connection = session.connection()
    if not inspect(connection).has_table("alembic_version"):
        return None
    heads = sorted(session.scalars(text("SELECT version_num FROM alembic_version")))
    return ", ".join(heads) or None


def app_version() -> str:
    """The version of the installed package, else of the source tree's pyproject.toml."""
    try:
        return metadata.version("quickcrm")
    except metadata.PackageNotFoundError:
        pass
    try:
        with PYPROJECT.open("rb") as file:
            return tomllib.load(file)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"
