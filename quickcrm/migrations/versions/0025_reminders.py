"""Reminders (quickcrm/domain/reminders.py): each user's morning-list settings, a row per
reminder sent to a user for a day (so one is sent, whatever the servers do), the phones
subscribed to push notifications, and the keys the app makes once (VAPID).

Revision ID: 0025_reminders
Revises: 0024_scheduled_jobs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_reminders"
down_revision: str | None = "0024_scheduled_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def user_columns() -> list[sa.Column]:
    return [
        sa.Column("reminder_email", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("reminder_at", sa.Time(), server_default="07:30:00", nullable=False),
        sa.Column("reminder_days", sa.String(length=7), server_default="12345", nullable=False),
        sa.Column("push_nudge", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("digest", sa.Boolean(), server_default=sa.false(), nullable=False),
    ]


def upgrade() -> None:
    # Plain columns on both databases (SQLite adds a column in place).
    for column in user_columns():
        op.add_column("user", column)
    op.create_table(
        "reminder_sent",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "kind IN ('email', 'push', 'digest')", name=op.f("ck_reminder_sent_kind")
        ),
        sa.CheckConstraint(
            "status IN ('sending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_reminder_sent_status"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_reminder_sent_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "day", "kind", name=op.f("pk_reminder_sent")),
    )  # fmt: skip
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=1000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("device", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_push_subscription_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscription")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscription_endpoint")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_push_subscription_user_id"), "push_subscription", ["user_id"], unique=False
    )
    op.create_table(
        "app_key",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_key")),
    )


def downgrade() -> None:
    op.drop_table("app_key")
    op.drop_index(op.f("ix_push_subscription_user_id"), table_name="push_subscription")
    op.drop_table("push_subscription")
    op.drop_table("reminder_sent")
    for column in reversed(user_columns()):
        op.execute(f'ALTER TABLE "user" DROP COLUMN {column.name}')
