"""Revision 0016: PostgreSQL's word-prefix function gives the same set as revision 0012's."""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy import text

WORDS = importlib.import_module("quickcrm.migrations.versions.0016_cheaper_word_starts")

SAMPLES = [
    ("Zoë Quartz-Smith", "Ärzte GmbH & Co. KG", "z.q@example.com", "+44 20 7946 0958", None),
    (None, None, None, None, None),
    ("", "  ", "---", "", "a"),
    ("O'Brien", None, None, None, "Met at the stand;\nwants a demo (20 seats) — call 15th"),
    ("東京 商事", "ΑΒΓ δέλτα", None, "0049 (0)30 1234", "x1 y22 z333"),
]


@pytest.mark.parametrize("parts", SAMPLES)
def test_the_loop_finds_the_same_starts_as_the_sets_it_replaced(db, parts):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite finds word starts with FTS5 (revision 0012)")
    old = WORDS.SETS.replace("FUNCTION lead_word_starts", "FUNCTION pg_temp.old_word_starts")
    db.execute(text(old))
    call = "({}(VARIADIC CAST(:parts AS text[])))"
    new = db.scalar(text("SELECT " + call.format("lead_word_starts")), {"parts": list(parts)})
    before = db.scalar(
        text("SELECT " + call.format("pg_temp.old_word_starts")), {"parts": list(parts)}
    )
    assert set(new) == set(before)


def test_the_starts_are_each_words_first_letter_and_first_two(db):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite finds word starts with FTS5 (revision 0012)")
    starts = db.scalar(text("SELECT lead_word_starts('Zoë Quartz-Smith', NULL, 'x@Ab.io')"))
    assert set(starts) == {"z", "zo", "q", "qu", "s", "sm", "x", "a", "ab", "i", "io"}
    language = db.scalar(
        text(
            "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
            " WHERE p.proname = 'lead_word_starts'"
        )
    )
    assert language == "plpgsql"  # revision 0016's, not 0012's
