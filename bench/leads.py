"""How fast is the leads desk with 100,000 leads?

Run from the repository root::

    python bench/leads.py [--leads 100000] [--runs 20] [--database-url URL]

Builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL database
given with ``--database-url`` — its tables are emptied first), migrated with the app's
migrations, with N leads from 10 reps (random temperatures, sources, capture times over
a year, a third with an open next action), signs a coordinator in through Flask's test
client, and times — server side, in process, no network — each of:

- the leads list, first page (open leads, newest first), and page 21 through the keyset
  cursor (``after=``);
- the same sorted by next action (soonest first, leads without one last), and a page from
  the middle of the leads without one;
- a filtered page (hot leads from one source, one owner);
- searches: a word of the company name (many matches), a word of every lead, a name and
  number (few matches, as an htmx fragment), a text no lead has; then one or two letters:
  none, a word of many leads, every lead (too short for the trigram index: since revision
  0012 they find the words starting with them, from the word-prefix index);
- a conversion (POST of the convert page, new company + contact + opportunity).

It prints the median and 95th percentile of each in milliseconds. It asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
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
from sqlalchemy import insert, select, text  # noqa: E402

from quickcrm.domain import users  # noqa: E402
from quickcrm.domain.stages import ensure_default_stages  # noqa: E402
from quickcrm.models import Activity, Lead, Stage, User, next_action_update  # noqa: E402

PASSWORD = "correct horse battery"  # noqa: S105 - throwaway users in a scratch database
SOURCES = ("Expo", "Website", "Referral", "Cold call", "Webinar")
WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell")
STATUSES = ("open",) * 8 + ("converted", "disqualified")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build(url: str, n: int):
    engine = scratch_database(url)
    app = scratch_app(url)
    maker = app.extensions["quickcrm.sessionmaker"]
    rng = random.Random(42)
    with maker() as session:
        ensure_default_stages(session)
        method = app.config["PASSWORD_METHOD"]
        users.create_user(session, "coord@example.com", PASSWORD, role="coordinator",
                          name="Cora", password_method=method)  # fmt: skip
        reps = [
            users.create_user(session, f"rep{i}@example.com", PASSWORD, role="rep",
                              name=f"Rep {i}", password_method=method).id
            for i in range(10)
        ]  # fmt: skip
        session.commit()
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.begin() as conn:
        for chunk in range(0, n, 5000):
            rows = []
            for i in range(chunk, min(n, chunk + 5000)):
                company = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i % 997} Ltd"
                rows.append({
                    "uuid": uuid.uuid4(), "name": f"Person {i}", "company_name": company,
                    "email": f"person{i}@example{i % 991}.com", "phone": None,
                    "note": rng.choice(("met at the stand", "wants a quote", None)),
                    "temperature": rng.choice(("cold", "warm", "hot", None)),
                    "source": rng.choice(SOURCES), "status": (status := rng.choice(STATUSES)),
                    "disqualified_reason": "No budget" if status == "disqualified" else None,
                    "owner_id": rng.choice(reps),
                    "captured_at": now - timedelta(minutes=rng.randrange(525600)),
                    "created_at": now, "updated_at": now,
                })  # fmt: skip
            conn.execute(insert(Lead), rows)
        ids = list(conn.scalars(select(Lead.id).where(Lead.status == "open")))
        tasks = [
            {"kind": "task", "text": "Follow up",
             "due_on": (now + timedelta(days=rng.randrange(-10, 30))).date(),
             "done": False, "author_id": reps[0], "assignee_id": reps[0], "lead_id": lead_id,
             "created_at": now, "updated_at": now}
            for lead_id in ids[::3]
        ]  # fmt: skip
        for chunk in range(0, len(tasks), 5000):
            conn.execute(insert(Activity), tasks[chunk : chunk + 5000])
        conn.execute(next_action_update())  # bulk inserts bypass the session's upkeep
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"{n:,} leads and {len(tasks):,} open actions written in "
          f"{time.perf_counter() - started:.1f} s ({engine.dialect.name})")  # fmt: skip
    return app, engine, ids


def timed(send, runs: int) -> list[float]:
    send(0)  # warm up
    out = []
    for i in range(runs):
        t0 = time.perf_counter()
        response = send(i)
        out.append((time.perf_counter() - t0) * 1000)
        if response.status_code >= 400:
            raise SystemExit(f"request failed: {response.status_code}")
    return out


def report(label: str, timings: list[float]) -> None:
    q = statistics.quantiles(timings, n=20) if len(timings) > 1 else timings * 19
    print(f"{label:<48} median {statistics.median(timings):7.1f} ms   p95 {q[18]:7.1f} ms")


def getter(client, url: str):
    """A request function for ``timed``: GET ``url``."""
    return lambda _i: client.get(url)


def page_after(client, first: str, pages: int) -> str:
    """The URL of the page ``pages`` pages after ``first``, following the Next page links."""
    url = first
    for _ in range(pages):
        html = client.get(url).get_data(as_text=True)
        match = re.search(r'href="(/leads/\?after=[^"]+)"', html)
        if not match:
            break
        url = match.group(1).replace("&amp;", "&")
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--only-search", action="store_true", help="stop after the searches")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="quickcrm-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    app, engine, open_ids = build(url, args.leads)
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": "coord@example.com", "password": PASSWORD,
                                "csrf_token": token})  # fmt: skip
    token = CSRF.search(client.get("/leads/").get_data(as_text=True)).group(1)
    with app.extensions["quickcrm.sessionmaker"]() as session:
        owner = session.scalar(select(User.id).where(User.role == "rep"))
        stage = session.scalar(select(Stage.id).order_by(Stage.position))

    for label, first in (("", "/leads/"), (" by next action", "/leads/?sort=next")):
        report(f"list{label}, first page", timed(getter(client, first), args.runs))
        deep = page_after(client, first, 20)
        report(f"list{label}, page 21 via keyset cursor", timed(getter(client, deep), args.runs))
    undated = f"/leads/?sort=next&after={open_ids[len(open_ids) // 2]}:"
    report(
        "list by next action, a page of leads without", timed(getter(client, undated), args.runs)
    )
    filtered = f"/leads/?status=open&temperature=hot&source=Expo&owner={owner}&due=overdue"
    report("filtered page (hot, Expo, owner, overdue)",
           timed(lambda i: client.get(filtered), args.runs))  # fmt: skip
    report("search 'globex'", timed(lambda i: client.get("/leads/?q=globex"), args.runs))
    report("search 'person' (every lead)", timed(getter(client, "/leads/?q=person"), args.runs))
    report("search, htmx fragment 'person 4242'",
           timed(lambda i: client.get("/leads/?q=person+4242",
                                      headers={"HX-Request": "true"}), args.runs))  # fmt: skip
    report("search 'nobody here' (no match)",
           timed(getter(client, "/leads/?q=nobody+here"), args.runs))  # fmt: skip
    for typed, what in (
        ("zq", "no match"),
        ("gl", "a word of many"),
        ("pe", "every lead"),
        ("q", "one letter"),
    ):
        report(f"search '{typed}' ({what})",
               timed(getter(client, f"/leads/?q={typed}"), args.runs))  # fmt: skip
    if args.only_search:
        return

    fresh = iter(open_ids[1::7])

    def convert(_i: int):
        lead_id = next(fresh)
        data = {"csrf_token": token, "company": "new", "company_name": f"Bench Co {lead_id}",
                "contact": "new", "contact_name": f"Bench Person {lead_id}",
                "create_opportunity": "on", "opportunity_title": "Bench deal", "value": "1000",
                "stage_id": str(stage), "probability": "10", "close_on": ""}  # fmt: skip
        return client.post(f"/leads/{lead_id}/convert", data=data)

    report("conversion (POST, one transaction)", timed(convert, args.runs))
    report(
        "convert page (GET, with suggestions)",
        timed(lambda i: client.get(f"/leads/{open_ids[-1 - i]}/convert"), args.runs),
    )
    engine.dispose()
    app.extensions["quickcrm.engine"].dispose()
    if not args.database_url:
        print(f"database: {workdir / 'bench.sqlite3'}")


if __name__ == "__main__":
    main()
