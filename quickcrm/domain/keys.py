"""The keys duplicate matching compares a lead or a contact on (docs/domain.md,
"Duplicates"): kept in columns beside the values, so a look-up while someone types reads an
index (quickcrm/domain/duplicates.py). Plain functions of one value: the models compute
them whenever the value is set, and revision 0026 computed them for existing rows with a
copy of this code. static/js/keys.js is their twin on the phone (duplicate hints from the
phone's own captures when the server cannot be asked): change both together."""

from __future__ import annotations

import re
import unicodedata

from quickcrm.domain.sorting import LETTERS

PERSON_KEY_MAX = 200
EMAIL_KEY_MAX = 254
# A phone number's last digits: "+44 20 7946 0958", "020 7946 0958" and "0044 20 7946 0958"
# share them, whatever region the number was typed in; fewer digits than this are no number.
PHONE_TAIL = 9
PHONE_MIN_DIGITS = 7


def person_key(name: str | None) -> str:
    """``name``'s words without accents, case or punctuation, in alphabetical order:
    "Novák, Maria", "maria novak" and "MARIA NOVAK" all give "maria novak"."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(sorted(re.findall(r"\w+", text.translate(LETTERS))))[:PERSON_KEY_MAX]


def email_key(email: str | None) -> str | None:
    """An email address as matching compares it: trimmed and lower-cased; ``None`` without
    an ``@``."""
    text = (email or "").strip().lower()
    if "@" not in text:
        return None
    return text[:EMAIL_KEY_MAX]


def phone_tail(phone: str | None) -> str | None:
    """The last ``PHONE_TAIL`` digits of a phone number, or ``None`` when it has fewer than
    ``PHONE_MIN_DIGITS`` (an extension after "x" or "ext" is left out)."""
    number = re.split(r"(?i)\s*(?:x|ext\.?|extension|#)\s*\d*\s*$", phone or "")[0]
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", number))
    if len(digits) < PHONE_MIN_DIGITS:
        return None
    return digits[-PHONE_TAIL:]


# Per table, the keys kept beside a value: {value column: (key column, function)}.
KEYED = {
    "lead": {
        "name": ("name_key", person_key),
        "email": ("email_key", email_key),
        "phone": ("phone_tail", phone_tail),
    },
    "contact": {"name": ("name_key", person_key)},
}


def keys_of(table: str, values: dict) -> dict:
    """The matching keys of the values ``values`` sets on a row of ``table``: for writes
    that bypass the models (an import's bulk INSERTs and UPDATEs)."""
    return {
        column: key(values[name])
        for name, (column, key) in KEYED.get(table, {}).items()
        if name in values
    }
