"""The companies and contacts lists sorted by name at 100,000 rows, before and after
revision 0020 (names sort as people expect: ``name_sort``), against a floor.

Run from the repository root, with a scratch PostgreSQL database (it is wiped), or none
for a SQLite file of its own::

    python bench/sorted_lists.py [--database-url URL] [--rows 100000] [--runs 50]

The schema is migrated to revision 0019 and filled with N companies and N contacts whose
names mix case, accents and leading spaces. Each list's first page and a page deep in the
list (its keyset cursor, 101 rows as the app reads them) are timed by their median over
``--runs``:

- **before**: at revision 0019, ordered and paged by ``(name, id)`` on revision 0014's
  indexes (the old, byte-wise order);
- **after**: migrated to 0020 (the migration's time is printed: it fills every key), ordered
  and paged by ``(name_sort, id)``, the statement the app now sends;
- **floor**: the same number of rows read by primary key (``id > :x ORDER BY id``), in the
  same run: what any page of 101 rows costs here.

Each query's plan is checked: an ORDER BY answered by the index, never a sort of every row.
This prints figures; it is a bench, not part of the test run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scratch import scratch_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from quickcrm import migrate  # noqa: E402

PAGE = 101  # LIST_LIMIT + 1: a page and whether another follows
FIRST = ["acme", "Énergie", "Zeta", " Örebro", "ÉCOLE", "garage", "Łódź", "straße", "Bäckerei"]
SECOND = ["Holdings", "trading", "Services", "ltd", "& Söhne", "Group"]
LISTS = {
    "company": "SELECT id, name, type, rating, segment_id FROM company"
    " WHERE merged_into_id IS NULL {after} ORDER BY {column}, id LIMIT :n",
    "contact": "SELECT id, name, email, phone, company_id FROM contact"
    " WHERE 1 = 1 {after} ORDER BY {column}, id LIMIT :n",
}


def fill(engine, rows: int) -> None:
    pick = random.Random(22)
    names = [
        f"{pick.choice(FIRST)} {pick.choice(SECOND)} {pick.randrange(rows):06}" for _ in range(rows)
    ]
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO company (name, name_key, type, created_at, updated_at)"
                 " VALUES (:name, :name, 'prospect', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            [{"name": name} for name in names],
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO contact (name, email, created_at, updated_at)"
                 " VALUES (:name, 'x@example.com', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            [{"name": name} for name in reversed(names)],
        )  # fmt: skip
    analyse(engine)


def analyse(engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def sorts_every_row(conn, sql: str, values: dict) -> bool:
    """Whether the plan of ``sql`` sorts the rows instead of reading them in order."""
    if conn.dialect.name == "postgresql":
        plan = conn.execute(text("EXPLAIN " + sql), values).scalars().all()
        return any("Sort" in line and "Sort Key" not in line for line in plan)
    plan = conn.execute(text("EXPLAIN QUERY PLAN " + sql), values).all()
    return any("TEMP B-TREE" in row[-1] for row in plan)


def timed(conn, sql: str, values: dict, runs: int) -> float:
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        got = conn.execute(text(sql), values).all()
        if run:
            times.append((time.perf_counter() - started) * 1000)
    assert len(got) == PAGE, (sql, len(got))
    return statistics.median(times)


def measure(engine, column: str, runs: int) -> dict[str, float]:
    """Each list's first page and a page 1,000 rows in, ordered by ``column``; and the floor."""
    figures = {}
    with engine.connect() as conn:
        for table, shape in LISTS.items():
            deep = conn.execute(
                text(f"SELECT {column}, id FROM {table} ORDER BY {column}, id LIMIT 1 OFFSET 999")
            ).one()
            cursor = f"AND ({column}, id) > (:key, :id)"
            pages = {
                "first page": (shape.format(after="", column=column), {}),
                "page after 1,000": (
                    shape.format(after=cursor, column=column),
                    {"key": deep[0], "id": deep[1]},
                ),
            }
            for label, (sql, values) in pages.items():
                values = {**values, "n": PAGE}
                if sorts_every_row(conn, sql, values):
                    print(f"  ! {table} {label} by {column}: the plan sorts every row")
                figures[f"{table} {label}"] = timed(conn, sql, values, runs)
            middle = conn.scalar(text(f"SELECT max(id) / 2 FROM {table}"))
            floor = f"SELECT id, name FROM {table} WHERE id > :x ORDER BY id LIMIT :n"
            figures[f"{table} floor"] = timed(conn, floor, {"x": middle, "n": PAGE}, runs)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (else SQLite)")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    engine = scratch_database(args.database_url, "0019_team_settings")
    started = time.perf_counter()
    fill(engine, args.rows)
    print(f"{engine.dialect.name}: {args.rows:,} companies and {args.rows:,} contacts filled"
          f" in {time.perf_counter() - started:.0f} s")  # fmt: skip
    before = measure(engine, "name", args.runs)
    started = time.perf_counter()
    migrate.upgrade(engine, "0020_name_sort_keys")
    took = time.perf_counter() - started
    print(f"revision 0020 filled {2 * args.rows:,} sort keys and made the indexes in {took:.1f} s")
    analyse(engine)
    after = measure(engine, "name_sort", args.runs)
    print(
        f"\nmedian of {args.runs} runs, ms     before (name)  after (name_sort)  after/before"
        "  floor  after/floor"
    )
    for table in LISTS:
        floor = (before[f"{table} floor"] + after[f"{table} floor"]) / 2
        for label in ("first page", "page after 1,000"):
            key = f"{table} {label}"
            ratio = after[key] / before[key]
            print(f"  {key:<26} {before[key]:8.2f}  {after[key]:14.2f}  {ratio:13.2f}"
                  f"  {floor:6.2f}  {after[key] / floor:10.2f}")  # fmt: skip
    engine.dispose()


if __name__ == "__main__":
    main()
