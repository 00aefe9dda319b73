"""QR codes drawn on the server (segno), for an ``<img>``: a phone's camera opens what they
hold — an authenticator app's secret, the app's address, its certificate."""

from __future__ import annotations

import segno


def svg_data_uri(text: str) -> str:
    """The QR code of ``text`` as an SVG ``data:`` URI (the pages' policy allows ``data:``
    images), black on white so a camera reads it in dark mode too."""
    return segno.make(text, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")
