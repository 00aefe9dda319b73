"""The pipeline board at a desk: compact cards, five and more of a column on a laptop's
screen; a card's menu moves its stage (by keyboard too), Won asks first, Lost needs a reason;
a card dragged to another column moves there."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Company, Opportunity, Stage
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import violations

DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """The board is dragged with a mouse on a desktop."""
    return {**browser_context_args, "viewport": DESKTOP, "device_scale_factor": 1,
            "is_mobile": False, "has_touch": False}  # fmt: skip


def _opportunity(live_db, title: str, owner, company: str = "Acme", close_on=None) -> int:
    new = live_db.scalar(select(Stage).where(Stage.name == "New"))
    opportunity = Opportunity(
        title=title,
        company=Company(name=company, name_key=company.lower()),
        value=Decimal("10000"),
        stage=new,
        probability=new.probability,
        owner_id=owner.id,
        close_on=close_on,
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
    renewal.get_by_role("button", name="Actions for Acme — renewal").click()

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
    side.get_by_role("button", name="Actions for Acme — side deal").click()
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
    mine.get_by_role("button", name="Actions for Acme — my order").click()
    expect(mine.get_by_label("Stage")).to_be_visible()
    expect(theirs).to_contain_text("Otto Other")
    for control in (theirs.get_by_label("Stage"), theirs.get_by_role("button")):
        expect(control).to_have_count(0)

    theirs.drag_to(page.get_by_role("region", name="Proposal"))
    expect(page.get_by_role("region", name="New")).to_contain_text("Acme — Otto's order")
    assert _stored(live_db, theirs_id).stage.name == "New"


COLUMN_OF_SEVEN = (
    ("Harbour Café — espresso machines", "Harbour Café"),
    ("Keller & Sons GmbH — workshop fit-out for the new Leipzig site", "Keller & Sons GmbH"),
    ("Summit Roofing — spring order", "Summit Roofing"),
    ("Greenleaf Organics — first order", "Greenleaf Organics"),
    ("Northwind Traders — renewal", "Northwind Traders"),
    ("Bluebird Logistics — pallets", "Bluebird Logistics"),
    ("Brightside Dental — chairs", "Brightside Dental"),
)

CARDS = """column => [...column.querySelectorAll('.opp-card')].map(card => {
  const box = card.getBoundingClientRect();
  return {height: box.height, fully: box.top >= 0 && box.bottom <= innerHeight};
})"""


def test_a_laptop_shows_five_compact_cards_and_the_keyboard_moves_one(
    page, make_live_user, live_db
):
    rep = make_live_user()
    soon = date.today() + timedelta(days=7)
    ids = {
        title: _opportunity(live_db, title, rep, company, soon + timedelta(days=i))
        for i, (title, company) in enumerate(COLUMN_OF_SEVEN)
    }
    sign_in(page)
    page.goto("/opportunities")
    new = page.get_by_role("region", name="New")
    spring = new.get_by_role("listitem").filter(has_text="Summit Roofing — spring order")
    # A card shows its title, company, value, close date and owner, and nothing more.
    expect(spring).to_contain_text("Summit Roofing")
    expect(spring).to_contain_text("10,000")
    expect(spring).to_contain_text("closes")
    expect(spring).to_contain_text("Rita Rep")
    expect(spring.get_by_label("Stage")).to_be_hidden()
    expect(spring.get_by_role("button", name="Won")).to_be_hidden()
    cards = new.evaluate(CARDS)
    assert len(cards) == 7
    assert max(card["height"] for card in cards) <= 120, cards
    assert sum(card["fully"] for card in cards) >= 5, cards
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]

    # The keyboard: Tab to the card's menu, Enter opens it on Stage, the arrow keys choose
    # (moving nothing yet), Enter moves.
    spring.get_by_role("link", name="Summit Roofing — spring order").focus()
    page.keyboard.press("Tab")
    menu = spring.get_by_role("button", name="Actions for Summit Roofing — spring order")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(spring.get_by_label("Stage")).to_be_focused()
    assert not violations(page)
    page.emulate_media(color_scheme="dark")
    assert not violations(page)
    page.emulate_media(color_scheme="light")
    posted = []
    page.on("request", lambda request: request.method == "POST" and posted.append(request.url))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(spring.get_by_label("Stage")).to_have_value(str(_stage_id(live_db, "Proposal")))
    expect(new).to_contain_text("Summit Roofing — spring order")
    assert _stored(live_db, ids["Summit Roofing — spring order"]).stage.name == "New"
    page.keyboard.press("Enter")

    proposal = page.get_by_role("region", name="Proposal")
    moved = proposal.get_by_role("listitem").filter(has_text="Summit Roofing — spring order")
    expect(moved).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(
        "Summit Roofing — spring order moved to Proposal."
    )
    expect(new).not_to_contain_text("Summit Roofing — spring order")
    expect(proposal.get_by_test_id("sums-Proposal")).to_contain_text("Count1")
    assert _stored(live_db, ids["Summit Roofing — spring order"]).stage.name == "Proposal"
    assert len(posted) == 1, posted  # one move: to Proposal, not to Qualified on the way
    # The focus stays with the card, on its (closed) menu button; Escape closes a menu.
    menu = moved.get_by_role("button", name="Actions for Summit Roofing — spring order")
    expect(menu).to_be_focused()
    expect(menu).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(moved.get_by_label("Stage")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_focused()
    expect(moved.get_by_label("Stage")).to_be_hidden()

    # Won from the menu, by keyboard: Stage, Move, then Won.
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(moved.get_by_role("button", name="Won")).to_be_focused()
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Enter")
    expect(proposal.get_by_role("listitem").filter(has_text="spring order")).to_have_count(0)
    assert _stored(live_db, ids["Summit Roofing — spring order"]).outcome == "won"
    expect(proposal.get_by_role("heading", name="Proposal")).to_be_focused()


def _stage_id(live_db, name: str) -> int:
    return live_db.scalar(select(Stage.id).where(Stage.name == name))
