"""Offline actions: the UUID a phone gives each *Done*, *Snooze* or note it queued, unique,
so an action sent twice (a lost reply, a retry) is applied once.

Revision ID: 0010_offline_actions
Revises: 0009_customers_and_meetings
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_offline_actions"
down_revision: str | None = "0009_customers_and_meetings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offline_action",
        sa.Column("key", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_offline_action_activity_id_activity"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_offline_action_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_offline_action")),
    )


def downgrade() -> None:
    op.drop_table("offline_action")
