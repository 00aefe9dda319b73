"""How fast are Possible duplicates and a merge with 100,000 leads?

Run from the repository root::

    python bench/merge.py [--leads 100000] [--runs 20] [--database-url URL]

Builds bench/leads.py's database (N leads from 10 reps, every name, email and company
different), then adds 2 % more leads that repeat an open lead's email, phone or name (the
same person captured twice), and times — server side, in process — each of:

- the Possible duplicates page (every kind of key, 20 groups each), and its next page of one
  kind through the ``after=`` key;
- the page that picks the lead to keep (likely duplicates and a search), the compare page;
- a merge (POST, one transaction) and its undo.

It prints the median and 95th percentile of each in milliseconds. It asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from leads import CSRF, PASSWORD, build, getter, report, timed
from sqlalchemy import insert, select, text

from quickcrm.models import Lead, LeadMerge


def add_duplicates(engine, open_ids: list[int], share: float = 0.02) -> list[tuple[int, int]]:
    """Leads that repeat the email, the phone or the name of an open lead: (copy, original)."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    originals = rng.sample(open_ids, int(len(open_ids) * share))
    with engine.begin() as conn:
        found = conn.execute(
            select(Lead.id, Lead.name, Lead.email, Lead.owner_id).where(Lead.id.in_(originals))
        ).all()
        rows = []
        for n, (_id, name, email, owner_id) in enumerate(found):
            kind = n % 3
            rows.append({
                "uuid": uuid.uuid4(), "owner_id": owner_id, "status": "open",
                "name": name if kind == 2 else f"{name} (web)",
                "email": email if kind == 0 else None,
                "phone": f"+44 20 7946 {n:04d}" if kind == 1 else None,
                "source": "Website", "captured_at": now, "created_at": now, "updated_at": now,
            })  # fmt: skip
        if rows:
            conn.execute(insert(Lead), rows)
        # The phone copies need an original with the same phone.
        for n, (lead_id, *_rest) in enumerate(found):
            if n % 3 == 1:
                phone = f"020 7946 {n:04d}"
                conn.execute(
                    Lead.__table__.update()
                    .where(Lead.id == lead_id)
                    .values(phone=phone, phone_tail=phone.replace(" ", "")[-9:])
                )
        copies = conn.scalars(
            select(Lead.id).where(Lead.source == "Website", Lead.captured_at == now)
        )
        pairs = list(zip(copies, [row[0] for row in found], strict=False))
    # As autovacuum leaves a table that has settled: the key indexes are read index-only
    # (bench/leads.py's bulk load leaves every row to be checked against the table).
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE lead"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"{len(rows):,} duplicates added")
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="quickcrm-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    app, engine, open_ids = build(url, args.leads)
    pairs = add_duplicates(engine, open_ids)
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": "coord@example.com", "password": PASSWORD,
                                "csrf_token": token})  # fmt: skip
    token = CSRF.search(client.get("/leads/").get_data(as_text=True)).group(1)

    report("possible duplicates, every kind", timed(getter(client, "/leads/duplicates"), args.runs))
    page = client.get("/leads/duplicates?by=email").get_data(as_text=True)
    more = re.search(r'href="(/leads/duplicates\?by=email&amp;after=[^"]+)"', page)
    if more:
        url_more = more.group(1).replace("&amp;", "&")
        report(
            "possible duplicates, next page of emails", timed(getter(client, url_more), args.runs)
        )
    copy, original = pairs[0]
    report("merge into…: likely duplicates",
           timed(getter(client, f"/leads/{copy}/merge"), args.runs))  # fmt: skip
    report("merge into…: search 'person 4242'",
           timed(getter(client, f"/leads/{copy}/merge?q=person+4242"), args.runs))  # fmt: skip
    report("compare page", timed(getter(client, f"/leads/{copy}/merge/{original}"), args.runs))
    todo = iter(pairs[1:])
    merged: list[int] = []

    def merge(_i: int):
        copy, original = next(todo)
        response = client.post(f"/leads/{copy}/merge/{original}", data={"csrf_token": token})
        merged.append(copy)
        return response

    report("merge (POST, one transaction)", timed(merge, args.runs))
    with app.extensions["quickcrm.sessionmaker"]() as session:
        merges = iter(session.scalars(select(LeadMerge.id).order_by(LeadMerge.id)).all())

    def undo(_i: int):
        return client.post(f"/leads/merges/{next(merges)}/undo", data={"csrf_token": token})

    report("undo a merge (POST)", timed(undo, args.runs))
    engine.dispose()
    app.extensions["quickcrm.engine"].dispose()


if __name__ == "__main__":
    main()
