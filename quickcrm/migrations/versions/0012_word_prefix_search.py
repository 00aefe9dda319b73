"""Word-prefix search and the forecast's index.

1. **A search of one or two letters or digits** finds the leads with a word that starts
   with them (a word: a run of letters and digits, ignoring case) — README, "Speed". A
   trigram index (revision 0005_lead_search) cannot serve so short a text, and reading
   every lead cost 190–300 ms at 100,000 leads.

   PostgreSQL: the function ``lead_word_starts(VARIADIC text[])`` returns the first letter
   and the first two letters of every word of its arguments, lower-cased, and a GIN index
   on it over the five searched columns (name, company name, email, phone, note) answers
   ``lead_word_starts(...) @> ARRAY['zq']``. An expression index needs no upkeep.

   SQLite: an FTS5 table with the ``unicode61`` tokenizer (words of letters and digits,
   case folded, accents kept) and prefix indexes of one and two characters, holding no copy
   of the text (external content: the ``lead`` table), kept in step by triggers on ``lead``
   as ``lead_search`` is. A batch migration that copies the ``lead`` table drops these
   triggers with the old table: such a migration must create them again.

   None of these objects is in the models (see ``quickcrm.migrate.include_name``).

2. **The forecast's cohort** (``quickcrm.domain.forecast.cohort``) counts the leads captured
   in a period per owner, source and status: ``ix_lead_owner_source_status_captured``
   holds all four, so the count reads the index alone, in its order (declared in the
   models too).

Revision ID: 0012_word_prefix_search
Revises: 0011_attachments
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_word_prefix_search"
down_revision: str | None = "0011_attachments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("name", "company_name", "email", "phone", "note")

WORD_STARTS = """
CREATE FUNCTION lead_word_starts(VARIADIC parts text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT start), '{}')
    FROM unnest(parts) AS part,
         regexp_split_to_table(lower(part), '[^[:alnum:]]+') AS word,
         unnest(ARRAY[left(word, 1), left(word, 2)]) AS start
    WHERE word <> ''
$$
"""


def upgrade() -> None:
    op.create_index(
        "ix_lead_owner_source_status_captured",
        "lead",
        ["owner_id", "source", "status", "captured_at"],
    )
    columns = ", ".join(COLUMNS)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(WORD_STARTS)
        # fastupdate off, as the trigram indexes: no search reads a pending list.
        op.execute(
            f"CREATE INDEX ix_lead_word_starts ON lead USING gin"
            f" (lead_word_starts({columns})) WITH (fastupdate = off)"
        )
        return
    new = ", ".join(f"new.{column}" for column in COLUMNS)
    old = ", ".join(f"old.{column}" for column in COLUMNS)
    op.execute(
        f"CREATE VIRTUAL TABLE lead_words USING fts5({columns}, content='lead',"
        " content_rowid='id', tokenize='unicode61 remove_diacritics 0', prefix='1 2')"
    )
    op.execute("INSERT INTO lead_words (lead_words) VALUES ('rebuild')")
    insert = f"INSERT INTO lead_words (rowid, {columns}) VALUES (new.id, {new});"
    delete = (
        f"INSERT INTO lead_words (lead_words, rowid, {columns}) VALUES ('delete', old.id, {old});"
    )
    op.execute(f"CREATE TRIGGER lead_words_insert AFTER INSERT ON lead BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER lead_words_delete AFTER DELETE ON lead BEGIN {delete} END")
    op.execute(
        f"CREATE TRIGGER lead_words_update AFTER UPDATE OF id, {columns} ON lead"
        f" BEGIN {delete} {insert} END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_lead_word_starts")
        op.execute("DROP FUNCTION lead_word_starts(VARIADIC text[])")
    else:
        for trigger in ("update", "delete", "insert"):
            op.execute(f"DROP TRIGGER lead_words_{trigger}")
        op.execute("DROP TABLE lead_words")
    op.drop_index("ix_lead_owner_source_status_captured", table_name="lead")
