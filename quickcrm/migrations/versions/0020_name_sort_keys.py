"""Names sort as people expect: "acme", "Énergie", "Zeta", whatever their case, accents or
leading spaces (issue 22).

Each named table (user, lead, company, contact) gets ``name_sort``: its name with the
accents removed, the case folded and the spaces collapsed (quickcrm/domain/sorting.py).
The lists sorted by name order and page on ``(name_sort, id)``, so the indexes of the
companies and contacts lists (revision 0014) and the leads list's by status and name
(revision 0004) are made again on it; the user list is a team's size and has none. A plain
column compares the same way on SQLite and PostgreSQL; an ICU collation is PostgreSQL's
alone.

Existing rows get their keys here, a thousand at a time by id, computed by a copy of the
application's function as it is today (a revision does not change when the code does).

Revision ID: 0020_name_sort_keys
Revises: 0019_team_settings
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_name_sort_keys"
down_revision: str | None = "0019_team_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("user", "lead", "company", "contact")
BATCH = 1000
SORT_KEY_MAX = 200
LETTERS = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d",
                         "þ": "th", "ħ": "h", "ı": "i"})  # fmt: skip


def sort_key(name: str | None) -> str:
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(text.translate(LETTERS).split())[:SORT_KEY_MAX]


def upgrade() -> None:
    conn = op.get_bind()
    for table in TABLES:
        # NOT NULL with a default: SQLite adds such a column in place, without rebuilding
        # the table (which would lose the triggers of revisions 0005, 0012 and 0015).
        op.add_column(
            table,
            sa.Column("name_sort", sa.String(length=200), server_default="", nullable=False),
        )
        last = 0
        while True:
            rows = conn.execute(
                sa.text(f'SELECT id, name FROM "{table}" WHERE id > :last ORDER BY id LIMIT :n'),
                {"last": last, "n": BATCH},
            ).all()
            if not rows:
                break
            conn.execute(
                sa.text(f'UPDATE "{table}" SET name_sort = :key WHERE id = :id'),
                [{"id": row_id, "key": sort_key(name)} for row_id, name in rows],
            )
            last = rows[-1][0]
    op.create_index("ix_company_name_sort", "company", ["name_sort", "id"])
    op.create_index("ix_contact_name_sort", "contact", ["name_sort", "id"])
    op.create_index("ix_lead_status_name_sort", "lead", ["status", "name_sort", "id"])
    op.drop_index("ix_company_name", table_name="company")
    op.drop_index("ix_contact_name", table_name="contact")
    op.drop_index("ix_lead_status_name", table_name="lead")


def downgrade() -> None:
    op.create_index("ix_lead_status_name", "lead", ["status", "name", "id"])
    op.create_index("ix_contact_name", "contact", ["name", "id"])
    op.create_index("ix_company_name", "company", ["name", "id"])
    op.drop_index("ix_lead_status_name_sort", table_name="lead")
    op.drop_index("ix_contact_name_sort", table_name="contact")
    op.drop_index("ix_company_name_sort", table_name="company")
    for table in TABLES:
        # (SQLite: DROP COLUMN in place, as revision 0019's downgrade; the column is in no
        # index or trigger by now.)
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN name_sort')
