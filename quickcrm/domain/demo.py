"""Realistic demo data: a coordinator, reps, leads of every temperature, follow-ups due
today and overdue, companies with contacts (with phones) and opportunities, leads that an
existing company is suggested for, a quarterly service call, and two weekly-meeting
snapshots so /meeting has a week to compare."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quickcrm.domain import matching, meeting, users
from quickcrm.domain import team as teams
from quickcrm.domain import validation as v
from quickcrm.domain.stages import (
    ensure_default_lost_reasons,
    ensure_default_stages,
    ordered_stages,
)
from quickcrm.models import (
    Activity,
    Category,
    Company,
    Contact,
    Lead,
    Opportunity,
    Segment,
    TeamSettings,
    User,
)

DEMO_USERS = (
    ("coordinator@demo.quickcrm", "Claire Coordinator", "coordinator"),
    ("rep.sam@demo.quickcrm", "Sam Rep", "rep"),
    ("rep.alex@demo.quickcrm", "Alex Rep", "rep"),
)
DEMO_EMAILS = tuple(email for email, _, _ in DEMO_USERS)
FIRST = [
    "Maria",
    "John",
    "Aisha",
    "Tom",
    "Lena",
    "Ravi",
    "Chloe",
    "Marco",
    "Ines",
    "Owen",
    "Yuki",
    "Peter",
    "Sofia",
    "Jonas",
    "Fatima",
    "Liam",
]
LAST = [
    "Novak",
    "Smith",
    "Khan",
    "Becker",
    "Rossi",
    "Dubois",
    "Meyer",
    "Patel",
    "Garcia",
    "Jensen",
    "Okafor",
    "Schmidt",
]
COMPANIES = [
    "Acme Ltd",
    "Brightside Dental",
    "Northwind Traders",
    "Bluebird Logistics",
    "Keller & Sons GmbH",
    "Harbour Café",
    "Summit Roofing",
    "Greenleaf Organics",
]
SOURCES = ["Trade show Lyon 2026", "Website", "Referral", "Breakfast club", "Purchased list"]
NOTES = [
    "Wants a quote for 20 seats",
    "Met at the booth, call after the show",
    "Interested in the premium plan",
    "Budget decided in January",
    "",
    "",
]


def _domain(company_name: str) -> str:
    """A made-up web domain for a demo company: "Keller & Sons GmbH" → kellersons.example."""
    return matching.name_key(company_name).replace(" and ", "").replace(" ", "") + ".example"


SEGMENTS = ("Healthcare", "Hospitality", "Logistics", "Retail")
# The demo team's own tags for leads (Admin → Categories), as the brief's team sorts them.
CATEGORIES = ("North of the river", "South of the river", "Large company")
# The demo team's settings (Admin → Team settings), where the database has none of its own.
DEMO_TEAM = {"time_zone": "Europe/London", "currency": "GBP", "locale": "en-GB", "week_start": 0}


def seed(
    session: Session,
    *,
    password: str,
    password_method: str,
    today: date | None = None,
    leads_per_rep: int = 15,
    region: str | None = "GB",
    force: bool = False,
) -> str:
    """Add demo data once (flushed: the caller commits); says what it did, with the demo
    accounts and their password. Refused when the database has users of its own (unless
    ``force``): the demo accounts' password is known, so they belong in a database made to
    try QuickCRM."""
    if session.scalar(select(User.id).where(User.email == DEMO_USERS[0][0])) is not None:
        return "Demo data is already there."
    own = own_users(session)
    if own and not force:
        raise v.Refused(
            {
                "force": f"This database already has {own} user{'s' if own > 1 else ''} of "
                "its own and seed-demo would add accounts with a known password: run it on "
                "a new, empty database, or add --force to add them anyway."
            }
        )
    settings = _demo_team(session, region)
    now = datetime.now(UTC)
    today = today or teams.local_today(ZoneInfo(settings.time_zone or "UTC"), now)
    rng = random.Random(2026)
    ensure_default_stages(session)
    ensure_default_lost_reasons(session)
    people = [
        users.create_user(
            session, email, password, role=role, name=name, password_method=password_method
        )
        for email, name, role in DEMO_USERS
    ]
    reps = [u for u in people if u.role == "rep"]
    tags = [Category(name=name, position=i) for i, name in enumerate(CATEGORIES, start=1)]
    session.add_all(tags)
    count = 0
    for rep in reps:
        for i in range(leads_per_rep):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            company = rng.choice(COMPANIES + [None, None])
            lead = Lead(
                name=name,
                company_name=company,
                email=(
                    f"{name.split()[0].lower()}@{_domain(company)}"
                    if company and i % 3
                    else (f"{name.split()[0].lower()}@example.com" if i % 3 else None)
                ),
                phone=f"+44 20 7946 0{rng.randint(100, 999)}" if i % 2 else None,
                note=rng.choice(NOTES) or None,
                temperature=("cold", "warm", "hot", None)[i % 4],
                source=rng.choice(SOURCES),
                owner=rep,
                captured_at=now - timedelta(days=i, hours=rng.randint(0, 8)),
                created_at=now - timedelta(days=i, hours=rng.randint(0, 8)),
                categories=[tags[i % 2]] + ([tags[2]] if i % 3 == 0 else []),
                # Every third lead with the size of the sale (the forecast's leads pipeline).
                potential_value=Decimal((1500, 4000, 12500)[i // 3 % 3]) if i % 3 == 1 else None,
            )
            session.add(lead)
            # Some due today, some overdue, some in the coming days, some with none.
            offset = (0, -2, 1, 3, None)[i % 5]
            if offset is not None:
                session.add(
                    Activity(
                        kind="task",
                        text="Follow up",
                        due_on=today + timedelta(offset),
                        lead=lead,
                        author=rep,
                        assignee_id=rep.id,
                    )
                )
            count += 1
    stages = ordered_stages(session)
    open_stages = [s for s in stages if s.outcome == "open"]
    segments = [Segment(name=name, position=i) for i, name in enumerate(SEGMENTS, start=1)]
    session.add_all(segments)
    deals = []
    for index, company_name in enumerate(COMPANIES[:5]):
        owner = reps[index % len(reps)]
        company = Company(
            name=company_name,
            type=("customer", "prospect")[index % 2],
            rating="ABC"[index % 3],
            segment=segments[index % len(segments)],
            categories=[tags[index % 2]],
            website=f"https://{_domain(company_name)}",
            email_domain=_domain(company_name),
            phone=f"+44 20 7946 1{index:03d}",
            owner=owner,
        )
        matching.company_keys(company, region)
        for n in range(2):
            person = f"{FIRST[index + 5 * n]} {LAST[index + 5 * n]}"
            contact = Contact(
                company=company,
                name=person,
                title=("Buyer", "Operations manager")[n],
                email=f"{person.split()[0].lower()}@{_domain(company_name)}",
                phone=f"+44 7700 900{index}{n}{rng.randint(0, 9)}",
                owner_id=owner.id,
            )
            matching.contact_keys(contact, region)
            session.add(contact)
        stage = open_stages[index % len(open_stages)]
        deal = Opportunity(
            company=company,
            contact=contact,
            title=f"{company_name} — first order",
            value=Decimal(rng.randrange(2000, 40000, 500)),
            stage=stage,
            probability=stage.probability,
            close_on=today + timedelta(days=20 * (index + 1)),
            owner=owner,
            created_at=now - timedelta(days=21),
        )
        deals.append(deal)
        session.add_all([company, deal])
        session.add(
            Activity(
                kind="call",
                text="Introductory call",
                author=owner,
                company=company,
                contact=contact,
                created_at=now - timedelta(days=index + 1),
            )
        )
    # A customer with a quarterly service call (a task repeating every 3 months).
    service = deals[0].company
    session.add(
        Activity(
            kind="task",
            text="Quarterly service call",
            due_on=today + timedelta(days=10),
            repeat_every=3,
            repeat_unit="month",
            author=people[0],
            assignee_id=service.owner.id,
            company=service,
        )
    )
    # More deals across stages and close months, a few won this month and one lost, so the
    # board and the forecast have something to show.
    won_stage = next(s for s in stages if s.outcome == "won")
    lost_stage = next(s for s in stages if s.outcome == "lost")
    for index, company_name in enumerate(COMPANIES[5:] * 3):
        owner = reps[index % len(reps)]
        company = Company(name=f"{company_name} {index + 1}")
        matching.company_keys(company, region)
        stage = (open_stages + [won_stage, lost_stage])[index % (len(open_stages) + 2)]
        closed = stage.outcome != "open"
        session.add(
            Opportunity(
                company=company,
                title=f"{company_name} — order {index + 1}",
                value=Decimal(rng.randrange(1000, 60000, 500)),
                stage=stage,
                probability=stage.probability,
                outcome=stage.outcome,
                lost_reason="Price" if stage.outcome == "lost" else None,
                closed_at=now - timedelta(days=index % 5) if closed else None,
                close_on=today + timedelta(days=15 + 25 * index),
                owner=owner,
            )
        )
    session.flush()
    snapshots = _two_weeks_of_meetings(session, people[0], deals, stages, now)
    accounts = "".join(f"\n  {user.role:<12} {user.email}" for user in people)
    return (
        f"Added {count} demo leads, {len(COMPANIES[:5])} companies with two contacts and an "
        f"opportunity each, and {snapshots} weekly-meeting snapshots.\n"
        f"Demo accounts, each with the password {password}:{accounts}"
    )


def _demo_team(session: Session, region: str | None) -> TeamSettings:
    """The demo team's zone, currency, date format, week start and phone region, each
    where the team has not set its own (flushed)."""
    row = session.get(TeamSettings, 1) or TeamSettings(id=1)
    for name, value in {**DEMO_TEAM, "phone_region": region}.items():
        if getattr(row, name) is None:
            setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def own_users(session: Session) -> int:
    """How many users the database has that are not demo users."""
    return session.scalar(
        select(func.count()).select_from(User).where(User.email.not_in(DEMO_EMAILS))
    )


def _two_weeks_of_meetings(session, coordinator, deals, stages, now) -> int:
    """Meetings two weeks and one week ago, with changes between them and since."""
    meeting.take_snapshot(session, coordinator, now=now - timedelta(days=14))
    open_stages = [s for s in stages if s.outcome == "open"]
    deals[0].value += Decimal(5000)
    deals[1].close_on += timedelta(days=30)
    session.flush()
    meeting.take_snapshot(session, coordinator, now=now - timedelta(days=7))
    deals[2].stage = open_stages[-1]
    deals[2].probability = open_stages[-1].probability
    deals[3].close_on += timedelta(days=45)
    deals[4].value += Decimal(2500)
    session.flush()
    return 2
