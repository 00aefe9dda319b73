"""An admin on a phone invites a rep, who chooses a password through the link; then the
admin deactivates them."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import User
from tests.e2e.conftest import open_area, sign_in


def invite_remy(page):
    open_area(page, "Admin")
    page.get_by_role("link", name="Manage users").click()
    page.get_by_label("Email").fill("remy@example.com")
    page.get_by_label("Name", exact=True).fill("Remy Rep")
    expect(page.get_by_label("Role", exact=True)).to_have_value("rep")
    page.get_by_role("button", name="Invite user").click()
    expect(page.get_by_role("heading", name="Invited Remy Rep (rep)")).to_be_visible()
    expect(page.get_by_label("Role of Remy Rep")).to_have_value("rep")
    link = page.get_by_label("Link for Remy Rep to choose a password")
    link.click()  # selected, to copy
    return link.input_value()


def test_an_invited_rep_chooses_a_password_and_is_signed_in(
    page, browser, browser_context_args, make_live_user, live_db
):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    sign_in(page, "admin@example.com")
    url = invite_remy(page)
    assert "/password/" in url

    # Remy opens the link on their own phone.
    remys_phone = browser.new_context(**browser_context_args)
    try:
        remy = remys_phone.new_page()
        remy.goto(url)
        expect(remy.get_by_role("heading", name="Choose your password")).to_be_visible()
        remy.get_by_label("New password", exact=True).fill("first day pass")
        remy.get_by_label("Repeat new password").fill("first day pass")
        remy.get_by_role("button", name="Choose password").click()
        expect(remy.get_by_text("Welcome, Remy Rep: your password is set")).to_be_visible()
        # The link worked once.
        remy.goto(url)
        expect(remy.get_by_role("heading", name="This link no longer works")).to_be_visible()
        expect(remy.get_by_text("Ask an admin for a new link")).to_be_visible()
    finally:
        remys_phone.close()


def test_an_admin_invites_a_rep_then_deactivates_them(page, make_live_user, live_db):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    sign_in(page, "admin@example.com")
    invite_remy(page)

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Deactivate Remy Rep").click()
    expect(page.get_by_role("status")).to_contain_text("Deactivated Remy Rep")
    assert asked == ["Deactivate Remy Rep? They will be signed out and cannot sign in."]
    expect(page.get_by_role("button", name="Reactivate Remy Rep")).to_be_visible()
    live_db.expire_all()
    remy = live_db.scalar(select(User).where(User.email == "remy@example.com"))
    assert remy.role == "rep" and remy.active is False
