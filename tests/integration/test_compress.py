"""Pages and the service worker travel compressed: Brotli to a browser that accepts it,
gzip to one that accepts only gzip, as they are to one that accepts neither."""

from __future__ import annotations

import gzip
import re

import brotli
import pytest

from tests.conftest import csrf_token

# A CSRF token (payload.timestamp.signature) is signed anew per page: two pages made either
# side of a second differ there and nowhere else.
_CSRF_TOKEN = re.compile(r"[\w-]{20,}\.[\w-]{6}\.[\w-]{27}")


def _body(response) -> str:
    data = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        data = brotli.decompress(data)
    elif encoding == "gzip":
        data = gzip.decompress(data)
    return _CSRF_TOKEN.sub("CSRF-TOKEN", data.decode())


@pytest.mark.parametrize("path", ["/", "/sw.js"])
@pytest.mark.parametrize(
    ("accepted", "expected"),
    [("gzip, deflate, br, zstd", "br"), ("gzip, deflate", "gzip"), ("identity", None)],
)
def test_the_capture_page_and_service_worker_are_sent_compressed(
    client, rep, path, accepted, expected
):
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    response = client.get(path, headers={"Accept-Encoding": accepted})
    assert response.status_code == plain.status_code == 200
    assert response.headers.get("Content-Encoding") == expected
    assert "Accept-Encoding" in response.headers.get("Vary", "")
    assert _body(response) == _body(plain)
    if expected:
        assert len(response.get_data()) < len(plain.get_data()) / 2


def test_an_htmx_fragment_keeps_its_vary_headers_when_compressed(client, rep):
    response = client.get("/leads/", headers={"Accept-Encoding": "br", "HX-Request": "true"})
    assert response.status_code == 200
    vary = response.headers.get("Vary", "")
    assert "HX-Request" in vary and "Accept-Encoding" in vary


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [("GET", "/leads/?q=secret-guess", None), ("POST", "/", {"name": ""})],
)
def test_a_page_that_reflects_the_clients_input_is_not_compressed(client, rep, method, path, data):
    """BREACH: a compressed page holding the CSRF token beside attacker-chosen text would
    leak the token through the answer's size (quickcrm/web/compress.py)."""
    if data is not None:
        data = {**data, "csrf_token": csrf_token(client, "/")}
    response = client.open(path, method=method, data=data, headers={"Accept-Encoding": "br"})
    assert response.mimetype == "text/html"
    assert "Content-Encoding" not in response.headers
    assert "Accept-Encoding" in response.headers.get("Vary", "")
