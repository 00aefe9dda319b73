"""PostgreSQL: the lead search's GIN indexes keep up to 512 kB of new entries pending.

Revision 0013 gave the five trigram indexes and the word-prefix index a pending list of
256 kB: a new lead's entries go into it, and the insert that fills it merges it into the
index in one sorted pass. A 50,000-row import fills each list about every 400 leads; with
512 kB it merges half as often, and a bigger merge costs less per entry (the same keys
are written once for more leads): the import's batches took 8.6 s instead of 9.2 s
(bench/import.py, docs/speed.md "Import: 50,000 rows"). A search reads at most 64 pages
more per index instead of 32 (the 4 MB default made searches 10 times slower: revision
0013). Setting a storage parameter takes each index's ACCESS EXCLUSIVE lock, once, here.

Revision ID: 0023_search_pending_lists
Revises: 0022_import_formats
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023_search_pending_lists"
down_revision: str | None = "0022_import_formats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GIN_INDEXES = (
    "ix_lead_name_trgm",
    "ix_lead_company_name_trgm",
    "ix_lead_email_trgm",
    "ix_lead_phone_trgm",
    "ix_lead_note_trgm",
    "ix_lead_word_starts",
)


def _set_limit(kilobytes: int) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index in GIN_INDEXES:
            op.execute(f"ALTER INDEX {index} SET (gin_pending_list_limit = {kilobytes})")


def upgrade() -> None:
    _set_limit(512)


def downgrade() -> None:
    _set_limit(256)
