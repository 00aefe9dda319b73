"""Constraints the models imply, and the indexes the queries use.

1. **Rows that cannot make sense are refused by the database**, not only by the forms:

   - an activity belongs to at least one record (lead, company, contact or opportunity:
     no page shows one that belongs to none);
   - a lost opportunity has a lost reason, a disqualified lead has a reason (the forms
     ask for one; an empty text is no reason);
   - an opportunity's value is not negative (``validation.money`` reads 0 and up).

   Rows already there that break the first and the last cannot be repaired without a
   person: the upgrade stops and says which (attach or delete them, then upgrade again).
   A lost opportunity or a disqualified lead without a reason gets "Not recorded".

   PostgreSQL gets CHECK constraints. SQLite cannot add one without copying the table
   (``batch_alter_table``), and copying ``lead``, ``opportunity`` or ``activity`` drops
   the old table while the app's connections enforce foreign keys: the implicit DELETE
   of that DROP would cascade (activities and attachments of every lead, snapshot rows
   of every opportunity) or set offline actions' links to NULL. So on SQLite the same
   tests are BEFORE INSERT / UPDATE triggers that abort with the constraint's name (an
   ``IntegrityError``, as a CHECK gives). Alembic does not compare CHECK constraints, so
   the models declare them as PostgreSQL has them.

2. **Stage names are unique ignoring case** (``uq_stage_name_lower`` on ``lower(name)``),
   as the admin's form already checks (``domain/stages.py``); two clashing names stop the
   upgrade with their names.

3. **Contact matching's index**: ``domain/matching.py`` finds a lead's contacts by
   ``lower(email)``, which the plain ``ix_contact_email`` cannot serve; nothing looks a
   contact up by its email as typed, so ``ix_contact_email_lower`` replaces it.

4. **The index nothing uses**: ``ix_lead_status_created`` (status, created_at). The leads
   list and review filter by status and order by ``captured_at`` (``ix_lead_status_*``);
   the only reads of ``created_at`` are a rep's recent captures (by owner:
   ``ix_lead_owner_created``) and the weekly meeting's new leads (a range without a
   status, which this index cannot serve). It cost a write on every capture.

Revision ID: 0015_implied_constraints
Revises: 0014_list_page_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_implied_constraints"
down_revision: str | None = "0014_list_page_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_RECORDED = "Not recorded"

# (table, constraint name, test with {row} for the row's alias, columns it reads)
CHECKS = (
    (
        "activity",
        "ck_activity_record",
        "{row}.lead_id IS NOT NULL OR {row}.company_id IS NOT NULL"
        " OR {row}.contact_id IS NOT NULL OR {row}.opportunity_id IS NOT NULL",
        ("lead_id", "company_id", "contact_id", "opportunity_id"),
    ),
    (
        "opportunity",
        "ck_opportunity_lost_reason",
        "{row}.outcome <> 'lost' OR ({row}.lost_reason IS NOT NULL AND {row}.lost_reason <> '')",
        ("outcome", "lost_reason"),
    ),
    (
        "opportunity",
        "ck_opportunity_value",
        "{row}.value >= 0",
        ("value",),
    ),
    (
        "lead",
        "ck_lead_disqualified_reason",
        "{row}.status <> 'disqualified'"
        " OR ({row}.disqualified_reason IS NOT NULL AND {row}.disqualified_reason <> '')",
        ("status", "disqualified_reason"),
    ),
)


def _refuse_what_cannot_be_filled(bind) -> None:
    problems = []
    orphans = bind.execute(
        sa.text(
            "SELECT id FROM activity WHERE lead_id IS NULL AND company_id IS NULL"
            " AND contact_id IS NULL AND opportunity_id IS NULL ORDER BY id"
        )
    ).scalars().all()  # fmt: skip
    if orphans:
        problems.append(
            f"{len(orphans)} activities belong to no lead, company, contact or opportunity"
            f" (ids {', '.join(map(str, orphans[:20]))}{' …' if len(orphans) > 20 else ''}):"
            " attach each to a record or delete it."
        )
    negative = bind.execute(
        sa.text("SELECT id FROM opportunity WHERE value < 0 ORDER BY id")
    ).scalars().all()  # fmt: skip
    if negative:
        problems.append(
            f"{len(negative)} opportunities have a negative value"
            f" (ids {', '.join(map(str, negative[:20]))}): set a value of 0 or more."
        )
    clashes = bind.execute(
        sa.text(
            "SELECT lower(name) FROM stage GROUP BY lower(name) HAVING count(*) > 1"
        )
    ).scalars().all()  # fmt: skip
    if clashes:
        problems.append(
            "Stage names clash ignoring case: " + ", ".join(clashes) + ": rename all but one."
        )
    if problems:
        raise RuntimeError(
            "Revision 0015 adds constraints that rows in this database break. "
            + " ".join(problems)
            + " Then run the upgrade again."
        )


def upgrade() -> None:
    bind = op.get_bind()
    _refuse_what_cannot_be_filled(bind)
    bind.execute(
        sa.text(
            "UPDATE opportunity SET lost_reason = :reason WHERE outcome = 'lost'"
            " AND (lost_reason IS NULL OR lost_reason = '')"
        ),
        {"reason": NOT_RECORDED},
    )
    bind.execute(
        sa.text(
            "UPDATE lead SET disqualified_reason = :reason WHERE status = 'disqualified'"
            " AND (disqualified_reason IS NULL OR disqualified_reason = '')"
        ),
        {"reason": NOT_RECORDED},
    )
    if bind.dialect.name == "postgresql":
        for table, name, test, _columns in CHECKS:
            op.create_check_constraint(op.f(name), table, test.format(row=table))
    else:
        for table, name, test, columns in CHECKS:
            refuse = f"SELECT RAISE(ABORT, 'CHECK constraint failed: {name}');"
            when = f"NOT ({test.format(row='new')})"
            op.execute(
                f"CREATE TRIGGER {name}_insert BEFORE INSERT ON {table}"
                f" WHEN {when} BEGIN {refuse} END"
            )
            op.execute(
                f"CREATE TRIGGER {name}_update BEFORE UPDATE OF {', '.join(columns)} ON {table}"
                f" WHEN {when} BEGIN {refuse} END"
            )
    op.create_index("uq_stage_name_lower", "stage", [sa.text("lower(name)")], unique=True)
    op.drop_index("ix_contact_email", table_name="contact")
    op.create_index("ix_contact_email_lower", "contact", [sa.text("lower(email)")])
    op.drop_index("ix_lead_status_created", table_name="lead")


def downgrade() -> None:
    op.create_index("ix_lead_status_created", "lead", ["status", "created_at"])
    op.drop_index("ix_contact_email_lower", table_name="contact")
    op.create_index("ix_contact_email", "contact", ["email"])
    op.drop_index("uq_stage_name_lower", table_name="stage")
    if op.get_bind().dialect.name == "postgresql":
        for table, name, _test, _columns in reversed(CHECKS):
            op.drop_constraint(op.f(name), table, type_="check")
    else:
        for _table, name, _test, _columns in reversed(CHECKS):
            op.execute(f"DROP TRIGGER {name}_update")
            op.execute(f"DROP TRIGGER {name}_insert")
    # The reasons filled in stay: "Not recorded" is true of them before this revision too.
