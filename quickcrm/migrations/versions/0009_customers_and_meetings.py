"""Existing customers and the weekly meeting: an admin-editable list of company segments,
what a conversion did (who converted, whether it made the company and the contact), so it
can be undone, and the weekly meeting's snapshots of the open opportunities.

Columns are added in place (no batch copy of ``lead``, which would drop the search
triggers of 0005): both databases add a nullable column with a foreign key, or a column
with a constant default, without copying the table.

Revision ID: 0009_customers_and_meetings
Revises: 0008_imports
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_customers_and_meetings"
down_revision: str | None = "0008_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable integer column referring to ``target``; SQLite gets the reference inline
    (it cannot add a constraint to an existing table), PostgreSQL a named constraint."""
    name = f"fk_{table}_{column}_{target}"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f'ALTER TABLE "{table}" ADD COLUMN {column} INTEGER '
            f'CONSTRAINT {name} REFERENCES "{target}" (id)'
        )
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(name, table, target, [column], ["id"])


def upgrade() -> None:
    op.create_table(
        "segment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment")),
        sa.UniqueConstraint("name", name=op.f("uq_segment_name")),
    )
    _add_reference("company", "segment_id", "segment")
    op.create_index(op.f("ix_company_segment_id"), "company", ["segment_id"], unique=False)

    _add_reference("lead", "converted_by_id", "user")
    for column in ("created_company", "created_contact"):
        op.add_column(
            "lead", sa.Column(column, sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    op.create_table(
        "meeting_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["taken_by_id"], ["user.id"], name=op.f("fk_meeting_snapshot_taken_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_snapshot")),
    )
    op.create_index(
        op.f("ix_meeting_snapshot_taken_at"), "meeting_snapshot", ["taken_at"], unique=False
    )
    op.create_table(
        "snapshot_opportunity",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("close_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
            name=op.f("fk_snapshot_opportunity_opportunity_id_opportunity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["meeting_snapshot.id"],
            name=op.f("fk_snapshot_opportunity_snapshot_id_meeting_snapshot"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "snapshot_id", "opportunity_id", name=op.f("pk_snapshot_opportunity")
        ),
    )
    op.create_index(
        op.f("ix_snapshot_opportunity_opportunity_id"),
        "snapshot_opportunity",
        ["opportunity_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_snapshot_opportunity_opportunity_id"), table_name="snapshot_opportunity")
    op.drop_table("snapshot_opportunity")
    op.drop_index(op.f("ix_meeting_snapshot_taken_at"), table_name="meeting_snapshot")
    op.drop_table("meeting_snapshot")
    op.drop_index(op.f("ix_company_segment_id"), table_name="company")
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.drop_constraint("fk_lead_converted_by_id_user", "lead", type_="foreignkey")
        op.drop_constraint("fk_company_segment_id_segment", "company", type_="foreignkey")
    # Both databases drop a plain column in place (SQLite since 3.35, once its reference is
    # the column's own): no table copy, so the lead search triggers stay.
    for table, column in (
        ("lead", "created_contact"),
        ("lead", "created_company"),
        ("lead", "converted_by_id"),
        ("company", "segment_id"),
    ):
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN {column}')
    op.drop_table("segment")
