"""Know who you're talking to (issue 29): the keys duplicate matching compares, merging
leads, the team's categories and the optional lead fields.

- ``lead.name_key``, ``lead.email_key``, ``lead.phone_tail`` and ``contact.name_key``
  (quickcrm/domain/keys.py), each indexed: the hint under a field looks them up while a rep
  types. Existing rows get them here, a thousand at a time by id, from a copy of the
  application's functions as they are today (a revision does not change when the code
  does).
- ``lead.merged_into_id`` and ``lead_merge``: a lead merged into another, and what undoing
  it puts back.
- ``category``, ``lead_category`` and ``company_category``: Admin → *Categories*, on leads
  and, after conversion, on their companies (``company_category.lead_id``: the lead whose
  conversion gave it).
- ``lead.contact_name``, ``lead.address``, ``lead.potential_value``.

Plain columns added in place on both databases: SQLite keeps the lead table's search and
status triggers (revisions 0005, 0012, 0015); its foreign key is a REFERENCES clause of
the added column, as revision 0008's.

Revision ID: 0026_duplicates_categories
Revises: 0025_reminders
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_duplicates_categories"
down_revision: str | None = "0025_reminders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
LETTERS = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d",
                         "þ": "th", "ħ": "h", "ı": "i"})  # fmt: skip


def person_key(name):
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(sorted(re.findall(r"\w+", text.translate(LETTERS))))[:200]


def email_key(email):
    text = (email or "").strip().lower()
    return text[:254] if "@" in text else None


def phone_tail(phone):
    number = re.split(r"(?i)\s*(?:x|ext\.?|extension|#)\s*\d*\s*$", phone or "")[0]
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", number))
    return digits[-9:] if len(digits) >= 7 else None


def _add_key_columns() -> None:
    for table in ("lead", "contact"):
        op.add_column(
            table,
            sa.Column("name_key", sa.String(length=200), server_default="", nullable=False),
        )
    op.add_column("lead", sa.Column("email_key", sa.String(length=254), nullable=True))
    op.add_column("lead", sa.Column("phone_tail", sa.String(length=20), nullable=True))
    op.add_column("lead", sa.Column("contact_name", sa.String(length=200), nullable=True))
    op.add_column("lead", sa.Column("address", sa.Text(), nullable=True))
    op.add_column(
        "lead", sa.Column("potential_value", sa.Numeric(precision=14, scale=2), nullable=True)
    )
    name = op.f("fk_lead_merged_into_id_lead")
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("lead", sa.Column("merged_into_id", sa.Integer(), nullable=True))
        op.create_foreign_key(name, "lead", "lead", ["merged_into_id"], ["id"])
    else:  # Alembic would ask for a batch copy to add a foreign key
        op.execute(
            f'ALTER TABLE "lead" ADD COLUMN merged_into_id INTEGER'
            f' CONSTRAINT {name} REFERENCES "lead" (id)'
        )


def _fill_keys() -> None:
    conn = op.get_bind()
    for table, columns in (("lead", "name, email, phone"), ("contact", "name")):
        last = 0
        while True:
            rows = conn.execute(
                sa.text(
                    f'SELECT id, {columns} FROM "{table}" WHERE id > :last ORDER BY id LIMIT :n'
                ),
                {"last": last, "n": BATCH},
            ).all()
            if not rows:
                break
            if table == "lead":
                conn.execute(
                    sa.text(
                        "UPDATE lead SET name_key = :name, email_key = :email,"
                        " phone_tail = :phone WHERE id = :id"
                    ),
                    [
                        {
                            "id": row[0],
                            "name": person_key(row[1]),
                            "email": email_key(row[2]),
                            "phone": phone_tail(row[3]),
                        }
                        for row in rows
                    ],
                )
            else:
                conn.execute(
                    sa.text("UPDATE contact SET name_key = :name WHERE id = :id"),
                    [{"id": row[0], "name": person_key(row[1])} for row in rows],
                )
            last = rows[-1][0]


def _tag_table(table: str, owner: str, *extra) -> None:
    op.create_table(
        table,
        sa.Column(f"{owner}_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        *extra,
        sa.ForeignKeyConstraint(
            ["category_id"], ["category.id"],
            name=op.f(f"fk_{table}_category_id_category"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            [f"{owner}_id"], [f"{owner}.id"],
            name=op.f(f"fk_{table}_{owner}_id_{owner}"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(f"{owner}_id", "category_id", name=op.f(f"pk_{table}")),
    )  # fmt: skip
    op.create_index(op.f(f"ix_{table}_category_id"), table, ["category_id"], unique=False)


def upgrade() -> None:
    _add_key_columns()
    _fill_keys()
    op.create_index(op.f("ix_lead_name_key"), "lead", ["name_key"], unique=False)
    op.create_index(op.f("ix_lead_email_key"), "lead", ["email_key"], unique=False)
    op.create_index(op.f("ix_lead_phone_tail"), "lead", ["phone_tail"], unique=False)
    op.create_index(op.f("ix_lead_merged_into_id"), "lead", ["merged_into_id"], unique=False)
    op.create_index(op.f("ix_contact_name_key"), "contact", ["name_key"], unique=False)
    op.create_table(
        "category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category")),
        sa.UniqueConstraint("name", name=op.f("uq_category_name")),
    )
    _tag_table("lead_category", "lead")
    # A company's category given by a lead's conversion names that lead: undoing the
    # conversion takes away what it gave, and only that.
    _tag_table(
        "company_category", "company",
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_company_category_lead_id_lead"),
            ondelete="SET NULL",
        ),
    )  # fmt: skip
    op.create_index(
        op.f("ix_company_category_lead_id"), "company_category", ["lead_id"], unique=False
    )
    op.create_table(
        "lead_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kept_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("merged_by_id", sa.Integer(), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undo", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kept_id"], ["lead.id"], name=op.f("fk_lead_merge_kept_id_lead"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["lead.id"], name=op.f("fk_lead_merge_merged_id_lead"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merged_by_id"], ["user.id"], name=op.f("fk_lead_merge_merged_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_merge")),
    )  # fmt: skip
    op.create_index(op.f("ix_lead_merge_kept_id"), "lead_merge", ["kept_id"], unique=False)
    op.create_index(op.f("ix_lead_merge_merged_id"), "lead_merge", ["merged_id"], unique=False)


def downgrade() -> None:
    op.drop_table("lead_merge")
    op.drop_table("company_category")
    op.drop_table("lead_category")
    op.drop_table("category")
    op.drop_index(op.f("ix_contact_name_key"), table_name="contact")
    for index in ("name_key", "email_key", "phone_tail", "merged_into_id"):
        op.drop_index(op.f(f"ix_lead_{index}"), table_name="lead")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_lead_merged_into_id_lead"), "lead", type_="foreignkey")
    # Both databases drop a plain column in place (SQLite since 3.35): the triggers stay.
    for column in ("merged_into_id", "potential_value", "address", "contact_name",
                   "phone_tail", "email_key", "name_key"):  # fmt: skip
        op.execute(f'ALTER TABLE "lead" DROP COLUMN {column}')
    op.execute('ALTER TABLE "contact" DROP COLUMN name_key')
