"""Generate QuickCRM's PNG app icons from static/icons/icon.svg.

Dev-only tool: the app never imports it, and Pillow is deliberately NOT in requirements*.txt.
Re-run it whenever icon.svg changes, from the repository root, in a throwaway venv:

    python3 -m venv /tmp/iconvenv && /tmp/iconvenv/bin/pip install pillow
    /tmp/iconvenv/bin/python scripts/make_icons.py

The background colour, corner radius and bolt polygon are read from icon.svg, so the PNGs
cannot drift from it. Shapes are drawn at 4x and downsampled with LANCZOS to anti-alias them.
"""

import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
SUPERSAMPLE = 4
VIEWBOX = 512

_NS = {"svg": "http://www.w3.org/2000/svg"}
_svg = ET.parse(ICONS / "icon.svg").getroot()
_rect = _svg.find("svg:rect", _NS)
BG = _rect.get("fill")
RADIUS = float(_rect.get("rx"))
_points = _svg.find("svg:polygon", _NS).get("points")
BOLT = [tuple(map(float, p.split(","))) for p in _points.split()]

# name: (size px, rounded corners with transparency outside?, mark scale about the centre)
# The maskable icon is full-bleed and its mark is shrunk to 0.8 so it sits well inside the
# spec's safe zone (a centred circle of radius 40% of the icon): furthest vertex ~161 of 205.
# iOS rounds apple-touch-icon itself and renders transparency as black, so it is full-bleed RGB.
OUTPUTS = {
    "icon-192.png": (192, True, 1.0),
    "icon-512.png": (512, True, 1.0),
    "icon-maskable-512.png": (512, False, 0.8),
    "apple-touch-icon.png": (180, False, 1.0),
}


def render(size: int, rounded: bool, scale: float) -> Image.Image:
    big = size * SUPERSAMPLE
    k = big / VIEWBOX
    if rounded:
        img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
        ImageDraw.Draw(img).rounded_rectangle((0, 0, big - 1, big - 1), RADIUS * k, fill=BG)
    else:
        img = Image.new("RGB", (big, big), BG)
    c = VIEWBOX / 2
    bolt = [((c + (x - c) * scale) * k, (c + (y - c) * scale) * k) for x, y in BOLT]
    ImageDraw.Draw(img).polygon(bolt, fill="white")
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    for name, (size, rounded, scale) in OUTPUTS.items():
        path = ICONS / name
        render(size, rounded, scale).save(path, optimize=True)
        print(f"{path.relative_to(ICONS.parent.parent)}  {size}x{size}  {path.stat().st_size} B")


if __name__ == "__main__":
    main()
