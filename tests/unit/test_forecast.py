"""Forecast figures against a data set computed by hand (see the comments)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from quickcrm.domain import forecast
from quickcrm.models import Company, Lead, Opportunity, Stage

TODAY = date(2026, 11, 23)


def at(year, month, day, hour=12):
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def data(db, make_user):
    rita = make_user("rita@example.com", name="Rita Rep")
    sam = make_user("sam@example.com", name="Sam Rep")
    stages = {s.name: s for s in db.scalars(select(Stage))}
    company = Company(name="Acme", name_key="acme")
    db.add(company)

    def opp(
        key, value, stage, close_on, probability=None, manual=False, outcome="open", closed_at=None
    ):
        o = Opportunity(
            title=key,
            company=company,
            value=Decimal(value),
            stage=stages[stage],
            probability=stages[stage].probability if probability is None else probability,
            probability_manual=manual,
            close_on=close_on,
            outcome=outcome,
            lost_reason="Price" if outcome == "lost" else None,
            closed_at=closed_at,
            owner_id=rita.id,
        )
        db.add(o)
        return o

    o = {
        "A": opp("A", 10000, "Proposal", date(2026, 11, 30)),  # Nov: 10000 × 50 % = 5000
        "B": opp("B", 2000, "New", date(2026, 11, 5)),  # Nov, overdue: 2000 × 10 % = 200
        "C": opp("C", 5000, "Qualified", date(2027, 1, 15), 33, True),  # Jan: 1650 (by hand)
        "D": opp("D", 8000, "Lost", date(2026, 12, 10), outcome="lost"),  # lost: nowhere
        "E": opp("E", 4000, "Won", date(2026, 12, 1), outcome="won", closed_at=at(2026, 11, 2)),
        "F": opp("F", 3000, "Won", date(2026, 10, 1), outcome="won", closed_at=at(2026, 10, 15)),
        "G": opp("G", 7000, "Negotiation", date(2027, 5, 31)),  # 7th month: outside
        "H": opp("H", 1000, "Negotiation", date(2027, 4, 30)),  # Apr: 750
        "I": opp("I", 500, "New", date(2026, 10, 31)),  # before this month; overdue
    }

    db.flush()

    def lead(name, captured, source, owner, status="open", opportunity=None):
        db.add(
            Lead(
                name=name,
                captured_at=captured,
                source=source,
                owner_id=owner.id,
                status=status,
                disqualified_reason="No budget" if status == "disqualified" else None,
                opportunity_id=opportunity.id if opportunity else None,
            )
        )

    lead("L1", at(2026, 11, 3), "Website", rita, "converted", o["E"])  # won 4000
    lead("L2", at(2026, 11, 10), "Website", rita, "converted", o["D"])  # lost
    lead("L3", at(2026, 11, 20), "Website", sam)
    lead("L4", at(2026, 11, 30, 23), "Referral", sam, "converted", o["A"])  # still open
    lead("L5", at(2026, 10, 31, 23), "Referral", rita, "converted", o["F"])  # before
    lead("L6", at(2026, 12, 1, 0), "Website", rita)  # after
    lead("L7", at(2026, 11, 15), None, rita, "disqualified")
    db.commit()
    return o


def test_by_close_month_counts_open_deals_with_weighted_values(db, data):
    months = forecast.by_close_month(db, TODAY)
    assert [(m.month, m.count, m.total, m.weighted) for m in months] == [
        (date(2026, 11, 1), 2, Decimal("12000.00"), Decimal("5200.00")),
        (date(2026, 12, 1), 0, Decimal("0.00"), Decimal("0.00")),
        (date(2027, 1, 1), 1, Decimal("5000.00"), Decimal("1650.00")),
        (date(2027, 2, 1), 0, Decimal("0.00"), Decimal("0.00")),
        (date(2027, 3, 1), 0, Decimal("0.00"), Decimal("0.00")),
        (date(2027, 4, 1), 1, Decimal("1000.00"), Decimal("750.00")),
    ]


def test_won_this_month_and_quarter(db, data):
    assert forecast.won_this_month(db, TODAY) == forecast.Won(1, Decimal("4000.00"))
    assert forecast.won_this_quarter(db, TODAY) == forecast.Won(2, Decimal("7000.00"))
    assert forecast.won_between(db, date(2026, 1, 1), date(2026, 9, 30)) == forecast.Won(
        0, Decimal("0.00")
    )


def test_overdue_lists_open_deals_past_their_close_date(db, data):
    assert [o.title for o in forecast.overdue(db, TODAY)] == ["I", "B"]
    assert forecast.overdue_count(db, TODAY) == 2


def test_funnel_follows_the_leads_captured_in_the_period(db, data):
    result = forecast.funnel(db, date(2026, 11, 1), date(2026, 11, 30))
    assert (result.leads, result.converted, result.won, result.won_value) == (
        5,
        3,
        1,
        Decimal("4000.00"),
    )
    assert result.conversion_rate == pytest.approx(0.6)
    assert result.win_rate == pytest.approx(1 / 3)
    assert result.overall_rate == pytest.approx(0.2)


def test_by_source_and_by_rep(db, data):
    sources = forecast.by_source(db, date(2026, 11, 1), date(2026, 11, 30))
    assert [(s.name, s.leads, s.converted, s.won, s.won_value) for s in sources] == [
        ("Website", 3, 2, 1, Decimal("4000.00")),
        ("(no source)", 1, 0, 0, Decimal("0.00")),
        ("Referral", 1, 1, 0, Decimal("0.00")),
    ]
    assert sources[0].conversion_rate == pytest.approx(2 / 3)
    reps = forecast.by_rep(db, date(2026, 11, 1), date(2026, 11, 30))
    assert [(r.name, r.leads, r.converted, r.won_value) for r in reps] == [
        ("Rita Rep", 3, 2, Decimal("4000.00")),
        ("Sam Rep", 2, 1, Decimal("0.00")),
    ]


def test_empty_period_and_empty_database(db, data):
    empty = forecast.funnel(db, date(2025, 1, 1), date(2025, 1, 31))
    assert (empty.leads, empty.converted, empty.won, empty.won_value) == (0, 0, 0, 0)
    assert empty.conversion_rate is None and empty.win_rate is None
    assert forecast.by_source(db, date(2025, 1, 1), date(2025, 1, 31)) == []
    assert forecast.by_rep(db, date(2025, 1, 1), date(2025, 1, 31)) == []
    far = forecast.by_close_month(db, date(2030, 1, 10))
    assert [m.count for m in far] == [0] * 6 and far[0].month == date(2030, 1, 1)


def test_one_cohort_gives_the_funnel_and_both_tables_alike(db, data, make_user):
    """The page reads the funnel, by source and by rep from one cohort; by hand, on top of
    the data above: a second lead converted into the won deal E (each lead counts it, as a
    join of each lead to its deal does), a rep who shares Sam's name (a row of their own),
    and a lead of the won deal F captured before the period (not counted)."""
    other_sam = make_user("sam2@example.com", name="Sam Rep")
    won_e = db.scalar(select(Opportunity).where(Opportunity.title == "E"))
    db.add(
        Lead(name="L8", captured_at=at(2026, 11, 12), source=None, owner_id=other_sam.id,
             status="converted", opportunity_id=won_e.id)
    )  # fmt: skip
    db.commit()
    result = forecast.cohort(db, date(2026, 11, 1), date(2026, 11, 30))
    funnel = result.funnel
    assert (funnel.leads, funnel.converted, funnel.won, funnel.won_value) == (
        6, 4, 2, Decimal("8000.00"),
    )  # fmt: skip
    assert [(s.name, s.leads, s.converted, s.won, s.won_value) for s in result.sources] == [
        ("Website", 3, 2, 1, Decimal("4000.00")),  # the same won value: more leads first
        ("(no source)", 2, 1, 1, Decimal("4000.00")),
        ("Referral", 1, 1, 0, Decimal("0.00")),
    ]
    assert [(r.name, r.leads, r.converted, r.won, r.won_value) for r in result.reps] == [
        ("Rita Rep", 3, 2, 1, Decimal("4000.00")),
        ("Sam Rep", 1, 1, 1, Decimal("4000.00")),
        ("Sam Rep", 2, 1, 0, Decimal("0.00")),
    ]
    assert result.funnel == forecast.funnel(db, date(2026, 11, 1), date(2026, 11, 30))


@pytest.mark.parametrize(
    ("start", "end", "expected", "refused"),
    [
        (None, None, (date(2026, 10, 1), date(2026, 11, 23)), set()),
        ("2026-01-01", "2026-03-31", (date(2026, 1, 1), date(2026, 3, 31)), set()),
        ("2026-02-30", None, (date(2026, 10, 1), date(2026, 11, 23)), {"start"}),
        ("2026-05-01", "2026-04-01", (date(2026, 10, 1), date(2026, 11, 23)), {"end"}),
    ],
)
def test_the_period_defaults_to_this_quarter_and_says_what_it_could_not_use(
    start, end, expected, refused
):
    first, last, errors = forecast.period(start, end, date(2026, 11, 23))
    assert (first, last) == expected
    assert set(errors) == refused
