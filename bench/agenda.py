"""How fast is a rep's agenda with 12,000 open items due this week?

Run from the repository root::

    python bench/agenda.py [--items 12000] [--url URL]

Fills a fresh database (a temporary SQLite file, or the empty PostgreSQL database named by
``--url`` — its tables are dropped and recreated) with one rep's open follow-ups on leads:
a tenth overdue, a tenth due today, the rest spread over the coming week (plus as many
done ones, and another rep's). Then times ``quickcrm.domain.agenda.agenda`` — the totals of
the three sections and one page of each (median of 5 runs, after one warm-up) — and the
nav badge's count. The target is under 30 ms at 12,000. This prints figures; it is not a
test.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scratch import scratch_database  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from quickcrm.domain import agenda  # noqa: E402
from quickcrm.models import Activity, Lead, User  # noqa: E402


def fill(session: Session, n_items: int, today: date) -> int:
    rng = random.Random(14)
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    session.execute(
        insert(User),
        [
            {"email": f"rep{i}@bench", "name": f"Rep {i}", "password_hash": "x", "role": "rep",
             "active": True, "created_at": now, "updated_at": now}
            for i in range(2)
        ],
    )  # fmt: skip
    rep, other = session.scalars(select(User.id).order_by(User.id)).all()
    session.execute(
        insert(Lead),
        [
            {"uuid": uuid.uuid4(), "name": f"Lead {i}", "company_name": f"Company {i % 500}",
             "note": f"Met at stand {i % 90}\nWants a quote for {i % 40 + 2} desks",
             "temperature": rng.choice(["cold", "warm", "hot", None]), "status": "open",
             "owner_id": rep, "captured_at": now, "created_at": now, "updated_at": now}
            for i in range(n_items)
        ],
    )  # fmt: skip
    leads = session.scalars(select(Lead.id)).all()
    rows = []
    for i, lead in enumerate(leads):
        roll = rng.random()
        due = (
            today - timedelta(days=rng.randint(1, 30))
            if roll < 0.1
            else today
            if roll < 0.2
            else today + timedelta(days=rng.randint(1, 7))
        )
        for assignee, done in ((rep, False), (rep, True), (other, False)):
            rows.append(
                {"kind": "task", "text": f"Follow up {i}", "due_on": due, "done": done,
                 "author_id": rep, "assignee_id": assignee, "lead_id": lead,
                 "created_at": now, "updated_at": now}
            )  # fmt: skip
    for start in range(0, len(rows), 10000):
        session.execute(insert(Activity), rows[start : start + 10000])
    session.commit()
    return rep


def timed(call, runs: int = 5, clock=time.perf_counter) -> float:
    call()
    times = []
    for _ in range(runs):
        start = clock()
        call()
        times.append(clock() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=12_000)
    parser.add_argument("--url", help="an EMPTY PostgreSQL database to use (it is wiped)")
    args = parser.parse_args()
    engine = scratch_database(args.url)
    today = date.today()
    with Session(engine) as session:
        started = time.perf_counter()
        rep = fill(session, args.items, today)
        print(
            f"{engine.dialect.name}: {args.items:,} open items of one rep (and as many done, "
            f"and another rep's) filled in {time.perf_counter() - started:.1f} s"
        )
        if engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
            # Kept: statistics gathered in a transaction that is rolled back are lost.
            session.commit()
        result = agenda.agenda(session, rep, today)
        print(
            f"  sections: {result.overdue.total} overdue, {result.today.total} today, "
            f"{result.this_week.total} this week; {agenda.SECTION_LIMIT} shown of each"
        )
    gc.collect()

    def fresh(work):
        # A new session per call, as each request has (quickcrm/db.py).
        def call():
            with Session(engine) as request_session:
                return work(request_session)

        return call

    with Session(engine) as session:
        # Where the week's 20th page starts: after its 570th item (keyset paging).
        last = session.execute(
            select(Activity.due_on, Activity.id)
            .where(Activity.assignee_id == rep, Activity.done.is_(False))
            .where(Activity.due_on > today, Activity.due_on <= today + timedelta(days=7))
            .order_by(Activity.due_on, Activity.id)
            .offset(19 * agenda.SECTION_LIMIT - 1)
            .limit(1)
        ).one()
    later = {"week": tuple(last)}
    checks = {
        "agenda, first page": fresh(lambda s: agenda.agenda(s, rep, today)),
        "agenda, week page 20": fresh(lambda s: agenda.agenda(s, rep, today, after=later)),
        "badge (due count)": fresh(lambda s: agenda.due_count(s, rep, today)),
    }
    # Wall time, and the CPU time of this process (SQLite works in it): on a shared, busy
    # machine the second says what the code costs, the first what waiting added.
    for label, call in checks.items():
        wall, cpu = timed(call), timed(call, clock=time.process_time)
        print(f"  {label:<24} {wall:7.1f} ms wall, {cpu:7.1f} ms CPU (medians of 5)")
    engine.dispose()


if __name__ == "__main__":
    main()
