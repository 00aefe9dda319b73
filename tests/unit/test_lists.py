"""Every list reads its query from the URL and writes it back the same way (domain/lists.py):
a link that keeps the list (next page, Export CSV, review mode) shows the same list."""

from __future__ import annotations

import pytest

from quickcrm.domain.companies import CompanyQuery, ContactQuery
from quickcrm.domain.leads import LeadQuery
from quickcrm.domain.opportunities import OpportunityQuery

EVERY_FILTER = [
    (
        LeadQuery,
        {"q": "acme", "status": "converted", "temperature": "hot", "owner": "7",
         "source": "Expo", "from": "2026-01-02", "to": "2026-02-03", "due": "week",
         "sort": "name"},
    ),
    (CompanyQuery, {"q": "acme", "type": "customer", "rating": "A", "segment": "3"}),
    (ContactQuery, {"q": "maria", "company": "12"}),
    (
        OpportunityQuery,
        {"owner_id": "7", "stage_id": "2", "close_month": "2026-12", "outcome": "won"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "args"), EVERY_FILTER)
def test_to_args_gives_back_the_urls_filters_without_the_cursor(kind, args):
    query = kind.from_args({**args, "after": "anything"})
    assert query.after == "anything" and query.paged
    assert query.to_args() == args
    assert kind.from_args(query.to_args()) == kind.from_args(args)
    assert not kind.from_args(args).paged


@pytest.mark.parametrize("kind", [LeadQuery, CompanyQuery, ContactQuery, OpportunityQuery])
def test_values_a_list_does_not_offer_are_left_out_not_refused(kind):
    junk = {
        name: "²" for name in ("status", "temperature", "owner", "from", "due", "sort", "type",
                               "rating", "segment", "company", "owner_id", "stage_id",
                               "close_month", "outcome")
    }  # fmt: skip
    assert kind.from_args(junk) == kind.from_args({"status": "all"})
