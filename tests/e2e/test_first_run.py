"""First run on a phone: only someone with the setup code the server printed becomes the
first admin."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.domain import users
from quickcrm.models import User


def test_the_first_admin_is_made_with_the_servers_setup_code(page, live_app, live_db):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_label("Setup code").fill("AAAA-BBBB-CCCC")
    page.get_by_label("Your name").fill("Ada Admin")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill("password")
    page.get_by_label("Repeat password").fill("password")
    page.get_by_role("button", name="Create admin").click()
    expect(page.get_by_label("Setup code")).to_have_accessible_description(
        re.compile("That is not the setup code")
    )
    assert live_db.scalar(select(User.id)) is None

    page.get_by_label("Setup code").fill(users.setup_code(live_app.config["SECRET_KEY"]))
    page.get_by_label("Password", exact=True).fill("qwertyuiop")
    page.get_by_label("Repeat password").fill("qwertyuiop")
    page.get_by_role("button", name="Create admin").click()
    expect(page.get_by_label("Password", exact=True)).to_have_accessible_description(
        re.compile("one of the most common passwords")
    )

    page.get_by_label("Password", exact=True).fill("tide tables at dawn")
    page.get_by_label("Repeat password").fill("tide tables at dawn")
    page.get_by_role("button", name="Create admin").click()
    expect(page.get_by_role("status").filter(has_text="Welcome")).to_contain_text("Ada Admin")
    live_db.expire_all()
    assert live_db.scalar(select(User.role).where(User.email == "ada@example.com")) == "admin"
