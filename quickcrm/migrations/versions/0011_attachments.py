"""Attachments: card photos and voice notes kept with a lead (and with the contact it
becomes), their bytes in the database so a backup holds them; a lead's "from a card —
check" mark.

Revision ID: 0011_attachments
Revises: 0010_offline_actions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_attachments"
down_revision: str | None = "0010_offline_actions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "lead", sa.Column("from_card", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('card_photo', 'voice_note')", name=op.f("ck_attachment_kind")),
        sa.CheckConstraint("size >= 0", name=op.f("ck_attachment_size")),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user.id"], name=op.f("fk_attachment_author_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_attachment_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_attachment_lead_id_lead"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    op.create_index(op.f("ix_attachment_lead_id"), "attachment", ["lead_id"], unique=False)
    op.create_index(op.f("ix_attachment_contact_id"), "attachment", ["contact_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_attachment_contact_id"), table_name="attachment")
    op.drop_index(op.f("ix_attachment_lead_id"), table_name="attachment")
    op.drop_table("attachment")
    # Both databases drop a plain column in place (SQLite since 3.35).
    op.execute("ALTER TABLE lead DROP COLUMN from_card")
