"""What a card's or a badge's QR code holds, as a lead's fields: a vCard (2.1, 3.0, 4.0 —
also a ``BEGIN:VCARD`` block inside other text), a MeCard (``MECARD:N:Doe,Jane;TEL:…;;``),
or only a website's address. The text is exact (no OCR), so the form says "from the QR
code" rather than "from the card — check" (docs/cards.md, "QR codes").

Parsing only: the QR code is found and decoded in a photo by ``cards.photo_qr`` (OpenCV),
or by the browser's ``BarcodeDetector`` — whose text static/js/qr.js parses the same way:
the two are twins, keep them in step (tests/e2e/test_qr.py compares them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from quickcrm.domain import validation as v
from quickcrm.domain.imports import vcard

# A QR code holds at most 7,089 digits or 2,953 bytes: anything longer is not one's text.
PAYLOAD_MAX = 8000
# What the text may hold besides printable characters: tab, line feed, carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_VCARD = re.compile(r"BEGIN:VCARD[ \t]*\r?\n(.*?)(?:\r?\nEND:VCARD|\Z)", re.I | re.S)
_MECARD = re.compile(r"\s*MECARD:", re.I)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]+\Z", re.I)
_MECARD_ESCAPE = re.compile(r"\\(.)", re.S)


@dataclass(frozen=True)
class QrCard:
    """A QR code's contact, or its website alone (``kind`` "url"); each value exact."""

    kind: str  # "contact" or "url"
    name: str = ""
    company: str = ""
    title: str = ""
    email: str = ""
    phone: str = ""
    website: str = ""
    address: str = ""
    note: str = ""

    @property
    def exact(self) -> bool:
        """Whether it stands for the card (a contact) rather than adding to its text."""
        return self.kind == "contact"

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def parse(payload: object) -> QrCard | None:
    """The contact or website ``payload`` (a QR code's text) holds, or ``None``: not
    text, empty, longer than ``PAYLOAD_MAX``, holding NUL or other control bytes or lone
    surrogates (binary data), or anything else (a ticket number, Wi-Fi settings)."""
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(payload, str) or not payload.strip() or len(payload) > PAYLOAD_MAX:
        return None
    if _CONTROL.search(payload):
        return None
    try:
        payload.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return None
    found = _VCARD.search(payload)
    if found:
        return _from_vcard(found.group(1))
    if _MECARD.match(payload):
        return _from_mecard(payload.split(":", 1)[1])
    text = payload.strip()
    if _URL.match(text):
        return QrCard("url", website=text)
    return None


def _from_vcard(body: str) -> QrCard | None:
    text = "BEGIN:VCARD\n" + body.replace("\r\n", "\n").replace("\r", "\n") + "\nEND:VCARD\n"
    try:
        row = vcard.read_card(text)
    except v.Refused:
        return None
    return _contact(
        name=row["Name"],
        company=row["Company"],
        title=row["Job title"],
        email=row["Email"],
        phone=row["Phone"],
        website=row["Website"],
        address=row["Address"],
        note=row["Note"],
    )


def _from_mecard(body: str) -> QrCard | None:
    """``N:Doe,Jane;TEL:…;EMAIL:…;;``: fields end at an unescaped ``;``, a field's name at
    its first ``:``; ``\\;`` ``\\:`` ``\\,`` ``\\\\`` stand for the character. N is
    "family name,given name"; ADR's parts are separated by commas."""
    values: dict[str, list[str]] = {}
    for field in _split(body, ";"):
        key, colon, value = field.partition(":")
        if colon and key.strip():
            values.setdefault(key.strip().upper(), []).append(value)

    def first(key: str) -> str:
        return _mecard_text(values[key][0]) if key in values else ""

    name = ""
    if "N" in values:
        parts = [_mecard_text(p) for p in _split(values["N"][0], ",")]
        name = " ".join(p for p in reversed(parts[:2]) if p)
    phones = [_mecard_text(p) for p in values.get("TEL", [])]
    emails = [_mecard_text(p) for p in values.get("EMAIL", [])]
    address = ""
    if "ADR" in values:
        parts = (_mecard_text(part) for part in _split(values["ADR"][0], ","))
        address = ", ".join(part for part in parts if part)
    others = [
        *(f"Other phone: {p}" for p in phones[1:] if p),
        *(f"Other email: {e}" for e in emails[1:] if e),
    ]
    notes = [_mecard_text(n) for n in values.get("NOTE", [])]
    return _contact(
        name=name or first("NICKNAME"),
        company=first("ORG"),
        title=first("TITLE"),
        email=emails[0] if emails else "",
        phone=phones[0] if phones else "",
        website=first("URL"),
        address=address,
        note="\n".join(n for n in (*notes, *others) if n),
    )


def _split(text: str, separator: str) -> list[str]:
    """``text`` cut at each ``separator`` that no backslash escapes; escapes kept."""
    parts, current, escaped = [], [], False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _mecard_text(value: str) -> str:
    return _MECARD_ESCAPE.sub(lambda m: m.group(1), value).strip()


def _contact(**values: str) -> QrCard | None:
    """A contact of the values that are there (one-line fields on one line), or ``None``
    when nothing a lead keeps is."""
    cleaned = {
        key: (text.strip() if key == "note" else " ".join(text.split()))
        for key, text in values.items()
    }
    if not any(cleaned.values()):
        return None
    return QrCard("contact", **cleaned)


# --- A QR code's card as the capture form's fields -----------------------------------------

# The form's inputs a QR code fills, and the card's value for each.
FILLED = {"name": "name", "company_name": "company", "email": "email", "phone": "phone"}
LABELS = {"email": "Email", "phone": "Phone", "address": "Address"}


def form_fields(card: QrCard, checks: Mapping[str, Callable]) -> dict[str, str]:
    """What the capture form shows from ``card``: name (the company's when the card names
    no person), company, email, phone as the form's checks take them — one they refuse
    goes into the note, labelled, rather than being lost —; the title, the website
    ("Website: …"), the address (when the form has no *Address* field) and the card's own
    note in the note."""
    found: dict[str, str] = {}
    note: list[str] = [card.title] if card.title else []
    for name, attribute in FILLED.items():
        value = getattr(card, attribute) or (card.company if name == "name" else "")
        if not value:
            continue
        try:
            checks[name](value)
        except v.Refused:
            if attribute in LABELS:
                note.append(f"{LABELS[attribute]}: {value}")
            continue
        found[name] = value
    if card.website:
        note.append(f"Website: {card.website}")
    if card.address:
        if "address" in checks and _accepted(checks["address"], card.address):
            found["address"] = card.address
        else:
            note.append(f"Address: {card.address}")
    if card.note:
        note.append(card.note)
    text = "\n".join(note)
    if text and _accepted(checks["note"], text):
        found["note"] = text
    return found


def _accepted(check: Callable, value: str) -> bool:
    try:
        check(value)
    except v.Refused:
        return False
    return True
