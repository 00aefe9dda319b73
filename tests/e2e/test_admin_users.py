"""An admin on a phone adds a rep, then deactivates them."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import User
from tests.e2e.conftest import open_area, sign_in


def test_an_admin_creates_a_rep_then_deactivates_them(page, make_live_user, live_db):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    sign_in(page, "admin@example.com")
    open_area(page, "Admin")
    page.get_by_role("link", name="Manage users").click()

    page.get_by_label("Name", exact=True).fill("Remy Rep")
    page.get_by_label("Email").fill("remy@example.com")
    expect(page.get_by_label("Role", exact=True)).to_have_value("rep")
    page.get_by_label("Temporary password").fill("first day pass")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_contain_text("Created Remy Rep (rep)")
    expect(page.get_by_label("Role of Remy Rep")).to_have_value("rep")

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Deactivate Remy Rep").click()
    expect(page.get_by_role("status")).to_contain_text("Deactivated Remy Rep")
    assert asked == ["Deactivate Remy Rep? They will be signed out and cannot sign in."]
    expect(page.get_by_role("button", name="Reactivate Remy Rep")).to_be_visible()
    live_db.expire_all()
    remy = live_db.scalar(select(User).where(User.email == "remy@example.com"))
    assert remy.role == "rep" and remy.active is False
