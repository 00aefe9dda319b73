"""Compressed responses: the HTML pages and fragments, the service worker (``/sw.js``) and
JSON answers go out Brotli-compressed to a browser that accepts it (every current one, over
HTTPS), gzip to one that accepts only gzip, as they are to the rest (docs/speed.md, "The
capture page on the wire"). Static files never reach Flask: WhiteNoise serves the ``.br``
and ``.gz`` copies that ``scripts/run`` writes next to them.

Compression is done by flask-compress after every other ``after_request`` function (it is
registered first), so the headers those set stay, and it adds ``Vary: Accept-Encoding``.
Streamed responses are sent as they are.

Only pages that reflect nothing the client chose are compressed (BREACH): a compressed
page holding both the CSRF token and text an attacker put in the URL or a form would let
them guess the token from the sizes of many answers. So an HTML answer is compressed only
for a GET without a query string (the capture page, every page opened from a link);
search results, filtered lists and answers to forms go uncompressed. JSON and the service
worker carry no reflected input next to a secret and are always compressed.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_compress import Compress

SETTINGS = {
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_MIMETYPES": ["text/html", "text/javascript", "application/json"],
    # Quality 5 compresses a page within a few per cent of 11 at a tenth of the CPU time.
    "COMPRESS_BR_LEVEL": 5,
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": 500,  # bytes; a smaller answer fits one packet anyway
    "COMPRESS_STREAMS": False,
}


class SafeCompress(Compress):
    """flask-compress, leaving uncompressed the HTML that may reflect the client's input."""

    def after_request(self, response: Response | None) -> Response:
        reflects = request.method != "GET" or bool(request.query_string)
        if response is not None and response.mimetype == "text/html" and reflects:
            response.vary.add("Accept-Encoding")
            return response
        return super().after_request(response)


def init_app(app: Flask) -> None:
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    SafeCompress(app)
