"""Import and export speed: the leads in capture order, and GIN indexes with a pending list.

1. **Leads of any status in capture order** (the leads list's default order, newest
   first): ``ix_lead_captured`` on (captured_at, id), read backwards. Without it the export
   of leads of any status sorted every lead before its first row (~0.5 s at 100,000 leads;
   README, "Exports and backups"); ``ix_lead_status_captured`` only serves one status.
   Declared in the models too.

2. **PostgreSQL: the lead search's GIN indexes take new entries in a pending list**
   (``fastupdate`` on, up to ``gin_pending_list_limit`` = 256 kB per index) instead of
   each into the index itself. Revisions 0005_lead_search and 0012_word_prefix_search made
   them with ``fastupdate`` off, so that no search reads a pending list (up to 4 MB each by
   default); but then a lead insert cost ~5 times a plain one and a CSV import of 50,000
   leads took 29 s (README, "Import"). With a 256 kB list a search reads at most 32 pages
   more per index, a lead insert adds to the list, and the insert that fills it (or a
   VACUUM) merges it into the index in one sorted pass. Setting a storage parameter takes
   the index's ACCESS EXCLUSIVE lock, once, here; the import never changes it.

Revision ID: 0013_import_and_export_speed
Revises: 0012_word_prefix_search
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_import_and_export_speed"
down_revision: str | None = "0012_word_prefix_search"
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
PENDING_LIST_KB = 256


def upgrade() -> None:
    op.create_index("ix_lead_captured", "lead", ["captured_at", "id"])
    if op.get_bind().dialect.name == "postgresql":
        for index in GIN_INDEXES:
            op.execute(
                f"ALTER INDEX {index}"
                f" SET (fastupdate = on, gin_pending_list_limit = {PENDING_LIST_KB})"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index in GIN_INDEXES:
            op.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")
            op.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
            # Turning fastupdate off leaves the pending list as it is: merge it now.
            op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")
    op.drop_index("ix_lead_captured", table_name="lead")
