"""How does the leads CSV export (and the JSON backup) stream 100,000 leads?

Run from the repository root::

    python bench/export.py [--leads 100000] [--database-url URL] [--revision REV]

Builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL database
given with ``--database-url`` — its ``public`` schema is dropped first) with N leads from
10 reps, written with multi-row INSERTs (not the ORM, row by row). The lead search index of
revision ``0005_lead_search`` costs more to keep up row by row than to build once, so the
leads are written at the revision before it and the database is then upgraded to the
latest one (or to ``--revision``: an earlier one measures "before" a schema change in the
same session), which builds the index over them.

Then, through Flask's test client as a coordinator (who exports everyone's leads), it
downloads ``/leads/export.csv`` (the list's default, open leads: every lead here) and
``/leads/export.csv?status=all`` (the same leads, without the status index) and, as an
admin, ``/admin/backup.json``, reading each response chunk by chunk as a browser would, and
prints the time to the first byte, to the first rows, the total time, the size, and the
process's peak resident memory (``resource.getrusage``) before and after.

Last, the restore: the JSON backup written to a file (``flask backup --json``'s writer)
and loaded into a new SQLite database migrated for it (``flask restore``'s reader), with
its time and the peak memory before and after. It asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scratch import scratch_app, scratch_database  # noqa: E402
from sqlalchemy import column, insert, select, table  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from quickcrm import migrate  # noqa: E402
from quickcrm.db import make_engine  # noqa: E402
from quickcrm.domain import backup  # noqa: E402
from quickcrm.models import Lead, User  # noqa: E402

PASSWORD = "correct horse battery"  # noqa: S105 - throwaway users in a scratch database
BEFORE_SEARCH_INDEX = "0004_lead_next_action"
SOURCES = ("Expo", "Website", "Referral", "Cold call", "Webinar")
WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell")
USER_COLUMNS = ("email", "name", "password_hash", "role", "active", "created_at", "updated_at")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def at_revision(model, *names: str):
    """The model's table with only ``names``: what the database has at BEFORE_SEARCH_INDEX
    (the models have columns added since, which an insert of the model would name)."""
    return table(model.__tablename__, *(column(n, model.__table__.c[n].type) for n in names))


def build(url: str, n: int, revision: str = "head"):
    engine = scratch_database(url, BEFORE_SEARCH_INDEX)
    app = scratch_app(url)
    method = app.config["PASSWORD_METHOD"]
    user = at_revision(User, "id", *USER_COLUMNS)
    password_hash = generate_password_hash(PASSWORD, method=method)
    now = datetime.now(UTC)
    people = [("coord@example.com", "Coordinator", "coordinator"),
              ("admin@example.com", "Admin", "admin"),
              *((f"rep{i}@example.com", f"Rep {i}", "rep") for i in range(10))]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(user),
            [dict(zip(USER_COLUMNS, (email, name, password_hash, role, True, now, now),
                      strict=True)) for email, name, role in people],
        )  # fmt: skip
        reps = list(conn.scalars(select(user.c.id).where(user.c.role == "rep").order_by(user.c.id)))
    rng = random.Random(42)
    started = time.perf_counter()
    with engine.begin() as conn:
        for chunk in range(0, n, 5000):
            rows = []
            for i in range(chunk, min(n, chunk + 5000)):
                rows.append({
                    "uuid": uuid.uuid4(), "name": f"Person {i}",
                    "company_name": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i % 997} Ltd",
                    "email": f"person{i}@example{i % 991}.com",
                    "phone": f"+44 20 7946 {i % 10000:04d}",
                    "note": rng.choice(("met at the stand, wants a quote", "=1+1", None)),
                    "temperature": rng.choice(("cold", "warm", "hot", None)),
                    "source": rng.choice(SOURCES), "status": "open",
                    "owner_id": rng.choice(reps),
                    "captured_at": now - timedelta(minutes=rng.randrange(525600)),
                    "next_action_on": (now + timedelta(days=rng.randrange(-10, 30))).date()
                    if i % 3 == 0 else None,
                    "created_at": now, "updated_at": now,
                })  # fmt: skip
            conn.execute(insert(at_revision(Lead, *rows[0])), rows)
    written = time.perf_counter() - started
    migrate.upgrade(engine, revision)
    indexed = time.perf_counter() - started - written
    print(f"{n:,} leads written in {written:.1f} s, search index built in {indexed:.1f} s "
          f"({engine.dialect.name}, revision {revision})")  # fmt: skip
    return app, engine


def signed_in(app, email: str):
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    return client


def download(client, url: str) -> None:
    before = peak_rss_mb()
    started = time.perf_counter()
    response = client.get(url, buffered=False)
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code}")
    first_byte = first_row = None
    size = lines = 0
    for chunk in response.response:
        now = time.perf_counter() - started
        if first_byte is None:
            first_byte = now
        elif first_row is None:
            first_row = now
        size += len(chunk)
        lines += chunk.count(b"\n")
    total = time.perf_counter() - started
    response.close()
    print(
        f"{url:<32} first byte {first_byte * 1000:6.1f} ms   first rows {first_row * 1000:6.1f} ms"
        f"   total {total:5.2f} s   {size / 1e6:5.1f} MB ({lines:,} lines)"
        f"   peak RSS {before:.0f} MB before, {peak_rss_mb():.0f} MB after"
    )


def restore_json(engine) -> None:
    folder = Path(tempfile.mkdtemp())
    path = folder / "backup.json"
    backup.write_backup(engine, path, as_json=True)
    target = make_engine(f"sqlite:///{folder / 'restored.sqlite3'}")
    migrate.upgrade(target)
    before = peak_rss_mb()
    started = time.perf_counter()
    counts = backup.restore(target, path)
    total = time.perf_counter() - started
    target.dispose()
    print(
        f"{'restore of the JSON backup':<32} {path.stat().st_size / 1e6:5.1f} MB,"
        f" {counts['lead']:,} leads   total {total:5.2f} s"
        f"   peak RSS {before:.0f} MB before, {peak_rss_mb():.0f} MB after"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (it is emptied)")
    parser.add_argument("--revision", default="head", help="migrate up to this revision only")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    app, engine = build(url, args.leads, args.revision)
    coordinator = signed_in(app, "coord@example.com")
    download(coordinator, "/leads/export.csv")  # the list's default: open leads
    download(coordinator, "/leads/export.csv?status=all")
    download(signed_in(app, "admin@example.com"), "/admin/backup.json")
    restore_json(engine)
    engine.dispose()
    app.extensions["quickcrm.engine"].dispose()


if __name__ == "__main__":
    main()
