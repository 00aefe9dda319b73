"""Indexes that keep the list pages bounded at any size (README, "Every page at 100,000
and 1,000,000 leads").

1. **The companies and contacts lists** show their first rows by ``name, id``: an index in
   that order lets the database read just those rows, and the next page from where the last
   one stopped, instead of sorting every company or contact. The index compares names as
   the list does (the column's collation); a case-blind order would need an expression
   index on ``lower(name)``, which SQLAlchemy cannot reflect from SQLite for the schema test.

2. **The board** shows each stage's open opportunities that close soonest: an index on
   ``(stage_id, outcome, close_on, id)`` reads a stage's first cards in order.

3. **The agenda** shows each section's items by ``(due_on, id)`` and its next items after
   the last shown: ``id`` joins the (assignee, done, due) index, which it replaces, so a
   day with thousands of items is not sorted to show thirty (SQLite's index entries end
   with the rowid already; PostgreSQL's do not).

Revision ID: 0014_list_page_indexes
Revises: 0013_import_and_export_speed
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_list_page_indexes"
down_revision: str | None = "0013_import_and_export_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_company_name", "company", ["name", "id"])
    op.create_index("ix_contact_name", "contact", ["name", "id"])
    op.create_index(
        "ix_opportunity_stage_outcome_close",
        "opportunity",
        ["stage_id", "outcome", "close_on", "id"],
    )
    op.create_index(
        "ix_activity_assignee_open_due_id", "activity", ["assignee_id", "done", "due_on", "id"]
    )
    op.drop_index("ix_activity_assignee_open_due", table_name="activity")


def downgrade() -> None:
    op.create_index("ix_activity_assignee_open_due", "activity", ["assignee_id", "done", "due_on"])
    op.drop_index("ix_activity_assignee_open_due_id", table_name="activity")
    op.drop_index("ix_opportunity_stage_outcome_close", table_name="opportunity")
    op.drop_index("ix_contact_name", table_name="contact")
    op.drop_index("ix_company_name", table_name="company")
