"""A rep who forgot their password, on a phone: *Forgot password?* → the link from the mail
server (a real SMTP conversation with a local one) → a new password → signed in; the
phone still signed in with the old one is signed out."""

from __future__ import annotations

import re
import threading

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.mailserver import SENDER, running_smtp

LINK = re.compile(r"https?://\S+/password/[A-Za-z0-9_-]+")


def test_a_rep_gets_a_link_by_mail_and_chooses_a_new_password(
    page, browser, browser_context_args, make_live_user, live_app
):
    make_live_user()
    sign_in(page)  # the rep's old phone, still signed in
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    saved = dict(live_app.config)
    with running_smtp() as smtp_server:
        live_app.config.update(MAIL_URL=smtp_server.url(), MAIL_FROM=SENDER, MAIL_TIMEOUT=5)
        new_phone = browser.new_context(**browser_context_args)
        try:
            rep = new_phone.new_page()
            rep.goto("/login")
            rep.get_by_role("link", name="Forgot password?").click()
            rep.get_by_label("Email").fill("rep@example.com")
            rep.get_by_role("button", name="Send me a link").click()
            expect(rep.get_by_role("status")).to_contain_text("If that address has an account")
            for thread in threading.enumerate():
                if thread.name == "quickcrm-mail":
                    thread.join(timeout=15)
            (message,) = smtp_server.messages
            link = LINK.search(message.message.get_content()).group(0)

            rep.goto(link)
            expect(rep.get_by_role("heading", name="Choose your password")).to_be_visible()
            rep.get_by_label("New password", exact=True).fill("a brand new passphrase")
            rep.get_by_label("Repeat new password").fill("a brand new passphrase")
            rep.get_by_role("button", name="Choose password").click()
            expect(
                rep.get_by_label("Name", exact=True)
            ).to_be_visible()  # signed in, on the capture page
        finally:
            new_phone.close()
            live_app.config.clear()
            live_app.config.update(saved)
    # The old phone's session ended with the old password.
    page.goto("/agenda")
    expect(page.get_by_label("Password")).to_be_visible()
