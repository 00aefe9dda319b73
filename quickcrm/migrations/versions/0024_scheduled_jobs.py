"""Scheduled jobs: one row per job the app servers run by themselves (the purge, the nightly
backup), holding its lease, its next run and how its last run went
(quickcrm/domain/scheduler.py). The purge's old lease, a row of ``rate_limit``, goes.

Revision ID: 0024_scheduled_jobs
Revises: 0023_search_pending_lists
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_scheduled_jobs"
down_revision: str | None = "0023_search_pending_lists"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_LEASE = "lease:housekeeping"


def upgrade() -> None:
    op.create_table(
        "scheduled_job",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=10), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "result IS NULL OR result IN ('ok', 'failed')", name=op.f("ck_scheduled_job_result")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_job")),
    )
    op.execute(sa.text("DELETE FROM rate_limit WHERE key = :key").bindparams(key=OLD_LEASE))


def downgrade() -> None:
    op.drop_table("scheduled_job")
