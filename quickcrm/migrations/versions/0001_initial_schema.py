"""Initial schema: the whole data model, with the default pipeline stages.

Revision ID: 0001_initial_schema
Revises:
Create Date: 2026-11-23 09:41:55.978742
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial_schema"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.CheckConstraint("outcome IN ('open', 'won', 'lost')", name=op.f("ck_stage_outcome")),
        sa.CheckConstraint("probability BETWEEN 0 AND 100", name=op.f("ck_stage_probability")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage")),
        sa.UniqueConstraint("name", name=op.f("uq_stage_name")),
    )
    # The default pipeline (PRODUCT.md §2); admins edit it later. Frozen here on purpose.
    op.bulk_insert(
        sa.table(
            "stage",
            sa.column("name", sa.String),
            sa.column("position", sa.Integer),
            sa.column("probability", sa.Integer),
            sa.column("outcome", sa.String),
        ),
        [
            {"name": "New", "position": 1, "probability": 10, "outcome": "open"},
            {"name": "Qualified", "position": 2, "probability": 25, "outcome": "open"},
            {"name": "Proposal", "position": 3, "probability": 50, "outcome": "open"},
            {"name": "Negotiation", "position": 4, "probability": 75, "outcome": "open"},
            {"name": "Won", "position": 5, "probability": 100, "outcome": "won"},
            {"name": "Lost", "position": 6, "probability": 0, "outcome": "lost"},
        ],
    )
    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("ical_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('rep', 'coordinator', 'admin')", name=op.f("ck_user_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("email", name=op.f("uq_user_email")),
        sa.UniqueConstraint("ical_token", name=op.f("uq_user_ical_token")),
    )
    op.create_table(
        "company",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("rating", sa.String(length=1), nullable=True),
        sa.Column("industry", sa.String(length=120), nullable=True),
        sa.Column("website", sa.String(length=255), nullable=True),
        sa.Column("email_domain", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("phone_key", sa.String(length=40), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rating IS NULL OR rating IN ('A', 'B', 'C')", name=op.f("ck_company_rating")
        ),
        sa.CheckConstraint(
            "type IN ('prospect', 'customer', 'partner', 'supplier', 'reseller', 'other')",
            name=op.f("ck_company_type"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["company.id"], name=op.f("fk_company_merged_into_id_company")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], name=op.f("fk_company_owner_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company")),
    )
    with op.batch_alter_table("company", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_company_email_domain"), ["email_domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_company_name_key"), ["name_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_company_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_company_phone_key"), ["phone_key"], unique=False)

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("phone_key", sa.String(length=40), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"], name=op.f("fk_contact_company_id_company")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], name=op.f("fk_contact_owner_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_phone_key"), ["phone_key"], unique=False)

    op.create_table(
        "opportunity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("probability_manual", sa.Boolean(), nullable=False),
        sa.Column("close_on", sa.Date(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("lost_reason", sa.String(length=200), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('open', 'won', 'lost')", name=op.f("ck_opportunity_outcome")
        ),
        sa.CheckConstraint(
            "probability BETWEEN 0 AND 100", name=op.f("ck_opportunity_probability")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"], name=op.f("fk_opportunity_company_id_company")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_opportunity_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["user.id"], name=op.f("fk_opportunity_owner_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"], ["stage.id"], name=op.f("fk_opportunity_stage_id_stage")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity")),
    )
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opportunity_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_opportunity_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_opportunity_outcome_close", ["outcome", "close_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_opportunity_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_opportunity_stage_id"), ["stage_id"], unique=False)

    op.create_table(
        "lead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("temperature", sa.String(length=10), nullable=True),
        sa.Column("source", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("disqualified_reason", sa.String(length=200), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("opportunity_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'converted', 'disqualified')", name=op.f("ck_lead_status")
        ),
        sa.CheckConstraint(
            "temperature IS NULL OR temperature IN ('cold', 'warm', 'hot')",
            name=op.f("ck_lead_temperature"),
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"], name=op.f("fk_lead_company_id_company")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_lead_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunity.id"], name=op.f("fk_lead_opportunity_id_opportunity")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], name=op.f("fk_lead_owner_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead")),
        sa.UniqueConstraint("uuid", name=op.f("uq_lead_uuid")),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lead_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index("ix_lead_owner_created", ["owner_id", "created_at"], unique=False)
        batch_op.create_index("ix_lead_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("repeat_every", sa.Integer(), nullable=True),
        sa.Column("repeat_unit", sa.String(length=10), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("opportunity_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('note', 'call', 'email', 'meeting', 'task')", name=op.f("ck_activity_kind")
        ),
        sa.CheckConstraint(
            "repeat_unit IS NULL OR repeat_unit IN ('day', 'week', 'month')",
            name=op.f("ck_activity_repeat_unit"),
        ),
        sa.CheckConstraint(
            "repeat_every IS NULL OR repeat_every > 0", name=op.f("ck_activity_repeat_every")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["user.id"], name=op.f("fk_activity_assignee_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user.id"], name=op.f("fk_activity_author_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["company.id"], name=op.f("fk_activity_company_id_company")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_activity_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_activity_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
            name=op.f("fk_activity_opportunity_id_opportunity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_assignee_open_due", ["assignee_id", "done", "due_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_activity_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_activity_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_activity_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_activity_opportunity_id"), ["opportunity_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_opportunity_id"))
        batch_op.drop_index(batch_op.f("ix_activity_lead_id"))
        batch_op.drop_index(batch_op.f("ix_activity_contact_id"))
        batch_op.drop_index(batch_op.f("ix_activity_company_id"))
        batch_op.drop_index("ix_activity_assignee_open_due")

    op.drop_table("activity")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_status_created")
        batch_op.drop_index("ix_lead_owner_created")
        batch_op.drop_index(batch_op.f("ix_lead_opportunity_id"))
        batch_op.drop_index(batch_op.f("ix_lead_contact_id"))
        batch_op.drop_index(batch_op.f("ix_lead_company_id"))

    op.drop_table("lead")
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_stage_id"))
        batch_op.drop_index(batch_op.f("ix_opportunity_owner_id"))
        batch_op.drop_index("ix_opportunity_outcome_close")
        batch_op.drop_index(batch_op.f("ix_opportunity_contact_id"))
        batch_op.drop_index(batch_op.f("ix_opportunity_company_id"))

    op.drop_table("opportunity")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_phone_key"))
        batch_op.drop_index(batch_op.f("ix_contact_owner_id"))
        batch_op.drop_index(batch_op.f("ix_contact_email"))
        batch_op.drop_index(batch_op.f("ix_contact_company_id"))

    op.drop_table("contact")
    with op.batch_alter_table("company", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_company_phone_key"))
        batch_op.drop_index(batch_op.f("ix_company_owner_id"))
        batch_op.drop_index(batch_op.f("ix_company_name_key"))
        batch_op.drop_index(batch_op.f("ix_company_email_domain"))

    op.drop_table("company")
    op.drop_table("user")
    op.drop_table("stage")
