"""An admin on a phone makes an API token for the website, copies it, then revokes it."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.models import ApiToken
from tests.e2e.conftest import open_area, sign_in


def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(page, make_live_user, live_db):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    make_live_user("rita@example.com", "rep", "Rita Rep")
    sign_in(page, "admin@example.com")
    open_area(page, "Admin")
    page.get_by_role("link", name="Manage API tokens").click()

    page.get_by_label("Token name").fill("Website form")
    page.get_by_label("Source").fill("website")
    page.get_by_label("Owner").select_option(label="Rita Rep (rep)")
    page.get_by_role("button", name="Create token").click()

    shown = page.get_by_label("Token for Website form")
    expect(shown).to_have_value(re.compile(r"^qcrm_[A-Za-z0-9_-]{43}$"))
    shown.click()
    expect(page.get_by_text("shown only this once")).to_be_visible()
    item = page.get_by_role("listitem").filter(has_text="Website form")
    expect(item).to_contain_text("Rita Rep")
    # A reload shows the page again; it makes no second token, and the secret is gone.
    page.reload()
    expect(page.get_by_label("Token for Website form")).to_have_count(0)
    live_db.expire_all()
    assert len(live_db.scalars(select(ApiToken)).all()) == 1

    page.get_by_role("link", name="← Admin").click()
    page.get_by_role("link", name="Manage API tokens").click()
    # Back on the page later, the token itself is gone for good.
    expect(page.get_by_label("Token for Website form")).to_have_count(0)

    item = page.get_by_role("listitem").filter(has_text="Website form")
    revoke = item.get_by_role("button", name="Revoke Website form")
    expect(revoke).to_be_hidden()  # behind its confirmation
    item.get_by_text("Revoke", exact=True).click()
    revoke.click()
    expect(page.get_by_role("status")).to_contain_text("Revoked the token Website form")
    expect(page.get_by_role("listitem").filter(has_text="Website form")).to_contain_text("revoked")
    live_db.expire_all()
    assert live_db.scalars(select(ApiToken.revoked_at)).one() is not None
