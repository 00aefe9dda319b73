"""How fast is the weekly meeting at 100,000 leads and 20,000 opportunities?

Run from the repository root::

    python bench/meeting.py [--leads 100000] [--opportunities 20000] [--url URL]

Fills a fresh database as bench/forecast.py does (a temporary SQLite file, or the EMPTY
PostgreSQL database named by ``--url`` — it is wiped), then times *Start this week's
meeting* (the snapshot of every open opportunity), changes a tenth of the opportunities
(stage, value, close date), and times the comparison of the snapshot with now and with a
second snapshot (median of 5 runs after one warm-up). This prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from forecast import fill, timed  # noqa: E402
from scratch import scratch_database  # noqa: E402
from sqlalchemy import select, text, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from quickcrm.domain import meeting  # noqa: E402
from quickcrm.models import Opportunity, Stage, User  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--url", help="an EMPTY PostgreSQL database to use (it is wiped)")
    args = parser.parse_args()
    engine = scratch_database(args.url)
    today = date.today()
    with Session(engine) as session:
        fill(session, args.leads, args.opportunities, today)
        if engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
        coordinator = session.scalars(select(User)).first()
        week_ago = datetime.now(UTC) - timedelta(days=7)
        started = time.perf_counter()
        first = meeting.take_snapshot(session, coordinator, now=week_ago)
        snapshot_ms = (time.perf_counter() - started) * 1000
        open_count = session.scalar(
            select(text("count(*)")).select_from(Opportunity).where(Opportunity.outcome == "open")
        )
        print(
            f"{engine.dialect.name}: {args.leads:,} leads, {args.opportunities:,} opportunities"
            f" ({open_count:,} open)"
        )
        print(f"  {'snapshot (Start the meeting)':<34} {snapshot_ms:8.1f} ms (once)")
        stage = session.scalar(
            select(Stage).where(Stage.outcome == "open").order_by(Stage.position.desc())
        )
        session.execute(
            update(Opportunity)
            .where(Opportunity.id % 10 == 0, Opportunity.outcome == "open")
            .values(
                stage_id=stage.id,
                value=Opportunity.value + 1000,
                close_on=Opportunity.close_on + timedelta(days=30)
                if engine.dialect.name == "postgresql"
                else text("date(close_on, '+30 days')"),
            )
        )
        session.commit()
        second = meeting.take_snapshot(session, coordinator)
        checks = {
            "compare snapshot with now": lambda: meeting.compare(session, first, None, today),
            "compare two snapshots": lambda: meeting.compare(session, first, second, today),
        }
        for label, call in checks.items():
            print(f"  {label:<34} {timed(call):8.1f} ms (median of 5)")
        found = meeting.compare(session, first, None, today)
        print(
            f"  figures: {len(found.moved)} moved, {len(found.slipped)} slipped, "
            f"{len(found.revalued)} revalued (lists capped at {meeting.LIST_LIMIT})"
        )
    engine.dispose()


if __name__ == "__main__":
    main()
