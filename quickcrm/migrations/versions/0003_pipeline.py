"""Pipeline: the admin-editable list of lost reasons, and the iCal feed's rate-limit state.

Revision ID: 0003_pipeline
Revises: 0002_leads_desk
Create Date: 2026-11-23 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_pipeline"
down_revision: str | None = "0002_leads_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_LOST_REASONS = ("Price", "Went with a competitor", "No budget", "No decision", "Other")


def upgrade() -> None:
    lost_reason = op.create_table(
        "lost_reason",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lost_reason")),
        sa.UniqueConstraint("name", name=op.f("uq_lost_reason_name")),
    )
    op.bulk_insert(
        lost_reason,
        [{"name": name, "position": i} for i, name in enumerate(DEFAULT_LOST_REASONS, 1)],
    )
    op.create_table(
        "feed_hit",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_feed_hit_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_feed_hit")),
    )


def downgrade() -> None:
    op.drop_table("feed_hit")
    op.drop_table("lost_reason")
