"""A coordinator on a phone with existing customers and the weekly meeting: a second
opportunity for a customer, a rep's leads reassigned, two leads converted from review mode
without losing the place, one conversion undone, the meeting page opened."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Company, Contact, Lead, Opportunity, Stage
from tests.e2e.conftest import sign_in


def test_a_coordinators_week_with_existing_customers(page, make_live_user, live_db):
    make_live_user("cora@example.com", "coordinator", "Cora Coordinator")
    sam = make_live_user("sam@example.com", "rep", "Sam Rep")
    alex = make_live_user("alex@example.com", "rep", "Alex Rep")
    stage = live_db.scalar(select(Stage).order_by(Stage.position))
    acme = Company(name="Acme", name_key="acme", type="customer", owner_id=sam.id)
    ann = Contact(company=acme, name="Ann Smith", phone="+44 20 7946 0001")
    first_deal = Opportunity(
        company=acme, contact=ann, title="First order", value=Decimal(900), stage=stage,
        probability=stage.probability, owner_id=sam.id,
    )  # fmt: skip
    names = ("Anna One", "Bert Two", "Cleo Three")
    leads = [Lead(name=name, owner_id=sam.id, source="Expo") for name in names]
    live_db.add_all([acme, ann, first_deal, *leads])
    live_db.commit()
    sign_in(page, "cora@example.com")

    # A second opportunity for an existing customer, with its primary contact.
    page.goto("/companies/")
    page.get_by_role("link", name=re.compile("^Acme")).click()
    page.get_by_role("link", name="New opportunity").click()
    page.get_by_label("Title").fill("Second site")
    page.get_by_label("Primary contact").select_option("Ann Smith")
    page.get_by_label("Value").fill("15000")
    page.get_by_role("button", name="Add opportunity").click()
    expect(page.get_by_role("heading", name="Second site")).to_be_visible()
    page.get_by_role("link", name="Acme").first.click()
    expect(page.get_by_role("link", name="Second site")).to_be_visible()
    expect(page.get_by_role("link", name="First order")).to_be_visible()

    # Sam's leads go to Alex: check the rows, choose, Reassign.
    page.goto("/leads/?sort=name")
    page.get_by_role("checkbox", name="Select Anna One").check()
    page.get_by_role("checkbox", name="Select Bert Two").check()
    page.get_by_label("Reassign to").select_option("Alex Rep")
    page.get_by_role("button", name="Reassign").click()
    expect(page.get_by_role("status").first).to_contain_text("Reassigned 2 leads to Alex Rep")
    live_db.expire_all()
    assert [lead.owner_id for lead in leads] == [alex.id, alex.id, sam.id]

    # Review mode: convert the first two, each time back at the next lead.
    page.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Anna One")).to_be_visible()
    page.get_by_role("link", name="Convert").click()
    expect(page.get_by_role("checkbox", name="Create opportunity")).not_to_be_checked()
    page.get_by_role("button", name="Convert").click()
    expect(page.get_by_role("status").first).to_contain_text("Converted — Anna One")
    expect(page.get_by_role("heading", name="Bert Two")).to_be_visible()
    page.get_by_role("link", name="Convert").click()
    page.get_by_role("button", name="Convert").click()
    expect(page.get_by_role("status").first).to_contain_text("Converted — Bert Two")
    expect(page.get_by_role("heading", name="Cleo Three")).to_be_visible()

    # Undo the second conversion from the lead's page.
    page.goto(f"/leads/{leads[1].id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo conversion").click()
    expect(page.get_by_role("status").first).to_contain_text("Conversion undone — Bert Two")
    live_db.expire_all()
    assert (leads[0].status, leads[1].status) == ("converted", "open")
    assert live_db.scalar(select(Company.id).where(Company.name == "Bert Two")) is None

    # The weekly meeting.
    page.goto("/meeting")
    page.get_by_role("button", name="Start this week's meeting").click()
    expect(page.get_by_role("status").first).to_contain_text("This week's meeting has started")
    expect(page.get_by_role("link", name="Review leads")).to_be_visible()
    expect(page.get_by_role("heading", name="Weighted forecast by close month")).to_be_visible()
