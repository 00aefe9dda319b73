"""Admin → Phones: the address phones open, and on a team's own network the certificate of
Caddy's authority to trust once (the certificate here is made as Caddy makes its root: a
self-signed CA certificate with an EC key)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from quickcrm.domain import phones


def make_root(path, name="Caddy Local Authority - 2026 ECC Root"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate


@pytest.fixture
def root(app, tmp_path):
    certificate = make_root(tmp_path / "root.crt")
    app.config.update(CA_ROOT=str(tmp_path / "root.crt"), PUBLIC_URL="https://192.168.1.20")
    return certificate


def test_the_page_shows_the_address_and_the_certificate_with_its_fingerprint(client, admin, root):
    page = client.get("/admin/phones")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'alt="QR code of https://192.168.1.20"' in html
    assert "https://192.168.1.20/ca.crt" in html
    digest = hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    assert ":".join(digest[i : i + 2] for i in range(0, 64, 2)) in html
    assert "Certificate Trust Settings" in html
    assert "plain HTTP" not in html


def test_a_phone_downloads_the_certificate_before_signing_in(client, root):
    response = client.get("/ca.crt")
    assert response.status_code == 200
    assert response.mimetype == "application/x-x509-ca-cert"
    assert "quickcrm-ca.crt" in response.headers["Content-Disposition"]
    assert x509.load_der_x509_certificate(response.data) == root


def test_no_certificate_without_an_authority_of_the_servers_own(app, client, admin, tmp_path):
    app.config.update(CA_ROOT=None, PUBLIC_URL="https://crm.example.com")
    assert client.get("/ca.crt").status_code == 404
    html = client.get("/admin/phones").get_data(as_text=True)
    assert "public certificate" in html
    assert "Certificate Trust Settings" not in html
    # scripts/serve named the file, Caddy has not made it yet: no certificate, no 500.
    app.config["CA_ROOT"] = str(tmp_path / "missing.crt")
    assert client.get("/ca.crt").status_code == 404


def test_a_plain_http_server_says_phones_get_no_offline_app(app, client, admin):
    app.config.update(CA_ROOT=None, PUBLIC_URL=None)
    html = client.get("/admin/phones").get_data(as_text=True)
    assert "plain HTTP" in html
    assert 'alt="QR code of http://localhost"' in html


def test_the_page_is_for_admins(client, coordinator):
    assert client.get("/admin/phones").status_code == 403


@pytest.mark.parametrize("content", [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\n"])
def test_a_file_that_is_not_a_certificate_is_none(tmp_path, content):
    (tmp_path / "root.crt").write_bytes(content)
    assert phones.authority(str(tmp_path / "root.crt")) is None


def test_an_address_is_the_configured_one_else_the_requests():
    assert phones.address("https://10.0.0.5:8443/", "http://x/") == phones.Address(
        "https://10.0.0.5:8443", secure=True, configured=True
    )
    assert phones.address(None, "http://192.168.1.20:8000/") == phones.Address(
        "http://192.168.1.20:8000", secure=False, configured=False
    )
