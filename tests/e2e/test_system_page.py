"""Admin → System on a phone: an admin finds it from Admin, reads each job's last and next
run, the database and the version, runs the purge now and reads its result; the page fits
a phone's width and about two screens."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, sign_in


def test_an_admin_reads_the_system_page_and_runs_the_purge_on_a_phone(page, make_live_user):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    sign_in(page, "admin@example.com")
    page.goto("/admin")
    page.get_by_role("link", name="System", exact=True).click()
    expect(page.get_by_role("heading", name="System", exact=True)).to_be_visible()
    purge = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Purge"))
    expect(purge).to_contain_text("every hour")
    expect(purge).to_contain_text("Not yet")
    expect(page.get_by_text("No backup folder set")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^QuickCRM \d"))).to_be_visible()

    page.get_by_role("button", name="Run purge now").click()
    expect(page.get_by_text("Purge done: Nothing to purge.")).to_be_visible()
    expect(purge.get_by_text("OK", exact=True)).to_be_visible()
    expect(purge).not_to_contain_text("Not yet")

    width, height = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert width <= PHONE["width"]
    assert height <= 2 * PHONE["height"], height
