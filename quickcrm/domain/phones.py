"""What a phone needs to use QuickCRM with its offline app: the HTTPS address to open and,
when the server's certificate comes from Caddy's own authority (a team on one office or
event network, ``scripts/serve`` without a domain), that authority's root certificate to
trust once.

``scripts/serve`` tells the app both (``QUICKCRM_PUBLIC_URL``, ``QUICKCRM_CA_ROOT``); a
server started otherwise knows only the address it was reached at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

# A CA certificate of Caddy's is about 600 bytes: a larger file is not one.
CERTIFICATE_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class Address:
    url: str
    # Only over HTTPS does a phone's browser run the service worker: no offline app without.
    secure: bool
    # Where the address came from: scripts/serve's setting, or this request's own host.
    configured: bool


@dataclass(frozen=True)
class Authority:
    """The root certificate a phone installs and trusts."""

    name: str
    pem: bytes
    der: bytes
    # SHA-256 of the certificate, as a phone shows it (colon-separated pairs).
    fingerprint: str
    not_after: object


def address(public_url: str | None, request_url: str) -> Address:
    """The address phones open: the configured one, else the one this page was reached at."""
    url = (public_url or "").strip().rstrip("/") or request_url.rstrip("/")
    return Address(url=url, secure=urlsplit(url).scheme == "https", configured=bool(public_url))


def authority(path: str | None) -> Authority | None:
    """The root certificate at ``path``, or None when there is none to trust: no path (a
    public certificate from a domain, or no HTTPS), or a file that is missing, too large or
    not a certificate (``scripts/serve`` made it, Caddy has not yet)."""
    if not path:
        return None
    file = Path(path)
    try:
        if file.stat().st_size > CERTIFICATE_MAX_BYTES:
            return None
        certificate = x509.load_pem_x509_certificate(file.read_bytes())
    except (OSError, ValueError):
        return None
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    digest = certificate.fingerprint(hashes.SHA256()).hex().upper()
    return Authority(
        name=str(names[0].value) if names else "QuickCRM",
        pem=certificate.public_bytes(serialization.Encoding.PEM),
        der=certificate.public_bytes(serialization.Encoding.DER),
        fingerprint=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        not_after=certificate.not_valid_after_utc,
    )
