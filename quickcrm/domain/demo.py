"""Realistic demo data: a coordinator, reps, leads of every temperature, follow-ups due
today and overdue, a few companies with contacts and opportunities."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from quickcrm.domain import pipeline, users
from quickcrm.domain.stages import ensure_default_stages, ordered_stages
from quickcrm.models import Activity, Company, Contact, Lead, Opportunity, User

DEMO_USERS = (
    ("coordinator@demo.quickcrm", "Claire Coordinator", "coordinator"),
    ("rep.sam@demo.quickcrm", "Sam Rep", "rep"),
    ("rep.alex@demo.quickcrm", "Alex Rep", "rep"),
)
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


def seed(
    session: Session,
    *,
    password: str,
    password_method: str,
    today: date | None = None,
    leads_per_rep: int = 15,
) -> str:
    """Add demo data once; says what it did."""
    if session.scalar(select(User.id).where(User.email == DEMO_USERS[0][0])) is not None:
        return "Demo data is already there."
    today = today or date.today()
    rng = random.Random(2026)
    ensure_default_stages(session)
    pipeline.ensure_default_lost_reasons(session)
    people = [
        users.create_user(
            session, email, password, role=role, name=name, password_method=password_method
        )
        for email, name, role in DEMO_USERS
    ]
    reps = [u for u in people if u.role == "rep"]
    now = datetime.now(UTC)
    count = 0
    for rep in reps:
        for i in range(leads_per_rep):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            company = rng.choice(COMPANIES + [None, None])
            lead = Lead(
                name=name,
                company_name=company,
                email=f"{name.split()[0].lower()}@example.com" if i % 3 else None,
                phone=f"+44 20 7946 0{rng.randint(100, 999)}" if i % 2 else None,
                note=rng.choice(NOTES) or None,
                temperature=("cold", "warm", "hot", None)[i % 4],
                source=rng.choice(SOURCES),
                owner=rep,
                captured_at=now - timedelta(days=i, hours=rng.randint(0, 8)),
                created_at=now - timedelta(days=i, hours=rng.randint(0, 8)),
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
    for index, company_name in enumerate(COMPANIES[:5]):
        owner = reps[index % len(reps)]
        company = Company(
            name=company_name, name_key=company_name.lower(), type="prospect", owner=owner
        )
        contact = Contact(
            company=company,
            name=f"{FIRST[index]} {LAST[index]}",
            email=f"{FIRST[index].lower()}@example.com",
            owner_id=owner.id,
        )
        stage = open_stages[index % len(open_stages)]
        session.add_all(
            [
                company,
                contact,
                Opportunity(
                    company=company,
                    contact=contact,
                    title=f"{company_name} — first order",
                    value=Decimal(rng.randrange(2000, 40000, 500)),
                    stage=stage,
                    probability=stage.probability,
                    close_on=today + timedelta(days=20 * (index + 1)),
                    owner=owner,
                ),
            ]
        )
    # More deals across stages and close months, a few won this month and one lost, so the
    # board and the forecast have something to show.
    won_stage = next(s for s in stages if s.outcome == "won")
    lost_stage = next(s for s in stages if s.outcome == "lost")
    for index, company_name in enumerate(COMPANIES[5:] * 3):
        owner = reps[index % len(reps)]
        company = Company(name=f"{company_name} {index + 1}", name_key=f"{company_name} {index}")
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
    session.commit()
    return (
        f"Added {len(people)} demo users (password: {password}), {count} leads, "
        f"{len(COMPANIES[:5])} companies with a contact and an opportunity each."
    )
