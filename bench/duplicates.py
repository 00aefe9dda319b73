"""How long does a duplicate hint take at 100,000 leads and 100,000 contacts?

Run from the repository root, with a scratch PostgreSQL database (it is wiped), or none for
a SQLite file of its own::

    python bench/duplicates.py [--database-url URL] [--rows 100000] [--typed 300]

Fills N leads from 10 reps (names from 60 first and 120 last names, so a name is shared by
about 14 leads, as real names are, and one in a hundred a John Smith; work and free-mail
addresses; UK phones; 1 % merged into another), N contacts at N/5 companies (names with
legal forms, email domains, phones), then
times quickcrm/domain/duplicates.find — the function GET /duplicates calls, server side, in
process, no network — for typed values, half of them hits (an existing name in another
order and case, an email in capitals, a phone in national format, a company with another
legal form) and half misses, one field at a time as static/js/hints.js asks, and all four
at once (a form filled by a card). The **floor** is a lead read by primary key in the same
run: the cheapest statement there is here. Each statement a look-up sends is EXPLAINed: an
index look-up, never a scan of the leads, contacts or companies.

It prints the median and 95th percentile in milliseconds, and their ratio to the floor. It
asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scratch import scratch_database  # noqa: E402
from sqlalchemy import event, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from quickcrm.domain import duplicates, matching  # noqa: E402
from quickcrm.domain.keys import email_key, person_key, phone_tail  # noqa: E402
from quickcrm.models import Company, Contact, Lead, User  # noqa: E402

FIRST = ("Maria", "Jan", "Petra", "Tomás", "Zoë", "Ann", "Chris", "Lena", "Omar", "Yuki",
         "Élodie", "Søren", "Ana", "Ben", "Chloé", "David", "Eva", "Farid", "Greta", "Hugo",
         "Ines", "Jonas", "Kai", "Lars", "Mia", "Nils", "Olga", "Pablo", "Quinn", "Rosa",
         "Sami", "Tara", "Uma", "Vera", "Will", "Xenia", "Yara", "Zack", "Aoife", "Bjørn",
         "Carmen", "Dmitri", "Emma", "Finn", "Gaby", "Hana", "Ivan", "Julia", "Karl", "Lucía",
         "Marek", "Nora", "Oscar", "Paula", "Rémi", "Sofia", "Theo", "Ulla", "Viktor",
         "Wiebke")  # fmt: skip
LAST = [f"{stem}{end}" for stem in ("Novak", "Dvořák", "Svoboda", "Müller", "Schmidt", "Kowal",
        "Rossi", "García", "Martin", "Smith", "Jones", "Brown", "Nielsen", "Jansen", "Dubois",
        "Costa", "Silva", "Horvat", "Nagy", "Popescu", "Ivanov", "Berg", "Lund", "Moreau")
        for end in ("", "son", "ová", "er", "i")]  # fmt: skip
WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Soylent",
         "Cyberdyne", "Vandelay", "Wonka", "Oceanic", "Massive", "Dynamic", "Nordic")  # fmt: skip
FORMS = ("Ltd", "GmbH", "Inc.", "S.A.R.L.", "BV", "", "Limited", "plc")
FREE = ("gmail.com", "outlook.com", "yahoo.co.uk", "web.de")
COMMON = "John Smith"


def uk_phone(number: int) -> tuple[str, str]:
    """A UK mobile as a card prints it, and its E.164 form (validation.phone_key's)."""
    digits = f"{number:06d}"
    return f"+44 7700 {digits}", f"+447700{digits}"


def national(phone: str) -> str:
    """The same number as a rep types it: "07700 900123"."""
    return "0" + phone.removeprefix("+44 ")


def fill(engine, rows: int, rng: random.Random) -> dict[str, list]:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(User), [
            {"email": f"rep{i}@example.com", "name": f"Rep {i}", "password_hash": "x",
             "role": "rep", "created_at": now, "updated_at": now}
            for i in range(10)
        ])  # fmt: skip
        reps = list(conn.scalars(select(User.id)))
        companies, company_rows = [], []
        for i in range(rows // 5):
            base = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
            name = f"{base} {rng.choice(FORMS)}".strip()
            shown, key = uk_phone(500_000 + i)
            companies.append(base)
            company_rows.append({
                "name": name, "name_key": matching.name_key(name), "type": "prospect",
                "email_domain": f"firm{i}.example", "phone": shown, "phone_key": key,
                "created_at": now, "updated_at": now,
            })  # fmt: skip
        for start in range(0, len(company_rows), 5000):
            conn.execute(insert(Company), company_rows[start : start + 5000])
        company_ids = list(conn.scalars(select(Company.id).order_by(Company.id)))
        leads, contacts = [], []
        for i in range(rows):
            # One lead in a hundred is a John Smith: a name that many share.
            name = COMMON if i % 100 == 7 else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            domain = rng.choice(FREE) if i % 3 == 0 else f"firm{rng.randrange(rows // 5)}.example"
            email = f"{name.split()[0].lower()}.{i}@{domain}"
            phone, _ = uk_phone(i % 500_000)
            leads.append({
                "uuid": uuid.uuid4(), "name": name, "name_key": person_key(name),
                "company_name": f"{rng.choice(companies)} Ltd", "email": email,
                "email_key": email_key(email), "phone": phone, "phone_tail": phone_tail(phone),
                "note": "met at the stand", "status": rng.choice(("open",) * 8 + ("converted",)),
                "owner_id": rng.choice(reps),
                "captured_at": now - timedelta(minutes=rng.randrange(525_600)),
                "created_at": now, "updated_at": now,
            })  # fmt: skip
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            email = f"{name.split()[0].lower()}.c{i}@firm{i % (rows // 5)}.example"
            phone, key = uk_phone(100_000 + i % 400_000)
            contacts.append({
                "company_id": company_ids[i % len(company_ids)], "name": name,
                "name_key": person_key(name), "email": email, "phone": phone,
                "phone_key": key, "created_at": now, "updated_at": now,
            })  # fmt: skip
        for start in range(0, rows, 5000):
            conn.execute(insert(Lead), leads[start : start + 5000])
            conn.execute(insert(Contact), contacts[start : start + 5000])
        # 1 % merged into another lead: never told.
        conn.execute(text("UPDATE lead SET merged_into_id = id - 1 WHERE id % 100 = 0"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return {"leads": leads, "contacts": contacts, "companies": companies}


def typed_values(data: dict, n: int, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """(label, value) per field: hits as a rep would type them, and misses."""
    leads, contacts, companies = data["leads"], data["contacts"], data["companies"]

    def hit_name():
        first, last = rng.choice(leads)["name"].split()
        return f"{last.upper()}, {first.lower()}"

    def miss_name():
        return f"{rng.choice(FIRST)} Q{rng.randrange(10**6)}"

    return {
        "name": [("hit", hit_name()) for _ in range(n)] + [("miss", miss_name()) for _ in range(n)],
        "email": [("hit", rng.choice(leads + contacts)["email"].upper()) for _ in range(n)]
        + [("miss", f"nobody.{i}@nowhere{i}.example") for i in range(n)],
        "phone": [("hit", national(rng.choice(leads + contacts)["phone"])) for _ in range(n)]
        + [("miss", f"020 7946 {rng.randrange(10**4):04d}") for _ in range(n)],
        "company_name": [("hit", f"{rng.choice(companies).upper()} Limited") for _ in range(n)]
        + [("miss", f"Nowhere {i} GmbH") for i in range(n)],
    }


def quantiles(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


def timed(work, values) -> list[float]:
    out = []
    for value in values:
        started = time.perf_counter()
        work(value)
        out.append((time.perf_counter() - started) * 1000)
    return out


def plans(engine, session: Session, typed: duplicates.Typed, verbose: bool) -> list[str]:
    """The statements one look-up sends, each as the database plans it: '! scan' if a step
    reads every row of the leads, contacts or companies (the ten users' table, joined for
    the owner's name, is read whole when that is cheaper than its index: ten rows)."""
    sent = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        duplicates.find(session, typed, "GB")
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    verdicts = []
    raw = session.connection().connection.driver_connection
    for statement, parameters in sent:
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN " + statement, parameters)
                plan = [row[0] for row in cursor.fetchall()]
            scan = any(re.search(r"Seq Scan on (lead|contact|company)\b", line) for line in plan)
        else:
            plan = [row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
            scan = any(re.match(r"SCAN (lead|contact|company)\b", line) for line in plan)
        table = statement.split("FROM", 1)[1].split()[0]
        verdicts.append(f"{'! scan' if scan else 'index'} ({table})")
        if verbose:
            print("   ", " / ".join(line.strip() for line in plan))
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (else SQLite)")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--typed", type=int, default=300, help="hits (and misses) per field")
    parser.add_argument("--plans", action="store_true", help="print each statement's plan")
    args = parser.parse_args()
    rng = random.Random(29)
    engine = scratch_database(args.database_url)
    started = time.perf_counter()
    data = fill(engine, args.rows, rng)
    took = time.perf_counter() - started
    print(f"{engine.dialect.name}: {args.rows:,} leads, {args.rows:,} contacts and "
          f"{args.rows // 5:,} companies filled in {took:.0f} s")  # fmt: skip
    values = typed_values(data, args.typed, rng)
    with Session(engine) as session:
        for field in duplicates.FIELDS:
            hit = next(value for label, value in values[field] if label == "hit")
            typed = duplicates.Typed(**{field: hit})
            print(f"  plans, {field}: {', '.join(plans(engine, session, typed, args.plans))}")
        top = session.scalar(select(Lead.id).order_by(Lead.id.desc()).limit(1))
        ids = [rng.randrange(1, top + 1) for _ in range(4 * args.typed)]

        def by_key(lead_id):
            return session.execute(select(Lead.id, Lead.name).where(Lead.id == lead_id)).all()

        timed(by_key, ids[:50])  # warm up
        floor = quantiles(timed(by_key, ids))
        figures = {}
        found = {}
        for field, pairs in values.items():
            for label in ("hit", "miss"):
                typed = [duplicates.Typed(**{field: v}) for lab, v in pairs if lab == label]
                counts = []

                def look(t):
                    counts.append(len(duplicates.find(session, t, "GB")))  # noqa: B023

                timed(look, typed[:20])  # warm up
                counts.clear()
                figures[f"{field}, {label}"] = quantiles(timed(look, typed))
                found[f"{field}, {label}"] = statistics.mean(counts)
        common = [duplicates.Typed(name=n) for n in ("smith john", "JOHN SMITH", "Smith, John")]
        figures[f"name shared by {args.rows // 100:,} leads"] = quantiles(
            timed(lambda t: duplicates.find(session, t, "GB"), common * (args.typed // 3))
        )
        found[f"name shared by {args.rows // 100:,} leads"] = float("nan")
        hits = {field: [v for lab, v in pairs if lab == "hit"] for field, pairs in values.items()}
        forms = [
            duplicates.Typed(**{field: hits[field][i] for field in hits}) for i in range(args.typed)
        ]
        figures["whole form (all four), hits"] = quantiles(
            timed(lambda t: duplicates.find(session, t, "GB"), forms)
        )
        found["whole form (all four), hits"] = float("nan")
    print(f"\n{'look-up, ms':<34} {'p50':>7} {'p95':>7} {'p50/floor':>10} {'p95/floor':>10} "
          f"{'found':>6}")  # fmt: skip
    print(f"{'floor: a lead by primary key':<34} {floor[0]:7.2f} {floor[1]:7.2f}")
    for label, (p50, p95) in figures.items():
        print(f"{label:<34} {p50:7.2f} {p95:7.2f} {p50 / floor[0]:10.1f} {p95 / floor[1]:10.1f} "
              f"{found[label]:6.1f}")  # fmt: skip
    engine.dispose()


if __name__ == "__main__":
    main()
