"""Photo-like business cards with the truth beside them, for the tests and bench/cards.py:
a card in one of several layouts, photographed on a dark table — turned 3–8°, skewed in
perspective, blurred, unevenly lit with a shadow, saved as JPEG at quality 70."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
FONT_FILES = {
    "regular": ("DejaVuSans.ttf", "LiberationSans-Regular.ttf"),
    "bold": ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"),
}


@dataclass
class Truth:
    name: str
    company: str
    title: str
    email: str
    phone: str  # E.164
    phone_printed: str
    website: str
    address: list[str]


PEOPLE = [
    ("Jane", "Doe"), ("Amelia", "Hart"), ("Oliver", "Bennett"), ("Sophie", "Turner"),
    ("Lukas", "Schneider"), ("Anna", "Schmidt"), ("Jürgen", "Müller"), ("Claire", "Martin"),
    ("Pierre", "Dubois"), ("Marco", "Rossi"), ("Elena", "García"), ("Daniel", "Brooks"),
    ("Hannah", "Fischer"), ("Tom", "Walker"), ("Julia", "Weber"), ("Noah", "Clarke"),
]  # fmt: skip
COMPANIES = [
    ("Brightwave", "Technologies", "Ltd", "GB"), ("Northwind", "Traders", "Inc", "US"),
    ("Kessler", "Maschinenbau", "GmbH", "DE"), ("Bluefin", "Logistics", "Ltd", "GB"),
    ("Alpenblick", "Software", "GmbH", "DE"), ("Harbor", "Analytics", "Inc", "US"),
    ("Lumen", "Systems", "GmbH", "DE"), ("Redstone", "Consulting", "Ltd", "GB"),
]  # fmt: skip
TITLES = [
    "Head of Sales", "Sales Manager", "Chief Executive Officer", "Key Account Manager",
    "Vertriebsleiterin", "Business Development Director", "Marketing Manager",
    "Geschäftsführer", "Senior Consultant", "Head of Operations",
]  # fmt: skip
ADDRESSES = {
    "GB": (["12 High Street", "London EC1A 1BB"], "+44 20 7946 {0:04d}", "020 7946 {0:04d}"),
    "US": (["500 Market St", "San Francisco, CA 94105"], "+1 415-555-{0:04d}", "(415) 555-{0:04d}"),
    "DE": (["Hauptstraße 12", "10115 Berlin"], "+49 30 1234{0:04d}", "030 1234{0:04d}"),
}  # fmt: skip


def font(size: int, weight: str = "regular") -> ImageFont.FreeTypeFont:
    for folder in FONT_DIRS:
        for name in FONT_FILES[weight]:
            path = Path(folder) / name
            if path.exists():
                return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def ascii_local(text: str) -> str:
    out = text.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("é", "e"), ("í", "i")):
        out = out.replace(a, b)
    return out


def truth(seed: int) -> Truth:
    rng = random.Random(seed)
    first, last = rng.choice(PEOPLE)
    stem, word, legal, country = rng.choice(COMPANIES)
    lines, international, local = ADDRESSES[country]
    number = rng.randrange(100, 9999)
    printed = (international if rng.random() < 0.5 else local).format(number)
    e164 = "+" + "".join(ch for ch in international.format(number) if ch.isdigit())
    tld = {"GB": "co.uk", "US": "com", "DE": "de"}[country]
    domain = f"{stem.lower()}.{tld}"
    local_part = rng.choice(
        [
            f"{ascii_local(first)}.{ascii_local(last)}",
            f"{ascii_local(first)[0]}.{ascii_local(last)}",
        ]
    )
    return Truth(
        name=f"{first} {last}",
        company=f"{stem} {word} {legal}",
        title=rng.choice(TITLES),
        email=f"{local_part}@{domain}",
        phone=e164,
        phone_printed=printed,
        website=f"www.{domain}",
        address=list(lines),
    )


def card_image(t: Truth, layout: int, qr: str | None = None) -> Image.Image:
    """The flat card (1050 × 600, as printed at 300 dpi) in one of three layouts, with a
    QR code holding ``qr`` on its right when given (tests/unit/test_qr.py)."""
    card = Image.new("RGB", (1050, 600), (250, 249, 245))
    draw = ImageDraw.Draw(card)
    ink, accent, grey = (25, 25, 30), (20, 60, 120), (90, 90, 95)
    company = t.company.upper() if layout != 1 else t.company
    if layout == 0:  # company on top, person in the middle, contacts at the bottom
        draw.text((60, 50), company, font=font(42, "bold"), fill=accent)
        draw.text((60, 190), t.name, font=font(54, "bold"), fill=ink)
        draw.text((60, 260), t.title, font=font(34), fill=grey)
        draw.text((60, 400), f"Tel {t.phone_printed}", font=font(30), fill=ink)
        draw.text((60, 450), f"{t.email}  {t.website}", font=font(30), fill=ink)
        draw.text((60, 500), ", ".join(t.address), font=font(26), fill=grey)
    elif layout == 1:  # person first, company under the title, contacts on the right
        draw.text((60, 60), t.name, font=font(52, "bold"), fill=ink)
        draw.text((60, 130), t.title, font=font(32), fill=grey)
        draw.text((60, 190), company, font=font(36, "bold"), fill=accent)
        draw.rectangle((60, 260, 990, 264), fill=accent)
        draw.text((60, 320), t.phone_printed, font=font(30), fill=ink)
        draw.text((60, 370), t.email, font=font(30), fill=ink)
        draw.text((60, 420), t.website, font=font(30), fill=ink)
        for i, line in enumerate(t.address):
            draw.text((560, 320 + 50 * i), line, font=font(28), fill=grey)
    else:  # a coloured band with the company, labelled contact lines
        draw.rectangle((0, 0, 1050, 150), fill=accent)
        draw.text((60, 45), company, font=font(44, "bold"), fill=(255, 255, 255))
        draw.text((60, 200), t.name, font=font(50, "bold"), fill=ink)
        draw.text((60, 265), t.title, font=font(32), fill=grey)
        draw.text((60, 350), f"T: {t.phone_printed}", font=font(30), fill=ink)
        draw.text((60, 400), f"E: {t.email}", font=font(30), fill=ink)
        draw.text((60, 450), f"W: {t.website}", font=font(30), fill=ink)
        draw.text((60, 520), " · ".join(t.address), font=font(26), fill=grey)
    if qr is not None:
        card.paste(qr_image(qr, 280), QR_PLACES[layout])
    return card


# Where each layout has room for a QR code of 280 px (top left corner).
QR_PLACES = ((740, 100), (770, 10), (760, 160))


def qr_image(payload: str, side: int) -> Image.Image:
    """A QR code holding ``payload`` (segno: the smallest version that fits, error level
    M), at most ``side`` px wide with its quiet zone, in whole pixels a module."""
    import segno

    code = segno.make(payload, error="m", micro=False)
    out = io.BytesIO()
    width, _ = code.symbol_size(scale=1, border=4)
    code.save(out, kind="png", scale=max(1, side // width), border=4)
    out.seek(0)
    return Image.open(out).convert("RGB")


def photo(t: Truth, layout: int, seed: int, quality: int = 70, qr: str | None = None) -> bytes:
    """The card as a phone photographs it on a dark table: JPEG bytes. With a QR code the
    card fills more of the picture (2,000 px wide), as a rep frames a code to read."""
    rng = random.Random(seed)
    card = card_image(t, layout, qr)
    size = (1600, 1200)
    if qr is not None:
        size = (2000, 1500)
        card = card.resize((card.width * 8 // 5, card.height * 8 // 5), Image.BICUBIC)
    # uneven light: a gradient darker on one side, and a soft shadow across a corner
    light = Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize(card.size)
    light = light.point(lambda v: 255 - int(v * rng.uniform(0.15, 0.3)))
    card = Image.composite(card, Image.new("RGB", card.size, (0, 0, 0)), light)
    table = Image.new("RGB", size, (38, 34, 32))
    angle = rng.uniform(3, 8) * rng.choice((-1, 1))
    turned = card.rotate(angle, expand=True, resample=Image.BICUBIC, fillcolor=(38, 34, 32))
    mask = Image.new("L", card.size, 255).rotate(angle, expand=True, resample=Image.BICUBIC)
    table.paste(turned, ((size[0] - turned.width) // 2, (size[1] - turned.height) // 2), mask)
    # perspective: the far edge a little narrower
    w, h = table.size
    skew = rng.uniform(0.02, 0.05) * w
    coeffs = _perspective(
        [(0, 0), (w, 0), (w, h), (0, h)], [(skew, 0), (w - skew, 0), (w, h), (0, h)]
    )
    table = table.transform(table.size, Image.PERSPECTIVE, coeffs, Image.BICUBIC)
    table = table.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2)))
    out = io.BytesIO()
    table.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _perspective(source, target):
    """The coefficients PIL's PERSPECTIVE transform needs to map ``target`` onto
    ``source``."""
    import numpy as np

    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=float)
    b = np.array(source, dtype=float).reshape(8)
    return np.linalg.solve(a, b).tolist()


def sample(seed: int, qr: str | None = None) -> tuple[Truth, bytes]:
    """A card and its photo; with a QR code holding ``qr`` when given."""
    t = truth(seed)
    return t, photo(t, seed % 3, seed, qr=qr)


def vcard_of(t: Truth, version: str = "3.0") -> str:
    """The vCard a card's QR code holds for ``t`` (as contact apps print them)."""
    first, last = t.name.split(" ", 1)
    return "\r\n".join(
        [
            "BEGIN:VCARD",
            f"VERSION:{version}",
            f"N:{last};{first};;;",
            f"FN:{t.name}",
            f"ORG:{t.company}",
            f"TITLE:{t.title}",
            f"TEL;TYPE=work:{t.phone}",
            f"EMAIL:{t.email}",
            f"URL:https://{t.website}",
            f"ADR;TYPE=work:;;{t.address[0]};{t.address[1]};;;",
            "END:VCARD",
            "",
        ]
    )
