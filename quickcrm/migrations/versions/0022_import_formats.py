"""Imports of the exports a team already has (issue 24).

- ``import.value_map``: how a column's values become a field's (a Rating of "A" → hot);
- ``import.on_duplicate`` (skip, fill, update) with the counters ``dup_filled`` and
  ``dup_updated``, and ``warned`` (rows imported with a warning);
- ``import_refusal.warning``: the report's rows imported with a warning, beside the refused;
- ``import_key.target``: the existing record a key belongs to ("lead:12"), for fill/update;
- ``import_change``: what an import changed in records it did not create (their earlier
  values), so *Undo import* puts them back;
- ``import_mapping``: the mapping an admin chose for a header set, offered next time.

Revision ID: 0022_import_formats
Revises: 0021_accounts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_import_formats"
down_revision: str | None = "0021_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import") as batch:
        batch.add_column(sa.Column("value_map", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("on_duplicate", sa.String(length=10), server_default="skip", nullable=False)
        )
        batch.add_column(sa.Column("dup_filled", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("dup_updated", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("warned", sa.Integer(), server_default="0", nullable=False))
        batch.create_check_constraint("on_duplicate", "on_duplicate IN ('skip', 'fill', 'update')")
    op.add_column(
        "import_refusal",
        sa.Column("warning", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("import_key", sa.Column("target", sa.String(length=30), nullable=True))
    op.create_table(
        "import_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["import.id"],
            name=op.f("fk_import_change_import_id_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_change")),
    )
    op.create_index(op.f("ix_import_change_import_id"), "import_change", ["import_id"])
    op.create_table(
        "import_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("header_key", sa.String(length=64), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("value_map", sa.Text(), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mapping")),
        sa.UniqueConstraint("kind", "header_key", name=op.f("uq_import_mapping_kind")),
    )


def downgrade() -> None:
    op.drop_table("import_mapping")
    op.drop_index(op.f("ix_import_change_import_id"), table_name="import_change")
    op.drop_table("import_change")
    with op.batch_alter_table("import_key") as batch:
        batch.drop_column("target")
    with op.batch_alter_table("import_refusal") as batch:
        batch.drop_column("warning")
    with op.batch_alter_table("import") as batch:
        batch.drop_constraint(op.f("ck_import_on_duplicate"), type_="check")
        batch.drop_column("warned")
        batch.drop_column("dup_updated")
        batch.drop_column("dup_filled")
        batch.drop_column("on_duplicate")
        batch.drop_column("value_map")
