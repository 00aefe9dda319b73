"""Does any list, agenda or report page read more as the data grows?

Run from the repository root, with a scratch PostgreSQL database (it is wiped)::

    python bench/pages.py --database-url URL [--leads 100000 --leads 1000000] [--runs 5]

For each size: the schema is dropped, migrated, and filled in SQL with
``generate_series`` (never the ORM): N leads from 10 reps over a year (a third converted,
a third of the open ones with an open task, the next-action date kept on the lead as the
app keeps it), N/10 companies, N/10 contacts, N/5 opportunities over the stages (some won,
some lost), N/4 activities. The indexes of the big tables are dropped before the fill and
created again after it (as a restore does: much faster than growing them row by row), then
``VACUUM ANALYZE`` (as autovacuum would).

Then a coordinator signs in through Flask's test client and each page is fetched
``--runs`` times after one warm-up: the median server time, the number of SQL statements
it sent and the rows those returned. A page that reads a bounded number of rows shows the
same statements and rows at both sizes, and about the same time.

This prints figures; it is a bench, not part of the test run.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scratch import scratch_app, scratch_database  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from quickcrm.db import make_engine  # noqa: E402
from quickcrm.domain import users  # noqa: E402

PAGES = (
    "/",
    "/leads/",
    "/leads/review",
    "/agenda",
    "/agenda?overdue_after={overdue_after}",
    "/companies/",
    "/companies/?after={company_after}",
    "/contacts/",
    "/contacts/?after={contact_after}",
    "/opportunities",
    "/opportunities/list",
    "/forecast",
    "/meeting",
    "/companies/1",
    "/companies/1/opportunities/new",
    "/contacts/1",
)
PASSWORD = "bench pages password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BIG_TABLES = ("lead", "activity", "company", "contact", "opportunity")

# :n is the number of leads; every other table is sized from it. Ids start at 1 (fresh
# schema), reps are users 2..11 (user 1 is the coordinator).
FILL = [
    """
    INSERT INTO company (name, name_key, type, owner_id, created_at, updated_at)
    SELECT 'Company ' || i, 'company ' || i, 'prospect', 2 + i % 10, now(), now()
    FROM generate_series(1, :n / 10) AS i
    """,
    """
    INSERT INTO contact (company_id, name, email, owner_id, created_at, updated_at)
    SELECT i, 'Contact ' || i, 'contact' || i || '@example.com', 2 + i % 10, now(), now()
    FROM generate_series(1, :n / 10) AS i
    """,
    """
    INSERT INTO opportunity (company_id, contact_id, title, value, stage_id, probability,
        probability_manual, close_on, owner_id, outcome, lost_reason, closed_at, created_at,
        updated_at)
    SELECT 1 + i % (:n / 10), 1 + i % (:n / 10), 'Deal ' || i, (i % 200) * 500, s.id,
        s.probability, false, current_date + (i % 545 - 180), 2 + i % 10, s.outcome,
        CASE WHEN s.outcome = 'lost' THEN 'Price' END,
        CASE WHEN s.outcome <> 'open' THEN now() - (i % 365) * interval '1 day' END,
        now(), now()
    FROM generate_series(1, :n / 5) AS i
    JOIN stage AS s ON s.position = 1 + i % (SELECT count(*) FROM stage)
    """,
    """
    INSERT INTO lead (uuid, name, company_name, email, note, temperature, source, status,
        disqualified_reason,
        owner_id, captured_at, opportunity_id, company_id, created_at, updated_at)
    SELECT md5(i::text)::uuid, 'Person ' || i,
        (ARRAY['Acme','Globex','Initech','Umbrella','Hooli'])[1 + i % 5] || ' ' || i % 997,
        'person' || i || '@example' || i % 991 || '.com',
        CASE WHEN i % 3 = 0 THEN 'met at the stand' END,
        (ARRAY['cold','warm','hot'])[1 + i % 3],
        (ARRAY['Expo','Website','Referral','Cold call','Webinar'])[1 + i % 5],
        CASE WHEN i % 3 = 0 THEN 'converted' WHEN i % 7 = 0 THEN 'disqualified'
             ELSE 'open' END,
        CASE WHEN i % 3 <> 0 AND i % 7 = 0 THEN 'No budget' END,
        2 + i % 10, now() - (i % 525600) * interval '1 minute',
        CASE WHEN i % 3 = 0 THEN 1 + i % (:n / 5) END,
        CASE WHEN i % 3 = 0 THEN 1 + i % (:n / 10) END,
        now(), now()
    FROM generate_series(1, :n) AS i
    """,
    """
    INSERT INTO activity (kind, text, due_on, done, author_id, assignee_id, lead_id,
        created_at, updated_at)
    SELECT 'task', 'Follow up', current_date + (i % 40 - 10), false,
        2 + i % 10, CASE WHEN i % 10 = 0 THEN 1 ELSE 2 + i % 10 END, i, now(), now()
    FROM generate_series(1, :n) AS i
    WHERE i % 3 = 1 AND i % 7 <> 0
    """,
    """
    UPDATE lead SET next_action_on = activity.due_on
    FROM activity WHERE activity.lead_id = lead.id
    """,
    # A busy customer, company 1: N/1,000 more contacts and opportunities, and N/100 calls
    # on its timeline, half of them with its first contact.
    """
    INSERT INTO contact (company_id, name, email, owner_id, created_at, updated_at)
    SELECT 1, 'Colleague ' || i, 'colleague' || i || '@example.com', 2, now(), now()
    FROM generate_series(1, :n / 1000) AS i
    """,
    """
    INSERT INTO opportunity (company_id, contact_id, title, value, stage_id, probability,
        probability_manual, close_on, owner_id, outcome, created_at, updated_at)
    SELECT 1, 1, 'Repeat order ' || i, 1000, s.id, s.probability, false,
        current_date + i % 90, 2, 'open', now(), now()
    FROM generate_series(1, :n / 1000) AS i
    JOIN stage AS s ON s.position = 1 + i % 4
    """,
    """
    INSERT INTO activity (kind, text, done, done_at, author_id, assignee_id, company_id,
        contact_id, created_at, updated_at)
    SELECT 'call', 'Called about the order', true, now() - i * interval '1 hour', 2, 2, 1,
        CASE WHEN i % 2 = 0 THEN 1 END, now() - i * interval '1 hour', now()
    FROM generate_series(1, :n / 100) AS i
    """,
]


def build(url: str, n: int):
    engine = make_engine(url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("bench/pages.py fills PostgreSQL with generate_series: give its URL")
    engine.dispose()
    engine = scratch_database(url)
    app = scratch_app(url)
    maker = app.extensions["quickcrm.sessionmaker"]
    method = app.config["PASSWORD_METHOD"]
    with maker() as session:
        users.create_user(session, "coord@example.com", PASSWORD, role="coordinator",
                          name="Cora", password_method=method)  # fmt: skip
        for i in range(10):
            users.create_user(session, f"rep{i}@example.com", PASSWORD, role="rep",
                              name=f"Rep {i}", password_method=method)  # fmt: skip
        session.commit()
    started = time.perf_counter()
    with engine.begin() as conn:
        indexes = list(
            conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                    " AND tablename = ANY(:tables) AND indexname NOT IN"
                    " (SELECT conname FROM pg_constraint)"
                ),
                {"tables": list(BIG_TABLES)},
            )
        )
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        for statement in FILL:
            conn.execute(text(statement), {"n": n})
        for _, definition in indexes:
            conn.execute(text(definition))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"\n{n:,} leads filled, indexed and analysed in {time.perf_counter() - started:.0f} s")
    engine.dispose()
    return app


def later_pages(app) -> dict[str, str]:
    """Where the second page of the agenda's overdue section and of the companies and
    contacts lists starts (their keyset), so a later page is measured too."""
    maker = app.extensions["quickcrm.sessionmaker"]
    with maker() as session:
        overdue = session.execute(
            text(
                "SELECT due_on, id FROM activity WHERE assignee_id = 1 AND NOT done"
                " AND due_on < current_date ORDER BY due_on, id LIMIT 1 OFFSET 29"
            )
        ).one()
        return {
            "overdue_after": f"{overdue.due_on.isoformat()}.{overdue.id}",
            "company_after": session.scalar(
                text("SELECT id FROM company ORDER BY name, id LIMIT 1 OFFSET 99")
            ),
            "contact_after": session.scalar(
                text("SELECT id FROM contact ORDER BY name, id LIMIT 1 OFFSET 99")
            ),
        }


def measure(app, runs: int) -> dict[str, tuple[float, int, int]]:
    keys = later_pages(app)
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": "coord@example.com", "password": PASSWORD,
                                "csrf_token": token})  # fmt: skip
    engine = app.extensions["quickcrm.engine"]
    counts = {"statements": 0, "rows": 0}

    def before(*_args):
        counts["statements"] += 1

    def after(_conn, cursor, *_args):
        counts["rows"] += max(cursor.rowcount, 0)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    figures = {}
    for path in PAGES:
        times = []
        for run in range(runs + 1):
            counts.update(statements=0, rows=0)
            started = time.perf_counter()
            response = client.get(path.format(**keys))
            took = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
            if run:
                times.append(took)
        figures[path] = (statistics.median(times), counts["statements"], counts["rows"])
        print(f"  {path:<22} {figures[path][0]:8.1f} ms  {counts['statements']:3} statements"
              f"  {counts['rows']:6} rows")  # fmt: skip
    app.extensions["quickcrm.engine"].dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a scratch PostgreSQL database")
    parser.add_argument("--leads", type=int, action="append")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = args.leads or [100_000, 1_000_000]
    results = {n: measure(build(args.database_url, n), args.runs) for n in sizes}
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        print(f"\npage: time at {big:,} / time at {small:,} leads (a ratio), statements, rows")
        for path in PAGES:
            (t1, s1, r1), (t2, s2, r2) = results[small][path], results[big][path]
            print(f"  {path:<22} x{t2 / t1:5.2f}   {s1} -> {s2} statements   {r1} -> {r2} rows")


if __name__ == "__main__":
    main()
