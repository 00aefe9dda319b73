"""Business cards: the lines a card photo's OCR read become a lead's fields
(``extract.read_card``), a QR code in the photo gives them exactly (``qr_in_photo``,
``qr.form_fields``), and a capture sent with a card photo is filled from it
(``fill_capture``, ``fill_fields``) — only the fields the rep left empty."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from quickcrm.domain import validation as v
from quickcrm.domain.cards import qr
from quickcrm.domain.cards.extract import Card, read_card
from quickcrm.domain.cards.qr import QrCard

__all__ = [
    "Card",
    "QrCard",
    "Reading",
    "card_label",
    "fill_capture",
    "fill_fields",
    "form_fields",
    "qr_in_photo",
    "read_card",
]

# Where a capture's fields came from, besides the rep's typing: a card's text read by the
# OCR ("from a card — check") or a QR code, which is exact ("from the QR code").
FROM_CARD = "card"
FROM_QR = "qr"

# The capture form's inputs a card fills, and the card's field for each.
FILLED = {"name": "name", "company_name": "company", "email": "email", "phone": "phone"}


def card_label(when: datetime) -> str:
    """The name of a lead whose card gave none: "Card of 29 Nov 10:32"."""
    return f"Card of {when.day} {when:%b %H:%M}"


def form_fields(card: Card, checks: Mapping[str, Callable]) -> dict[str, str]:
    """What the capture form shows from ``card``: the values its checks accept (a phone
    number the OCR misread is left out, not refused), title and website in the note."""
    fields: dict[str, str] = {}
    for name, attribute in FILLED.items():
        value = getattr(card, attribute)
        if not value:
            continue
        try:
            checks[name](value)
        except v.Refused:
            continue
        fields[name] = value
    if card.note():
        fields["note"] = card.note()
    return fields


def fill_capture(
    raw: Mapping[str, str],
    card: Card | None,
    *,
    checks: Mapping[str, Callable],
    when: datetime,
) -> dict[str, str]:
    """A capture's inputs filled from its card where the rep left them empty (never over
    what was typed); a note gets the title and website added. Without a name, the lead is
    called ``card_label(when)`` so it can be found and checked."""
    return fill_fields(raw, form_fields(card, checks) if card is not None else {}, when=when)


def fill_fields(raw: Mapping[str, str], read: Mapping[str, str], *, when: datetime) -> dict:
    """A capture's inputs filled with the form fields ``read`` from its card photo (its
    text or its QR code) where the rep left them empty; the note added to. Without a name,
    the lead is called ``card_label(when)``."""
    filled = dict(raw)
    for name, value in read.items():
        if name == "note":
            note = (filled.get("note") or "").strip()
            filled["note"] = f"{note}\n{value}" if note and value not in note else note or value
        elif not (filled.get(name) or "").strip():
            filled[name] = value
    if not (filled.get("name") or "").strip():
        filled["name"] = card_label(when)
    return filled


def qr_in_photo(photo: bytes) -> QrCard | None:
    """The contact a QR code in ``photo`` holds; else the website one holds; else
    ``None`` (no QR code, one that cannot be decoded, or one holding something else)."""
    from quickcrm.domain.cards.decode import qr_texts  # OpenCV, loaded on the first photo

    found = [card for card in map(qr.parse, qr_texts(photo)) if card is not None]
    return next((card for card in found if card.exact), found[0] if found else None)


@dataclass(frozen=True)
class Reading:
    """What a card photo gave the capture form: its fields, where they came from
    (``FROM_QR``: exact; ``FROM_CARD``: the OCR's, for the rep to check; "": nothing),
    and why the text could not be read, when it could not."""

    fields: dict[str, str] = field(default_factory=dict)
    source: str = ""
    problem: str = ""

    @classmethod
    def of_qr(cls, card: QrCard, checks: Mapping[str, Callable]) -> Reading:
        return cls(qr.form_fields(card, checks), FROM_QR)

    @classmethod
    def of_text(
        cls,
        card: Card | None,
        checks: Mapping[str, Callable],
        *,
        website: QrCard | None = None,
        problem: str = "",
    ) -> Reading:
        """The OCR's reading (``card``; ``None`` when it failed), with the website of a
        QR code that held only that in the note."""
        fields = form_fields(card, checks) if card is not None else {}
        if website is not None and website.website:
            line = f"Website: {website.website}"
            note = fields.get("note", "")
            if website.website not in note:
                fields["note"] = f"{note}\n{line}" if note else line
        return cls(fields, FROM_CARD if fields else "", problem)
