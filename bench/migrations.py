"""How long does each migration take on a database with 100,000 leads?

Run from the repository root::

    python bench/migrations.py [--leads 100000] [--base 0003_pipeline] [--database-url URL]

Builds bench/leads.py's database (a SQLite file in a temporary folder, or the PostgreSQL
database given — its schema is dropped and made again: point it at a scratch database):
``--leads`` leads from 10 reps, a third of the open ones with a follow-up task. Then takes
it down to ``--base`` with the migrations' own downgrades (timed as a whole) and up again
one revision at a time, timing each: the time ``flask db upgrade`` spends on that revision
with this many leads (what the revisions that rewrite or index the lead table cost is
the figure docs/deployment.md gives for an upgrade). The rows stay through the downgrade;
what the downgraded revisions added (columns, indexes, search tables) is rebuilt by their
upgrades from the rows, as on a real database upgraded from that release.

It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.leads import build  # noqa: E402
from quickcrm import migrate  # noqa: E402
from quickcrm.models import Activity, Lead  # noqa: E402

SLOW = 1.0  # seconds: a revision at least this slow is marked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--base", default="0003_pipeline", help="the revision to go down to")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (else SQLite)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="quickcrm-migrations-"))
    app, engine, _ = build(
        args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}", args.leads
    )
    app.extensions["quickcrm.engine"].dispose()
    url = engine.url.render_as_string(hide_password=False)
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    order = [revision.revision for revision in reversed(list(script.walk_revisions()))]
    if args.base not in order:
        parser.error(f"--base: no revision {args.base}")
    with engine.connect() as conn:
        leads = conn.scalar(select(func.count()).select_from(Lead))
        activities = conn.scalar(select(func.count()).select_from(Activity))

    started = time.perf_counter()
    migrate.downgrade(engine, args.base)
    down = time.perf_counter() - started
    print(
        f"{engine.dialect.name}: {leads:,} leads, {activities:,} activities;"
        f" down from {order[-1]} to {args.base} in {down:.1f} s; then up one revision at a time:"
    )
    total = 0.0
    for revision in order[order.index(args.base) + 1 :]:
        started = time.perf_counter()
        migrate.upgrade(engine, revision)
        took = time.perf_counter() - started
        total += took
        mark = "  <-" if took >= SLOW else ""
        print(f"  {revision:<40} {took:7.2f} s{mark}")
    print(f"  {'all of them':<40} {total:7.2f} s")
    engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
