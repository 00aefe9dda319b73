"""Admin → Phones on a phone: the admin finds how to set up a rep's phone — the certificate
of the server's own authority and the address, each as a QR code — on one short page."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, open_area, sign_in
from tests.e2e.test_accessibility import violations
from tests.integration.test_phones import make_root


@pytest.fixture
def served_with_own_authority(live_app, tmp_path):
    """What scripts/serve tells the app on a team's own network."""
    root = make_root(tmp_path / "root.crt")
    before = {key: live_app.config.get(key) for key in ("CA_ROOT", "PUBLIC_URL")}
    live_app.config.update(CA_ROOT=str(tmp_path / "root.crt"), PUBLIC_URL="https://192.168.1.20")
    yield root
    live_app.config.update(before)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_admin_sets_up_a_phone_from_one_short_page(
    page, make_live_user, served_with_own_authority, scheme
):
    page.emulate_media(color_scheme=scheme)
    make_live_user("admin@example.com", "admin", "Ada Admin")
    sign_in(page, "admin@example.com")
    open_area(page, "Admin")
    page.get_by_role("link", name="Set up phones").click()
    expect(page.get_by_role("heading", name="Phones", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="QR code of the certificate download")).to_be_visible()
    expect(page.get_by_role("img", name="QR code of https://192.168.1.20")).to_be_visible()
    page.get_by_text("On an iPhone or iPad").click()
    expect(page.get_by_text("Certificate Trust Settings")).to_be_visible()
    page.screenshot(path=f"test-results/admin-phones-{scheme}.png", full_page=True)

    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2 * PHONE["height"], height
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert violations(page) == []

    with page.expect_download() as download:
        page.get_by_role("link", name="https://192.168.1.20/ca.crt").click()
    saved = download.value
    assert saved.suggested_filename == "quickcrm-ca.crt"
    certificate = x509.load_der_x509_certificate(Path(saved.path()).read_bytes())
    assert certificate == served_with_own_authority
