"""Leads desk: indexes for keyset paging of the leads list by capture time,
and for the source filter and its list of sources.

Revision ID: 0002_leads_desk
Revises: 0001_initial_schema
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_leads_desk"
down_revision: str | None = "0001_initial_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_lead_status_captured", "lead", ["status", "captured_at", "id"])
    op.create_index("ix_lead_owner_captured", "lead", ["owner_id", "captured_at", "id"])
    op.create_index("ix_lead_source", "lead", ["source"])


def downgrade() -> None:
    op.drop_index("ix_lead_source", table_name="lead")
    op.drop_index("ix_lead_owner_captured", table_name="lead")
    op.drop_index("ix_lead_status_captured", table_name="lead")
