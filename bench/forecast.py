"""How fast are the forecast's figures at 100,000 leads and 20,000 opportunities?

Run from the repository root::

    python bench/forecast.py [--leads 100000] [--opportunities 20000] [--url URL]

Fills a fresh database (a temporary SQLite file, or the empty PostgreSQL database named by
``--url`` — its tables are dropped and recreated) with synthetic leads captured over the
past year by 10 reps from 8 sources, a third of them converted, and opportunities spread
over the stages with close dates from six months back to a year ahead (some won, some
lost, some with a hand-set probability). Then times each domain function of
``quickcrm.domain.forecast`` (median of 5 runs, after one warm-up) over a whole quarter
and a whole year, and the whole forecast page for the last 365 days through Flask's test
client, signed in as a coordinator (routing, session, every query, the template). On
PostgreSQL the tables are vacuumed and analysed after the fill, as autovacuum would.
This prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scratch import scratch_app, scratch_database  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from quickcrm.domain import forecast, users  # noqa: E402
from quickcrm.models import Company, Lead, Opportunity, Stage, User  # noqa: E402

SOURCES = [
    "Trade show",
    "Website",
    "Referral",
    "Breakfast club",
    "Purchased list",
    "Ads",
    "Partner",
    None,
]


def fill(session: Session, n_leads: int, n_opportunities: int, today: date) -> None:
    rng = random.Random(4)
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    session.execute(
        insert(User),
        [
            {
                "email": f"rep{i}@bench",
                "name": f"Rep {i}",
                "password_hash": "x",
                "role": "rep",
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(10)
        ],
    )
    reps = list(session.scalars(select(User.id)))
    session.execute(
        insert(Company),
        [
            {
                "name": f"Company {i}",
                "name_key": f"company {i}",
                "type": "prospect",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(2000)
        ],
    )
    companies = list(session.scalars(select(Company.id)))
    stages = list(session.scalars(select(Stage)))
    rows = []
    for i in range(n_opportunities):
        stage = rng.choice(stages)
        manual = rng.random() < 0.1
        rows.append(
            {
                "company_id": rng.choice(companies),
                "title": f"Deal {i}",
                "value": Decimal(rng.randrange(500, 100000, 500)),
                "stage_id": stage.id,
                "probability": rng.randint(0, 100) if manual else stage.probability,
                "probability_manual": manual,
                "outcome": stage.outcome,
                "lost_reason": "Price" if stage.outcome == "lost" else None,
                "close_on": today + timedelta(days=rng.randint(-180, 365)),
                "owner_id": rng.choice(reps),
                "closed_at": now - timedelta(days=rng.randint(0, 365))
                if stage.outcome != "open"
                else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    session.execute(insert(Opportunity), rows)
    opportunities = list(session.scalars(select(Opportunity.id)))
    # Half the leads carry a potential value (issue 29), from a generator of their own: the
    # rest of the data is the same as before it.
    values = random.Random(29)
    for start in range(0, n_leads, 10000):
        batch = []
        for i in range(start, min(start + 10000, n_leads)):
            converted = rng.random() < 0.33
            captured = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
            status = "converted" if converted else rng.choice(["open", "disqualified"])
            batch.append(
                {
                    "uuid": uuid.uuid4(),
                    "name": f"Lead {i}",
                    "source": rng.choice(SOURCES),
                    "status": status,
                    "disqualified_reason": "No budget" if status == "disqualified" else None,
                    "owner_id": rng.choice(reps),
                    "captured_at": captured,
                    "opportunity_id": rng.choice(opportunities) if converted else None,
                    "potential_value": Decimal(values.randrange(500, 50000, 500))
                    if values.random() < 0.5
                    else None,
                    "created_at": captured,
                    "updated_at": captured,
                }
            )
        session.execute(insert(Lead), batch)
    session.commit()


def timed(call, runs: int = 5) -> float:
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--url", help="an EMPTY PostgreSQL database to use (it is wiped)")
    args = parser.parse_args()
    engine = scratch_database(args.url)
    url = engine.url.render_as_string(hide_password=False)
    today = date.today()
    with Session(engine) as session:
        started = time.perf_counter()
        fill(session, args.leads, args.opportunities, today)
        print(
            f"{engine.dialect.name}: {args.leads:,} leads, {args.opportunities:,} "
            f"opportunities filled in {time.perf_counter() - started:.1f} s"
        )
        session.commit()
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            session.execute(text("ANALYZE"))
            session.commit()
        quarter = (forecast.quarter_start(today), today)
        year = (today - timedelta(days=365), today)
        checks = {
            "by close month (6 months)": lambda: forecast.by_close_month(session, today),
            "won this month + quarter": lambda: (
                forecast.won_this_month(session, today),
                forecast.won_this_quarter(session, today),
            ),
            "overdue (50 oldest + count)": lambda: (
                forecast.overdue(session, today),
                forecast.overdue_count(session, today),
            ),
            "funnel, this quarter": lambda: forecast.funnel(session, *quarter),
            "funnel, last 365 days": lambda: forecast.funnel(session, *year),
            "by source, last 365 days": lambda: forecast.by_source(session, *year),
            "by rep, last 365 days": lambda: forecast.by_rep(session, *year),
            "forecast page, 365 days (test client)": page(url, *year),
        }
        if hasattr(forecast, "cohort"):  # since revision 0012 (absent when timing before it)
            checks["cohort: funnel + by source + by rep, 365 days"] = lambda: forecast.cohort(
                session, *year
            )
        if hasattr(forecast, "leads_potential"):  # issue 29
            checks["leads pipeline: open leads' potential"] = lambda: forecast.leads_potential(
                session
            )
        for label, call in checks.items():
            print(f"  {label:<46} {timed(call):8.1f} ms (median of 5)")
    engine.dispose()


def page(url: str, start: date, end: date):
    """GET of the forecast page for the period, by a signed-in coordinator."""
    app = scratch_app(url)
    with app.extensions["quickcrm.sessionmaker"]() as session:
        users.create_user(session, "coord@bench.example", "bench forecast page", role="coordinator",
                          password_method=app.config["PASSWORD_METHOD"])  # fmt: skip
        session.commit()
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"email": "coord@bench.example", "csrf_token": token,
                                "password": "bench forecast page"})  # fmt: skip
    path = f"/forecast?start={start.isoformat()}&end={end.isoformat()}"

    def get():
        response = client.get(path)
        assert response.status_code == 200, response.status_code

    return get


if __name__ == "__main__":
    main()
