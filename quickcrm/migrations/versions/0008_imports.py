"""CSV imports: the ``import`` table (one uploaded file and its progress), its parsed
chunks, duplicate keys and refused rows, and an ``import_id`` on the leads, companies and
contacts an import creates, so that undoing it can find them.

The columns are added in place on both databases (SQLite's ADD COLUMN takes a REFERENCES
clause), never by a batch copy of ``lead``, which would drop the lead search triggers of
revision 0005.

Revision ID: 0008_imports
Revises: 0007_api_tokens
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_imports"
# Re-chained onto 0007 when merged (0007 was written at the same time).
down_revision: str | None = "0007_api_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATED = ("lead", "company", "contact")


def upgrade() -> None:
    op.create_table(
        "import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=False),
        sa.Column("delimiter", sa.String(length=10), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=120), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("next_chunk", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('leads', 'companies')", name=op.f("ck_import_kind")),
        sa.CheckConstraint(
            "status IN ('mapping', 'running', 'done', 'undone')", name=op.f("ck_import_status")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_import_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], name=op.f("fk_import_owner_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import")),
    )
    op.create_table(
        "import_chunk",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["import.id"],
            name=op.f("fk_import_chunk_import_id_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "number", name=op.f("pk_import_chunk")),
    )
    op.create_table(
        "import_key",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=260), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["import.id"],
            name=op.f("fk_import_key_import_id_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "key", name=op.f("pk_import_key")),
    )
    op.create_table(
        "import_refusal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cells", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["import.id"],
            name=op.f("fk_import_refusal_import_id_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_refusal")),
    )
    op.create_index(
        op.f("ix_import_refusal_import_id"), "import_refusal", ["import_id"], unique=False
    )
    for table in CREATED:
        name = op.f(f"fk_{table}_import_id_import")
        if op.get_bind().dialect.name == "postgresql":
            op.add_column(table, sa.Column("import_id", sa.Integer(), nullable=True))
            op.create_foreign_key(name, table, "import", ["import_id"], ["id"])
        else:  # Alembic would ask for a batch copy to add a foreign key
            op.execute(
                f'ALTER TABLE "{table}" ADD COLUMN import_id INTEGER'
                f' CONSTRAINT {name} REFERENCES "import" (id)'
            )
        op.create_index(op.f(f"ix_{table}_import_id"), table, ["import_id"], unique=False)


def downgrade() -> None:
    for table in reversed(CREATED):
        op.drop_index(op.f(f"ix_{table}_import_id"), table_name=table)
        if op.get_bind().dialect.name == "postgresql":
            op.drop_constraint(op.f(f"fk_{table}_import_id_import"), table, type_="foreignkey")
        # Both databases drop a plain column in place (SQLite since 3.35, which drops the
        # column's REFERENCES clause with it): no table copy, the search triggers stay.
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN import_id')
    op.drop_index(op.f("ix_import_refusal_import_id"), table_name="import_refusal")
    op.drop_table("import_refusal")
    op.drop_table("import_key")
    op.drop_table("import_chunk")
    op.drop_table("import")
