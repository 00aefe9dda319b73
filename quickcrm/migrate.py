"""Alembic, driven from Python: ``flask db upgrade`` and the test suite both use this."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"

# The lead search index of revision 0005, which is not in the models: an FTS5 table (and
# the tables FTS5 keeps it in) on SQLite, trigram GIN indexes on PostgreSQL. Alembic's
# comparison knows neither a virtual table nor an index declared for one dialect only.
# Revision 0012 adds the word-prefix index: an FTS5 table on SQLite, an expression GIN
# index on PostgreSQL.
SEARCH_TABLES = frozenset(
    f"{table}{part}"
    for table in ("lead_search", "lead_words")
    for part in ("", "_data", "_idx", "_docsize", "_config")
)
SEARCH_INDEXES = frozenset(
    f"ix_lead_{column}_trgm" for column in ("name", "company_name", "email", "phone", "note")
)
WORD_INDEXES = frozenset(("ix_lead_word_starts",))


def include_name(name: str | None, type_: str, _parent_names: dict) -> bool:
    """Whether autogenerate (and the schema test) should compare the object ``name``: not
    when it is part of the lead search index."""
    if type_ == "table":
        return name not in SEARCH_TABLES
    if type_ == "index":
        return name not in SEARCH_INDEXES | WORD_INDEXES
    return True


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; URLs may contain percent-escapes.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    # Revision ids are "000N_name" and name their files (see ``next_revision_id``).
    config.set_main_option("file_template", "%%(rev)s")
    return config


def next_revision_id(message: str, versions: Path = MIGRATIONS / "versions") -> str:
    """The id of the next revision: the next number after the highest one, then the
    message as a slug ("0007_api_tokens")."""
    numbers = [int(path.name[:4]) for path in versions.glob("[0-9][0-9][0-9][0-9]_*.py")]
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "revision"
    return f"{max(numbers, default=0) + 1:04d}_{slug}"


def is_current(engine: Engine) -> bool:
    """Whether the database behind ``engine`` is at the latest revision."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision``."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current(engine: Engine) -> list[str]:
    """The revisions the database behind ``engine`` is at (none before the first upgrade)."""
    with engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database behind ``engine`` back to ``revision``."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def revision(engine: Engine, message: str, autogenerate: bool = True) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(
            config, message=message, autogenerate=autogenerate, rev_id=next_revision_id(message)
        )
