"""Compressed responses: the HTML pages and fragments, the service worker (``/sw.js``) and
JSON answers go out Brotli-compressed to a browser that accepts it (every current one, over
HTTPS), gzip to one that accepts only gzip, as they are to the rest (README, "Speed").
Static files never reach Flask: WhiteNoise serves the ``.br`` and ``.gz`` copies that
``scripts/run`` writes next to them.

Compression is done by flask-compress after every other ``after_request`` function (it is
registered first), so the headers those set stay, and it adds ``Vary: Accept-Encoding``.
Streamed responses are sent as they are.
"""

from __future__ import annotations

from flask import Flask
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


def init_app(app: Flask) -> None:
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    Compress(app)
