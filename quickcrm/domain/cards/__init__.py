"""Business cards: the lines a card photo's OCR read become a lead's fields
(``extract.read_card``), and a capture sent with a card photo is filled from it
(``fill_capture``) — only the fields the rep left empty."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from quickcrm.domain import validation as v
from quickcrm.domain.cards.extract import Card, read_card

__all__ = ["Card", "card_label", "fill_capture", "form_fields", "read_card"]

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
    filled = dict(raw)
    read = form_fields(card, checks) if card is not None else {}
    for name, value in read.items():
        if name == "note":
            note = (filled.get("note") or "").strip()
            filled["note"] = f"{note}\n{value}" if note and value not in note else note or value
        elif not (filled.get(name) or "").strip():
            filled[name] = value
    if not (filled.get("name") or "").strip():
        filled["name"] = card_label(when)
    return filled
