"""Lead search: an index for the substring search of the leads list over a lead's name,
company name, email, phone and note.

PostgreSQL: a GIN trigram index (pg_trgm) on each of the five columns, so the list's
``ILIKE '%…%'`` conditions become a BitmapOr of index scans; the indexes need no upkeep.

SQLite: an FTS5 table with the trigram tokenizer over the same columns, holding no copy of
the text (external content: the ``lead`` table), kept in step by triggers on ``lead``.
A batch migration that copies the ``lead`` table drops these triggers with the old table:
such a migration must create them again.

None of these objects is in the models (see ``quickcrm.migrate.include_name``).

Revision ID: 0005_lead_search
Revises: 0004_lead_next_action
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_lead_search"
down_revision: str | None = "0004_lead_next_action"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("name", "company_name", "email", "phone", "note")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # A trusted extension since PostgreSQL 13: the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in COLUMNS:
            # fastupdate off: each write goes into the index itself, never into a pending
            # list that every search would read until a VACUUM merges it (up to 4 MB each).
            op.create_index(
                f"ix_lead_{column}_trgm",
                "lead",
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
                postgresql_with={"fastupdate": "off"},
            )
        return
    columns = ", ".join(COLUMNS)
    new = ", ".join(f"new.{column}" for column in COLUMNS)
    old = ", ".join(f"old.{column}" for column in COLUMNS)
    op.execute(
        f"CREATE VIRTUAL TABLE lead_search USING fts5({columns},"
        " content='lead', content_rowid='id', tokenize='trigram')"
    )
    op.execute("INSERT INTO lead_search (lead_search) VALUES ('rebuild')")
    insert = f"INSERT INTO lead_search (rowid, {columns}) VALUES (new.id, {new});"
    # An external-content FTS5 table forgets a row when told the values it indexed.
    delete = (
        f"INSERT INTO lead_search (lead_search, rowid, {columns}) VALUES ('delete', old.id, {old});"
    )
    op.execute(f"CREATE TRIGGER lead_search_insert AFTER INSERT ON lead BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER lead_search_delete AFTER DELETE ON lead BEGIN {delete} END")
    # Only when a searched column changes: status moves and next-action dates stay cheap.
    op.execute(
        f"CREATE TRIGGER lead_search_update AFTER UPDATE OF id, {columns} ON lead"
        f" BEGIN {delete} {insert} END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in reversed(COLUMNS):
            op.drop_index(f"ix_lead_{column}_trgm", table_name="lead")
        # pg_trgm stays: other objects of the database may use it by now.
        return
    for trigger in ("update", "delete", "insert"):
        op.execute(f"DROP TRIGGER lead_search_{trigger}")
    op.execute("DROP TABLE lead_search")
