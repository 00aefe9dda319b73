"""Admin → *Phones*: how a rep's phone gets the offline app — the HTTPS address as a QR
code, and on a team's own network (``scripts/serve`` without a domain) the certificate of
Caddy's authority to trust once, with the steps for iPhone and Android."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request, url_for

from quickcrm.domain import phones, qr
from quickcrm.web.guards import role_required
from quickcrm.web.render import render

bp = Blueprint("phones", __name__)

# The name a phone saves the certificate under (iOS shows it as the profile's file).
CERTIFICATE_FILE = "quickcrm-ca.crt"


@bp.get("/admin/phones")
@role_required("admin")
def index():
    address = phones.address(current_app.config.get("PUBLIC_URL"), request.host_url)
    authority = phones.authority(current_app.config.get("CA_ROOT"))
    certificate_url = address.url + url_for("phones.certificate") if authority is not None else None
    return render(
        "admin/phones.html",
        [],
        address=address,
        address_qr=qr.svg_data_uri(address.url),
        authority=authority,
        certificate_url=certificate_url,
        certificate_qr=qr.svg_data_uri(certificate_url) if certificate_url else None,
    )


@bp.get("/ca.crt")
def certificate():
    """The root certificate of the server's own authority, for a phone to install before it
    trusts this server, so before anyone signs in on it: a CA certificate holds only a public
    key (its private key never leaves Caddy's folder). 404 when the server has none (a
    public certificate, or plain HTTP)."""
    authority = phones.authority(current_app.config.get("CA_ROOT"))
    if authority is None:
        abort(404)
    return Response(
        authority.der,
        mimetype="application/x-x509-ca-cert",
        headers={
            "Content-Disposition": f'attachment; filename="{CERTIFICATE_FILE}"',
            "Cache-Control": "no-cache",
        },
    )
