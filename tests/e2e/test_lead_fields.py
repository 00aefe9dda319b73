"""A business lead's optional fields on a phone (issue 29): *Contact name*, *Address* and
*Potential value* behind *More*, saved, seen on the lead's page (the value in the team's
currency) and carried into the convert page's *Value*."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.domain import team as teams
from quickcrm.models import Lead, TeamSettings
from tests.e2e.conftest import sign_in
from tests.e2e.test_accessibility import violations
from tests.e2e.test_offline import open_app_ready_for_offline, queued

ROOT = Path(__file__).resolve().parents[2]


def shot(page, name: str) -> None:
    """README's screenshots are refreshed with QUICKCRM_UPDATE_SCREENSHOTS=1 (as
    test_capture.py's); other runs take none."""
    if os.environ.get("QUICKCRM_UPDATE_SCREENSHOTS"):
        page.screenshot(path=ROOT / "docs" / "screenshots" / f"issue29-{name}", full_page=True)


def test_capture_a_business_lead_with_its_value_and_convert_it(page, make_live_user, live_db):
    live_db.add(TeamSettings(id=1, time_zone="Europe/Dublin", currency="EUR", locale="en-IE",
                             week_start=teams.MONDAY, phone_region="IE"))  # fmt: skip
    live_db.commit()
    make_live_user("cora@example.com", "coordinator", "Cora Coordinator")
    sign_in(page, "cora@example.com")

    page.get_by_label("Name", exact=True).fill("Acme Ltd")
    page.get_by_role("button", name="More").click()
    page.get_by_label("Contact name").fill("Maria Novak")
    page.get_by_label("Address").fill("1 High Street\nDublin 2")
    value = page.get_by_label("Potential value")
    expect(value).to_have_attribute("inputmode", "decimal")
    value.fill("12,500")
    assert violations(page) == []  # More open, the three fields filled
    shot(page, "lead-fields-capture.png")
    page.get_by_role("button", name="Save").click()

    status = page.get_by_role("status").filter(has_text="Saved")
    expect(status).to_contain_text("Saved — Acme Ltd")
    expect(status).to_contain_text("on the server ✓")
    # Not sticky: the next card starts without them.
    expect(page.get_by_label("Contact name")).to_have_value("")
    expect(page.get_by_label("Address")).to_have_value("")
    expect(page.get_by_label("Potential value")).to_have_value("")
    lead = live_db.scalars(select(Lead)).one()
    assert (lead.contact_name, lead.address, lead.potential_value) == (
        "Maria Novak", "1 High Street\nDublin 2", Decimal("12500.00"),
    )  # fmt: skip

    status.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Acme Ltd", level=1)).to_be_visible()
    # Behind a disclosure after the history on a phone, open: the lead has values.
    details = page.locator("details").filter(has_text="Contact name, address, potential value")
    expect(details).to_have_attribute("open", "")
    expect(details.locator("#field-contact_name")).to_contain_text("Maria Novak")
    expect(details.locator("#field-address")).to_contain_text("1 High Street")
    value = details.locator("#field-potential_value")
    expect(value).to_contain_text("€12,500")
    assert violations(page) == []
    # Edited in place like the other facts.
    details.get_by_role("link", name="Edit potential value").click()
    page.get_by_label("Potential value").fill("15 000")
    page.get_by_label("Potential value").press("Enter")
    expect(value).to_contain_text("€15,000")
    shot(page, "lead-fields-lead.png")

    page.get_by_role("link", name="Convert", exact=True).click()
    expect(page.get_by_label("Value")).to_have_value("15000")
    expect(page.get_by_label("Contact name")).to_have_value("Maria Novak")
    expect(page.get_by_label("Company name")).to_have_value("Acme Ltd")
    expect(page.get_by_role("checkbox", name="Create opportunity")).to_be_checked()
    shot(page, "lead-fields-convert.png")


def test_an_offline_capture_with_a_negative_value_needs_attention_then_is_fixed(
    page, make_live_user, live_db
):
    make_live_user()
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    page.get_by_label("Name", exact=True).fill("Bloggs & Co")
    page.get_by_role("button", name="More").click()
    page.get_by_label("Contact name").fill("Jo Bloggs")
    page.get_by_label("Potential value").fill("-500")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("Bloggs & Co")
    expect(page.get_by_label("Potential value")).to_have_value("")
    page.context.set_offline(False)

    row = queued(page, "Bloggs & Co")
    expect(row.get_by_text("Needs attention")).to_be_visible()
    expect(row).to_contain_text("Enter an amount of 0 or more")
    row.get_by_role("button", name="Edit").click()
    value = page.get_by_label("Potential value")
    expect(value).to_be_focused()  # More opened on the field the server named
    expect(value).to_have_value("-500")
    expect(page.get_by_label("Contact name")).to_have_value("Jo Bloggs")
    value.fill("500")
    page.get_by_role("button", name="Save").click()
    expect(queued(page, "Bloggs & Co")).to_have_count(0)
    expect(page.get_by_text("Everything captured is on the server.")).to_be_visible()
    live_db.expire_all()
    lead = live_db.scalars(select(Lead)).one()
    assert (lead.contact_name, lead.potential_value) == ("Jo Bloggs", Decimal("500.00"))


def test_online_a_negative_value_comes_back_in_the_form_next_to_its_field(
    page, make_live_user, live_db
):
    make_live_user()
    sign_in(page)
    page.get_by_label("Name", exact=True).fill("Acme Ltd")
    page.get_by_role("button", name="More").click()
    page.get_by_label("Potential value").fill("-5")
    page.get_by_role("button", name="Save").click()
    # Refused at once, the form untouched since: the capture is back in it, as the server's
    # form would show it.
    expect(page.get_by_role("status").filter(has_text="Not saved")).to_contain_text(
        "check the marked fields (Acme Ltd)"
    )
    value = page.get_by_label("Potential value")
    expect(value).to_have_value("-5")
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#potential_value-error")).to_have_text(
        "Enter an amount of 0 or more: a value is never negative."
    )
    value.fill("5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved —")).to_contain_text("on the server")
    live_db.expire_all()
    assert live_db.scalars(select(Lead.potential_value)).one() == Decimal("5.00")
