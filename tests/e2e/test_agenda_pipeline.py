"""A rep's day on a phone: the agenda's Done moves a follow-up; the board moves a stage from
the card's menu."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Activity, Company, Lead, Opportunity, Stage
from tests.e2e.conftest import open_area, sign_in


def test_a_due_follow_up_is_done_with_a_next_date(page, make_live_user, live_db):
    rep = make_live_user()
    live_db.add(
        Activity(
            kind="task",
            text="Follow up",
            due_on=date.today(),
            lead=Lead(name="Maria Novak", owner_id=rep.id, phone="+44 20 7946 0958"),
            author_id=rep.id,
            assignee_id=rep.id,
        )
    )
    live_db.commit()
    sign_in(page)
    page.get_by_role("link", name="Agenda").click()
    today = page.get_by_role("region", name="Today")
    item = today.get_by_role("listitem").filter(has_text="Maria Novak")
    expect(item).to_be_visible()
    expect(item.get_by_role("link", name="Call Maria Novak")).to_have_attribute(
        "href", "tel:+442079460958"
    )
    item.get_by_role("button", name="Done", exact=True).click()
    item.get_by_label("Outcome").fill("Left a voicemail")
    in_three_days = date.today() + timedelta(days=3)
    item.get_by_label("Next action date").fill(in_three_days.isoformat())
    item.get_by_role("button", name="Save", exact=True).click()

    week = page.get_by_role("region", name="This week")
    expect(week.get_by_role("listitem").filter(has_text="Maria Novak")).to_be_visible()
    expect(page.get_by_role("region", name="Today")).not_to_contain_text("Maria Novak")
    live_db.expire_all()
    open_ones = live_db.scalars(select(Activity).where(Activity.done.is_(False))).all()
    assert [a.due_on for a in open_ones] == [in_three_days]


def test_an_opportunity_moves_stage_from_its_menu_and_the_totals_follow(
    page, make_live_user, live_db
):
    rep = make_live_user()
    new = live_db.scalar(select(Stage).where(Stage.name == "New"))
    live_db.add(
        Opportunity(
            title="Acme — first order",
            company=Company(name="Acme", name_key="acme"),
            value=Decimal("10000"),
            stage=new,
            probability=new.probability,
            owner_id=rep.id,
        )
    )
    live_db.commit()
    sign_in(page)
    open_area(page, "Opportunities")
    # On a phone the board is one stage at a time, the stages as tabs with their counts.
    tabs = page.get_by_role("tablist", name="Stages")
    expect(tabs.get_by_role("tab", name="New 1")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("region", name="Proposal")).to_be_hidden()
    new_column = page.get_by_role("region", name="New")
    expect(new_column.get_by_test_id("sums-New")).to_contain_text("10,000")

    card = new_column.get_by_role("listitem").filter(has_text="Acme — first order")
    # Won and Lost are behind the card's menu; Stage is on the card: a move is one tap and a
    # choice (PRODUCT.md).
    expect(card.get_by_role("button", name="Won")).to_be_hidden()
    box = card.bounding_box()
    assert box["height"] <= 200, box
    card.get_by_label("Stage").select_option("Proposal")

    status = page.get_by_role("status").filter(has_text="moved to")
    expect(status).to_contain_text("Acme — first order moved to Proposal.")
    expect(tabs.get_by_role("tab", name="Proposal 1")).to_be_visible()
    expect(tabs.get_by_role("tab", name="New 0")).to_be_visible()
    tabs.get_by_role("tab", name="Proposal 1").tap()
    proposal_column = page.get_by_role("region", name="Proposal")
    expect(proposal_column).to_contain_text("Acme — first order")
    expect(proposal_column.get_by_test_id("sums-Proposal")).to_contain_text("Count1")
    expect(proposal_column.get_by_test_id("sums-Proposal")).to_contain_text("Weighted5,000")

    # Undo puts it back where it was.
    status.get_by_role("button", name="Undo").tap()
    expect(page.get_by_role("status").filter(has_text="moved to")).to_contain_text(
        "Acme — first order moved to New."
    )
    expect(tabs.get_by_role("tab", name="New 1")).to_be_visible()
    live_db.expire_all()
    assert live_db.scalars(select(Opportunity)).one().stage.name == "New"


def test_a_long_overdue_list_loads_the_next_ones_in_place(page, make_live_user, live_db):
    rep = make_live_user()
    lead = Lead(name="Maria Novak", owner_id=rep.id)
    long_ago = date.today() - timedelta(days=40)
    live_db.add_all(
        Activity(
            kind="task",
            text=f"Chase invoice {i:02}",
            due_on=long_ago + timedelta(days=i),
            lead=lead,
            author_id=rep.id,
            assignee_id=rep.id,
        )  # fmt: skip
        for i in range(35)
    )
    live_db.commit()
    sign_in(page)
    page.get_by_role("link", name="Agenda").click()
    overdue = page.get_by_role("region", name="Overdue")
    items = overdue.get_by_role("listitem").filter(has_text="Chase invoice")
    expect(items).to_have_count(30)
    overdue.get_by_role("link", name="5 more overdue").click()
    expect(items).to_have_count(35)
    expect(items.last).to_contain_text("Chase invoice 34")
    expect(overdue.get_by_role("link", name="5 more overdue")).to_have_count(0)
    # A loaded item works like the others.
    items.last.get_by_role("button", name="Snooze").click()
    items.last.get_by_role("button", name="+1 week").click()
    expect(page.get_by_role("region", name="This week")).to_contain_text("Chase invoice 34")
