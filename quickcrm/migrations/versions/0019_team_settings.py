"""The team's own time zone, currency, date format, week start and phone region
(``team_settings``, one row), and a time zone per user for the rep who travels.

Nothing is filled in: an empty setting means the server's (``QUICKCRM_TIME_ZONE``,
``QUICKCRM_CURRENCY``, ``QUICKCRM_PHONE_REGION``, else the server's own zone), which is what
every team had before this revision. Stored moments stay UTC.

Revision ID: 0019_team_settings
Revises: 0018_hashed_feed_tokens
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_team_settings"
down_revision: str | None = "0018_hashed_feed_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("locale", sa.String(length=20), nullable=True),
        sa.Column("week_start", sa.Integer(), nullable=True),
        sa.Column("phone_region", sa.String(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_team_settings_one_row")),
        sa.CheckConstraint(
            "week_start IS NULL OR week_start IN (0, 6)", name=op.f("ck_team_settings_week_start")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_settings")),
    )
    # A plain column on both databases (SQLite adds a column in place).
    op.add_column("user", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.execute('ALTER TABLE "user" DROP COLUMN time_zone')
    op.drop_table("team_settings")
