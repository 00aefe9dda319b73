"""An admin on a phone invites a rep, who chooses a password through the link; then the
admin deactivates them. Admin's pages fit a phone: a line a user, a page per user, a refused
field in view with the focus on it."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import User
from tests.e2e.conftest import PHONE, open_area, sign_in
from tests.e2e.test_accessibility import violations


def invite_remy(page):
    open_area(page, "Admin")
    page.get_by_role("link", name="Manage users").click()
    page.get_by_label("Email").fill("remy@example.com")
    page.get_by_label("Name", exact=True).fill("Remy Rep")
    expect(page.get_by_label("Role", exact=True)).to_have_value("rep")
    page.get_by_role("button", name="Invite user").click()
    expect(page.get_by_role("heading", name="Invited Remy Rep (rep)")).to_be_visible()
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
    page.get_by_role("link", name="Remy Rep’s page").click()
    expect(page.get_by_role("heading", name="Remy Rep", exact=True)).to_be_visible()
    expect(page.get_by_label("Role", exact=True)).to_have_value("rep")

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Deactivate Remy Rep").click()
    expect(page.get_by_role("status")).to_contain_text("Deactivated Remy Rep")
    assert asked == ["Deactivate Remy Rep? They will be signed out and cannot sign in."]
    expect(page.get_by_role("button", name="Reactivate Remy Rep")).to_be_visible()
    live_db.expire_all()
    remy = live_db.scalar(select(User).where(User.email == "remy@example.com"))
    assert remy.role == "rep" and remy.active is False


TEAM = (
    ("sam@example.com", "rep", "Sam Rep"),
    ("alex@example.com", "rep", "Alex Rep"),
    ("claire@example.com", "coordinator", "Claire Coordinator"),
    ("bea@example.com", "admin", "Bea Admin"),
)


def page_size(page) -> tuple[int, int]:
    return tuple(
        page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
    )


def test_admin_fits_a_phone_with_a_line_a_user_and_a_page_each(page, make_live_user):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    for email, role, name in TEAM:
        make_live_user(email, role, name)
    sign_in(page, "admin@example.com")
    open_area(page, "Admin")
    # The areas, the default stages, lost reasons and segments: about two screens.
    for area in ("Manage users", "Team settings", "Set up phones", "Manage API tokens",
                 "Import a CSV file", "System"):  # fmt: skip
        expect(page.get_by_role("link", name=area, exact=True)).to_be_visible()
    width, height = page_size(page)
    assert width <= PHONE["width"] and height < 2 * PHONE["height"], height

    page.get_by_role("link", name="Manage users").click()
    users = page.get_by_role("region", name=re.compile("^Everyone"))
    expect(users.get_by_role("listitem")).to_have_count(5)
    width, height = page_size(page)
    assert width <= PHONE["width"] and height < 2 * PHONE["height"], height

    # A refused invite: the message next to the field, in view above the bottom bar, and
    # the focus on the field.
    page.get_by_label("Email").fill("not an email")
    page.get_by_label("Name", exact=True).fill("Nora New")
    page.get_by_role("button", name="Invite user").click()
    email = page.get_by_label("Email")
    expect(email).to_be_focused()
    expect(email).to_have_attribute("aria-invalid", "true")
    error = page.locator("#email-error")
    expect(error).to_contain_text("email")
    expect(error).to_be_in_viewport(ratio=1)
    bar_top = page.get_by_role("navigation", name="Main").bounding_box()["y"]
    assert error.bounding_box()["y"] + error.bounding_box()["height"] <= bar_top
    expect(page.get_by_label("Name", exact=True)).to_have_value("Nora New")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], scheme

    # Their own page offers nothing an admin may not do to themselves.
    page.get_by_role("link", name=re.compile("^Ada Admin")).click()
    expect(page.get_by_text("This is you")).to_be_visible()
    for control in ("Role", "Hand over everything of Ada Admin to"):
        expect(page.get_by_label(control, exact=True)).to_have_count(0)
    refused_to_oneself = re.compile("Deactivate|Reset password")
    expect(page.get_by_role("button", name=refused_to_oneself)).to_have_count(0)

    # Another user's page: role, reset, hand over (never to themselves), deactivate.
    page.get_by_role("link", name="← Users").click()
    page.get_by_role("link", name=re.compile("^Sam Rep")).click()
    expect(page.get_by_role("heading", name="Sam Rep", exact=True)).to_be_visible()
    expect(page.get_by_label("Role", exact=True)).to_have_value("rep")
    for button in ("Save role of Sam Rep", "Reset password of Sam Rep",
                   "Hand over everything of Sam Rep", "Deactivate Sam Rep"):  # fmt: skip
        expect(page.get_by_role("button", name=button)).to_be_visible()
    takers = page.get_by_label("Hand over everything of Sam Rep to").locator("option")
    expect(takers).to_have_text(["Choose…", "Ada Admin", "Alex Rep", "Bea Admin",
                                 "Claire Coordinator"])  # fmt: skip
    width, height = page_size(page)
    assert width <= PHONE["width"] and height <= PHONE["height"], height
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], scheme
