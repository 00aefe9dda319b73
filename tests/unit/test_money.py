"""Money's one home: cents, and the weighted value in Python and in SQL."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from quickcrm.domain.money import cents, weighted, weighted_value
from quickcrm.models import Company, Opportunity, Stage


def test_money_rounds_to_cents_whatever_the_database_returns():
    assert cents(None) == Decimal("0.00")
    assert cents(1234.5) == Decimal("1234.50")
    assert cents(Decimal("2.345")) == Decimal("2.34")  # half to even, as before


def test_weighted_is_the_same_in_python_and_in_sql(db):
    stage = db.scalars(select(Stage).order_by(Stage.position)).first()
    deal = Opportunity(
        title="Deal",
        company=Company(name="Acme", name_key="acme"),
        value=Decimal("6.99"),
        stage=stage,
        probability=50,
    )
    db.add(deal)
    db.flush()
    summed = db.scalar(select(func.sum(weighted(Opportunity.value, Opportunity.probability))))
    assert weighted_value(deal) == Decimal("3.495")
    assert cents(summed) == cents(weighted_value(deal))
