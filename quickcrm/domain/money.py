"""Money: amounts rounded to cents, and an opportunity's weighted value — its value ×
its probability % (docs/domain.md). Reading an amount someone typed is the input
toolkit's ``validation.money``; writing one for a page, ``web/formats.py``'s ``amount``."""

from __future__ import annotations

from decimal import Decimal

from quickcrm.models import Opportunity

CENT = Decimal("0.01")


def cents(amount) -> Decimal:
    """An amount (Decimal, float or int — a database sum's type depends on the dialect)
    rounded to cents; ``None`` is 0."""
    return Decimal(str(amount or 0)).quantize(CENT)


def typed(amount) -> str:
    """An amount as a person types it in a form (what ``validation.money`` reads back):
    "12500", or "12500.50" with cents; "" for none."""
    if amount is None:
        return ""
    amount = cents(amount)
    return str(amount.quantize(Decimal(1))) if amount == amount.to_integral() else str(amount)


def weighted(value, probability):
    """value × probability %: on numbers, or on columns as a SQL expression to sum."""
    return value * probability / 100


def weighted_value(opportunity: Opportunity) -> Decimal:
    """The opportunity's weighted value, exact (a page rounds it as it shows it)."""
    return weighted(opportunity.value, opportunity.probability)
