"""The order names are listed in: as people expect, whatever the database's collation.

``sort_key(name)`` is what a list sorted by name compares: the name with its accents
removed, its case folded and its spaces collapsed, so "acme", "Énergie" and "Zeta" come
in that order and "  Zeta" sorts with "Zeta". It is kept in each named table's
``name_sort`` column (revision 0020_name_sort_keys), so a list reads its rows in order
from an index on ``(name_sort, id)`` and pages on it: a plain column compares the same
way on SQLite and PostgreSQL, which an ICU collation would not.
"""

from __future__ import annotations

import unicodedata

# Letters that are their own letter in Unicode, not a letter with a mark, read as the one
# people file them under: "Łódź" with the L's, "Ørsted" with the O's.
LETTERS = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d",
                         "þ": "th", "ħ": "h", "ı": "i"})  # fmt: skip

# The width of the name_sort columns: decomposing can make a key longer than its name
# ("ﷺ" becomes 18 letters), so keys are cut to fit; a tie past it is broken by the id.
SORT_KEY_MAX = 200


def sort_key(name: str | None) -> str:
    """``name`` as a list sorted by name compares it: "  Énergie " gives "energie"."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(text.translate(LETTERS).split())[:SORT_KEY_MAX]
