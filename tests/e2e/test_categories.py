"""Categories on a phone: an admin adds them; a rep taps one behind More on capture, it
stays on for the next capture (sticky, like Source), and the leads list filtered by it
shows the lead; a capture made offline carries its category when it syncs."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import Lead
from tests.e2e.conftest import open_area, sign_in, sign_out
from tests.e2e.test_offline import kept, on_server, open_app_ready_for_offline


def categories_of(live_db, name: str) -> list[str]:
    live_db.expire_all()
    lead = live_db.scalars(select(Lead).where(Lead.name == name)).one()
    return [c.name for c in lead.categories]


def test_an_admin_adds_categories_and_a_rep_tags_captures_with_one_tap(
    page, make_live_user, live_db
):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    make_live_user()
    sign_in(page, "admin@example.com")
    open_area(page, "Admin")
    page.get_by_role("link", name="Categories").click()
    for name in ("North of the river", "South of the river"):
        page.get_by_label("New category").fill(name)
        page.get_by_role("button", name="Add category").click()
        expect(page.get_by_role("status").filter(has_text="Added")).to_have_text(
            f"Added the category {name}."
        )
    sign_out(page)

    sign_in(page)
    page.get_by_role("button", name="More").click()
    north = page.get_by_role("checkbox", name="North of the river")
    box = north.bounding_box()
    assert box and box["height"] >= 44
    north.check()
    page.get_by_label("Name", exact=True).fill("Maria Novak")
    page.get_by_role("button", name="Save").click()
    expect(kept(page)).to_contain_text("Maria Novak")
    on_server(page, "Maria Novak")
    # Sticky: still on for the next card, and named beside More.
    expect(north).to_be_checked()
    expect(page.get_by_role("checkbox", name="South of the river")).not_to_be_checked()
    expect(page.locator("[data-sticky-categories]")).to_have_text("North of the river")
    page.get_by_label("Name", exact=True).fill("Tom Field")
    page.get_by_role("button", name="Save").click()
    on_server(page, "Tom Field")
    assert categories_of(live_db, "Maria Novak") == ["North of the river"]
    assert categories_of(live_db, "Tom Field") == ["North of the river"]
    # One tap takes it off again.
    page.get_by_role("checkbox", name="North of the river").uncheck()
    page.get_by_label("Name", exact=True).fill("Ann Plain")
    page.get_by_role("button", name="Save").click()
    on_server(page, "Ann Plain")

    open_area(page, "Leads")
    if not page.get_by_label("Category").is_visible():
        page.get_by_role("button", name="Filters").click()
    page.get_by_label("Category").select_option(label="North of the river")
    results = page.locator("#lead-results")
    expect(results).to_contain_text("Maria Novak")
    expect(results).to_contain_text("Tom Field")
    expect(results).not_to_contain_text("Ann Plain")
    expect(page).to_have_url(re.compile(r"[?&]category=\d+"))


def test_a_capture_made_offline_syncs_with_its_category(page, make_live_user, live_db):
    from tests import factories

    factories.category(live_db, "Large company", 1)
    make_live_user()
    open_app_ready_for_offline(page)
    page.context.set_offline(True)
    page.reload()
    page.get_by_role("button", name="More").click()
    page.get_by_role("checkbox", name="Large company").check()
    page.get_by_label("Name", exact=True).fill("Offline Olga")
    page.get_by_role("button", name="Save").click()
    expect(kept(page)).to_contain_text("Offline Olga")
    expect(page.get_by_text("1 waiting to sync", exact=True)).to_be_visible()
    expect(page.get_by_role("checkbox", name="Large company")).to_be_checked()
    page.context.set_offline(False)
    expect(page.get_by_text("0 waiting to sync", exact=True)).to_be_visible()
    on_server(page, "Offline Olga")
    assert categories_of(live_db, "Offline Olga") == ["Large company"]
