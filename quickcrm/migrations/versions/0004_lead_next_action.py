"""Leads desk: each lead's next-action date as a column (filled from its open activities),
with indexes for sorting and keyset paging the leads list by next action and by name.

Revision ID: 0004_lead_next_action
Revises: 0003_pipeline
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_lead_next_action"
down_revision: str | None = "0003_pipeline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead") as batch:
        batch.add_column(sa.Column("next_action_on", sa.Date(), nullable=True))
    op.execute(
        "UPDATE lead SET next_action_on = ("
        " SELECT MIN(activity.due_on) FROM activity"
        " WHERE activity.lead_id = lead.id AND NOT activity.done"
        " AND activity.due_on IS NOT NULL)"
    )
    op.create_index("ix_lead_status_next_action", "lead", ["status", "next_action_on", "id"])
    op.create_index("ix_lead_next_action", "lead", ["next_action_on", "id"])
    op.create_index("ix_lead_status_name", "lead", ["status", "name", "id"])


def downgrade() -> None:
    op.drop_index("ix_lead_status_name", table_name="lead")
    op.drop_index("ix_lead_next_action", table_name="lead")
    op.drop_index("ix_lead_status_next_action", table_name="lead")
    with op.batch_alter_table("lead") as batch:
        batch.drop_column("next_action_on")
