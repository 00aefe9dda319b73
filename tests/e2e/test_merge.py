"""A coordinator on a phone merges two leads, choosing one field from the other lead,
sees the result, then undoes it; the Possible duplicates list shows the pair."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from quickcrm.models import Lead
from tests import factories
from tests.e2e.conftest import sign_in


def test_merge_two_leads_then_undo(make_live_user, live_db, page):
    rep = make_live_user()
    make_live_user("cora@example.com", "coordinator", "Cora Coordinator")
    kept = factories.lead(
        live_db, rep, "Maria Novak", email="maria@acme.example", source="Trade fair"
    )
    merged = factories.lead(
        live_db, rep, "Maria Novák", email="maria@acme.example", source="Website",
        phone="020 7946 0958",
    )  # fmt: skip

    sign_in(page, "cora@example.com")
    page.goto("/leads/")
    page.get_by_role("link", name="Possible duplicates").click()
    expect(page.get_by_role("heading", name="Possible duplicates", level=1)).to_be_visible()
    group = page.get_by_role("region", name="Same email")
    expect(group.get_by_role("link", name="Maria Novák", exact=True)).to_be_visible()
    expect(group.get_by_role("link", name="Merge")).to_be_visible()

    page.goto(f"/leads/{merged.id}")
    page.get_by_role("link", name="Merge into…").click()
    page.get_by_label("Search").fill("Novak")
    page.get_by_role("link", name="Maria Novak", exact=True).first.click()
    expect(page.get_by_role("heading", name="Merge Maria Novák into Maria Novak")).to_be_visible()
    source = page.get_by_role("group", name="Source")
    expect(source.get_by_role("radio", name="Trade fair")).to_be_checked()
    source.get_by_role("radio", name="Website").check()
    page.get_by_role("button", name="Merge").click()

    expect(page).to_have_url(re.compile(rf"/leads/{kept.id}$"))
    expect(page.get_by_role("heading", name="Maria Novak", level=1)).to_be_visible()
    expect(page.locator("#field-source")).to_contain_text("Website")
    expect(page.locator("#field-phone")).to_contain_text("020 7946 0958")
    expect(page.locator(".merge-note")).to_contain_text("Merged — Maria Novák · Undo")
    expect(page.get_by_text("Merged Maria Novák into this lead.")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo").click()
    expect(page).to_have_url(re.compile(rf"/leads/{merged.id}$"))
    expect(page.get_by_role("heading", name="Maria Novák", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Merge into…")).to_be_visible()
    live_db.expire_all()
    assert live_db.get(Lead, kept.id).source == "Trade fair"
    assert live_db.get(Lead, merged.id).status == "open"
