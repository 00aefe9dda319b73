"""Sessions and rate limits: a session version per user (part of the id every session and
"stay signed in" cookie carries, raised to end them all), and one keyed ``rate_limit`` table
for every limit counted in the database, replacing the iCal feed's ``feed_hit``.

The feed's counts are not carried over: they start afresh (a window lasts an hour).

Revision ID: 0006_sessions_and_rate_limits
Revises: 0005_lead_search
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_sessions_and_rate_limits"
down_revision: str | None = "0005_lead_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "user",
        sa.Column("session_version", sa.Integer(), server_default="1", nullable=False),
    )
    op.create_table(
        "rate_limit",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit")),
    )
    op.create_index(
        op.f("ix_rate_limit_window_start"), "rate_limit", ["window_start"], unique=False
    )
    op.drop_table("feed_hit")


def downgrade() -> None:
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
    op.drop_index(op.f("ix_rate_limit_window_start"), table_name="rate_limit")
    op.drop_table("rate_limit")
    # Both databases drop a plain column in place (SQLite since 3.35): no table copy, so
    # the tables that refer to "user" are left alone.
    op.execute('ALTER TABLE "user" DROP COLUMN session_version')
