"""Two-step sign-in on a phone: turned on from the account page with the secret shown
there, then asked for after the password; a recovery code works once."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from playwright.sync_api import expect

from quickcrm.models import utcnow
from tests.e2e.conftest import sign_in, sign_out
from tests.e2e.test_accessibility import violations


def enter_code(page, typed: str) -> None:
    expect(page.get_by_role("heading", name="Enter the 6-digit code")).to_be_visible()
    assert violations(page) == []
    page.get_by_label("Code", exact=True).fill(typed)
    page.get_by_role("button", name="Verify").click()


def signed_in(page) -> None:
    expect(page).not_to_have_url(re.compile("/login"))
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_two_step_sign_in_on_a_phone(page, live_db, make_live_user):
    make_live_user("rita@example.com", "rep", "Rita Rep")
    sign_in(page, "rita@example.com")
    signed_in(page)
    page.goto("/account")
    page.get_by_role("link", name="Two-step sign-in").click()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert violations(page) == []
    secret = page.locator("#two-step-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code", exact=True).fill(totp.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    assert violations(page) == []
    recovery = codes.first.inner_text().strip()

    page.goto("/")
    sign_out(page)
    sign_in(page, "rita@example.com")
    # The next time step's code (accepted one step ahead): the one that turned it on is used.
    enter_code(page, totp.at(utcnow() + timedelta(seconds=30)))
    signed_in(page)

    sign_out(page)
    sign_in(page, "rita@example.com")
    enter_code(page, recovery)
    signed_in(page)

    sign_out(page)
    sign_in(page, "rita@example.com")
    enter_code(page, recovery)
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
