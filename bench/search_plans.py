"""Which searches the search indexes serve — the plans, not the speed.

Run from the repository root::

    python bench/search_plans.py [--leads 2000] [--database-url URL]

Builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL database
given with ``--database-url`` — its public schema is dropped first) with N leads ("Person n",
a phone number, "Globex n" for one in ten, a note), runs ``ANALYZE``, and for a few typed
searches prints what ``domain.leads.search_condition`` asked the database first (and
whether the plan of each of those questions reads a search index), then whether the list's
own query takes its leads from what an index found or checks the search on each lead it
reads. On PostgreSQL, a table this small is read faster than an index: sequential scans are
switched off for the probes, to see what an index would do.

It exits 1 when a rare text's probe does not read its index (a migration or a rewrite of
the search broke the index's use) — a check to run after changing the search, kept out of
the test suite because plans depend on the data and the planner's statistics.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scratch import scratch_database  # noqa: E402
from sqlalchemy import event, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from quickcrm import migrate  # noqa: E402
from quickcrm.domain import leads, users  # noqa: E402
from quickcrm.models import Lead  # noqa: E402

# typed text → whether its probes must read an index (a rare text) or may not
SEARCHES = {"person 12": True, "globex 7": True, "zq": True, "gl": True, "pe": False, "x@": False}


def plan(session: Session, statement: str, params) -> str:
    """How the database would run ``statement``: the text of its EXPLAIN."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
        return "\n".join(row[-1] for row in rows)
    return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params))


def plan_of(session: Session, query) -> str:
    compiled = query.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    if session.get_bind().dialect.name == "sqlite":
        params = tuple(compiled.params[n] for n in compiled.positiontup)
        return plan(session, str(compiled), params)
    return plan(session, str(compiled), compiled.params)


@contextmanager
def statements_run(session: Session):
    """The questions (SELECTs, with their parameters) sent within the block."""
    ran: list[tuple[str, object]] = []

    def note(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            ran.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield ran
    finally:
        event.remove(engine, "before_cursor_execute", note)


def reads_an_index(dialect: str, text_of_plan: str) -> bool:
    if dialect == "sqlite":
        return "VIRTUAL TABLE" in text_of_plan
    indexes = migrate.SEARCH_INDEXES | migrate.WORD_INDEXES
    return any(index in text_of_plan for index in indexes)


def from_the_index(dialect: str, text_of_plan: str) -> bool:
    """Whether the list's query takes its leads from what an index found, rather than
    checking the search on each lead it reads."""
    if dialect == "sqlite":
        # (a correlated subquery looks each lead read up in the index instead)
        return "VIRTUAL TABLE" in text_of_plan and "CORRELATED" not in text_of_plan
    return "ANY" in text_of_plan and "~~*" not in text_of_plan


def build(url: str, n: int):
    engine = scratch_database(url)
    with Session(engine) as session:
        owner = users.create_user(session, "rep@example.com", "correct horse battery")
        rows = [
            {
                "owner_id": owner.id,
                "name": f"Person {i}",
                "company_name": f"Globex {i}" if i % 10 == 0 else "Initech",
                "phone": f"+44 20 {i:04} 1111",
                "note": "met at the stand",
            }
            for i in range(n)
        ]
        session.execute(insert(Lead), rows)
        session.commit()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'plans.sqlite3'}"
    engine = build(url, args.leads)
    dialect = engine.dialect.name
    wrong = 0
    print(f"{args.leads:,} leads on {dialect}\n")
    print(f"{'typed':<12} {'probes':>6}  {'probes read an index':<22} list reads from index")
    with Session(engine) as session:
        for typed, rare in SEARCHES.items():
            with statements_run(session) as ran:
                condition = leads.search_condition(session, typed)
            probes = [(s, p) for s, p in ran if not s.startswith("EXPLAIN")]
            if dialect == "postgresql":
                session.execute(text("SET LOCAL enable_seqscan = off"))
            probe_plans = [plan(session, s, p) for s, p in probes]
            session.rollback()
            indexed = bool(probe_plans) and all(reads_an_index(dialect, p) for p in probe_plans)
            listed = from_the_index(dialect, plan_of(session, select(Lead.id).where(condition)))
            note = ""
            if rare and not indexed:
                wrong += 1
                note = "  <- a rare text's probe should read its index"
            print(f"{typed:<12} {len(probes):>6}  {str(indexed):<22} {listed}{note}")
    engine.dispose()
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
