"""The pipeline board at a desk: drag a card to another stage, Won asks first, Lost needs a
reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Company, Opportunity, Stage
from tests.e2e.conftest import sign_in

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """The board is dragged with a mouse on a desktop."""
    return {**browser_context_args, "viewport": DESKTOP, "device_scale_factor": 1,
            "is_mobile": False, "has_touch": False}  # fmt: skip


def _opportunity(live_db, title: str, owner) -> int:
    new = live_db.scalar(select(Stage).where(Stage.name == "New"))
    opportunity = Opportunity(
        title=title,
        company=Company(name="Acme", name_key="acme"),
        value=Decimal("10000"),
        stage=new,
        probability=new.probability,
        owner_id=owner.id,
    )
    live_db.add(opportunity)
    live_db.commit()
    return opportunity.id


def _stored(live_db, opportunity_id: int) -> Opportunity:
    live_db.expire_all()
    return live_db.get(Opportunity, opportunity_id)


def test_a_card_dragged_onto_another_column_moves_there(page, make_live_user, live_db):
    rep = make_live_user()
    opportunity_id = _opportunity(live_db, "Acme — first order", rep)
    sign_in(page)
    page.goto("/opportunities")
    card = page.get_by_role("listitem").filter(has_text="Acme — first order")
    card.drag_to(page.get_by_role("region", name="Proposal"))

    proposal = page.get_by_role("region", name="Proposal")
    expect(proposal.get_by_role("listitem").filter(has_text="Acme — first order")).to_be_visible()
    expect(proposal.get_by_test_id("sums-Proposal")).to_contain_text("Count1")
    assert _stored(live_db, opportunity_id).stage.name == "Proposal"


def test_won_asks_first_and_lost_needs_a_reason(page, make_live_user, live_db):
    rep = make_live_user()
    won_id = _opportunity(live_db, "Acme — renewal", rep)
    lost_id = _opportunity(live_db, "Acme — side deal", rep)
    sign_in(page)
    page.goto("/opportunities")
    renewal = page.get_by_role("listitem").filter(has_text="Acme — renewal")

    page.once("dialog", lambda dialog: dialog.dismiss())
    renewal.get_by_role("button", name="Won").click()
    expect(renewal).to_be_visible()
    assert _stored(live_db, won_id).outcome == "open"

    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    renewal.get_by_role("button", name="Won").click()
    expect(page.get_by_role("listitem").filter(has_text="Acme — renewal")).to_have_count(0)
    assert messages == ["Mark Acme — renewal as won?"]
    assert _stored(live_db, won_id).outcome == "won"

    side = page.get_by_role("listitem").filter(has_text="Acme — side deal")
    side.get_by_role("button", name="Lost", exact=True).click()
    side.get_by_role("button", name="Mark lost").click()
    side = page.get_by_role("listitem").filter(has_text="Acme — side deal")
    expect(side.get_by_label("Lost reason")).to_have_attribute("aria-invalid", "true")
    assert _stored(live_db, lost_id).outcome == "open"
    side.get_by_label("Lost reason").select_option("Price")
    side.get_by_role("button", name="Mark lost").click()
    expect(page.get_by_role("listitem").filter(has_text="Acme — side deal")).to_have_count(0)
    stored = _stored(live_db, lost_id)
    assert (stored.outcome, stored.lost_reason) == ("lost", "Price")


def test_a_rep_sees_another_reps_card_without_controls_and_cannot_drag_it(
    page, make_live_user, live_db
):
    rep = make_live_user()
    other = make_live_user("otto@example.com", name="Otto Other")
    _opportunity(live_db, "Acme — my order", rep)
    theirs_id = _opportunity(live_db, "Acme — Otto's order", other)
    sign_in(page)
    page.goto("/opportunities")
    mine = page.get_by_role("listitem").filter(has_text="Acme — my order")
    theirs = page.get_by_role("listitem").filter(has_text="Acme — Otto's order")
    expect(mine.get_by_label("Stage")).to_be_visible()
    expect(theirs).to_contain_text("Otto Other")
    for control in (theirs.get_by_label("Stage"), theirs.get_by_role("button")):
        expect(control).to_have_count(0)

    theirs.drag_to(page.get_by_role("region", name="Proposal"))
    expect(page.get_by_role("region", name="New")).to_contain_text("Acme — Otto's order")
    assert _stored(live_db, theirs_id).stage.name == "New"
