"""The search box of the leads list: the leads whose fields contain a text, or have a word
starting with one or two letters or digits, looked up in the indexes of revisions
0005_lead_search and 0012_word_prefix_search."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Text,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from quickcrm.models import Lead

# The columns the search box looks in.
SEARCHED = (Lead.name, Lead.company_name, Lead.email, Lead.phone, Lead.note)
# The most leads a search may find through its index (revision 0005_lead_search) to be
# listed from what the index found; a more common text reads the list in its own order,
# where a page of it fills after a few rows. Measured among bench/leads.py's 100,000 leads:
# on SQLite, collecting and sorting 5,000 matches cost about what reading did (~20 ms); on
# PostgreSQL, asking the index for up to 1,000 costs under 10 ms for any text, while its
# planner, left to guess how rare a text is, could guess common and read every lead (300 ms).
# The word-prefix index of revision 0012_word_prefix_search is asked the same way.
SEARCH_INDEX_MAX = {"sqlite": 5_000, "postgresql": 1_000}


def search_condition(session: Session, typed: str) -> ColumnElement[bool] | None:
    """The leads whose name, company name, email, phone or note contain ``typed``, ignoring
    case; ``%``, ``_`` and quotes are literal. ``None`` when there is nothing to search.

    One or two letters or digits are too short for a trigram: they find the leads with a
    *word* that starts with them (a word is a run of letters and digits), looked up in the
    word-prefix index. One or two characters with anything else in them (``@``, ``%``)
    are looked for anywhere, reading the leads.

    A text of three characters or more is looked up in the trigram index first: when it is
    rare, the condition is "one of the leads the index found"."""
    typed = typed.replace("\x00", "")  # no text holds NUL (PostgreSQL refuses it)
    if not typed:
        return None
    dialect = session.get_bind().dialect.name
    pattern = "%" + typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if dialect == "sqlite":
        # SQLite's LIKE already ignores ASCII case (as its lower() does) and skips the five
        # lower() calls per row that ILIKE compiles to.
        contains = or_(*(c.like(pattern, escape="\\") for c in SEARCHED))
    else:
        contains = or_(*(c.ilike(pattern, escape="\\") for c in SEARCHED))
    if len(typed) < 3:
        if typed.isalnum():
            return _word_starts(session, dialect, typed, contains)
        return contains  # punctuation is no word: read the leads
    most = SEARCH_INDEX_MAX[dialect]
    if dialect == "sqlite":
        # One FTS5 string: operators, quotes and asterisks typed in it are plain characters.
        phrase = '"' + typed.replace('"', '""') + '"'
        found = (
            select(literal_column("rowid"))
            .select_from(table("lead_search"))
            .where(literal_column("lead_search").match(phrase))
        )
        counted = select(func.count()).select_from(found.limit(most + 1).subquery())
        if session.scalar(counted) > most:
            return contains
        # FTS5 also ignores the case of non-ASCII letters: the LIKE conditions decide.
        return and_(Lead.id.in_(found), contains)
    # PostgreSQL reads its trigram indexes for a rare text; a common one stops early.
    return _found_or(session, contains, most)


def _found_or(session: Session, condition: ColumnElement[bool], most: int) -> ColumnElement[bool]:
    """PostgreSQL: "one of the leads meeting ``condition``" when there are ``most`` or fewer
    (asked of an index, once), else ``condition`` itself, checked on the leads read in the
    list's order (a page of a common text fills after a few)."""
    ids = list(session.scalars(select(Lead.id).where(condition).limit(most + 1)))
    if len(ids) > most:
        return condition
    return Lead.id == any_(bindparam("found_ids", ids, type_=ARRAY(Integer)))


# Around a word (revision 0012's tokenizers): an ASCII character other than a letter or a
# digit always separates words; a non-ASCII one may (a dash) or may not (a letter).
_ASCII_SEPARATOR = "[^0-9A-Za-z\u0080-\U0010ffff]"
_NON_ASCII = "[\u0080-\U0010ffff]"


def _word_starts(
    session: Session, dialect: str, typed: str, contains: ColumnElement[bool]
) -> ColumnElement[bool]:
    """The leads with a word starting with ``typed`` (one or two letters or digits).

    A rare ``typed`` is looked up in the word-prefix index of revision
    0012_word_prefix_search. A common one is checked on each lead read in the list's order
    (a page of it fills after a few), by a pattern on the searched text that the index
    would agree with: cheaper per lead than asking the index."""
    most = SEARCH_INDEX_MAX[dialect]
    if dialect == "sqlite":
        words = table("lead_words")
        match = literal_column("lead_words").match(f'"{typed}"*')  # letters and digits only
        found = select(literal_column("rowid")).select_from(words).where(match)
        counted = select(func.count()).select_from(found.limit(most + 1).subquery())
        if session.scalar(counted) <= most:
            # The index folds the case of every letter; LIKE ignores ASCII case only, as
            # the longer searches do on SQLite.
            return and_(Lead.id.in_(found), contains)
        # A word starts where a column does or after an ASCII character other than a
        # letter or digit; GLOB is told to ignore the case of ASCII letters, as LIKE does.
        # Where a non-ASCII character comes before ``typed``, only the index knows whether
        # it ends a word: it is asked for that lead alone.
        start = "".join(f"[{c.lower()}{c.upper()}]" if c.isascii() else c for c in typed)
        in_index = found.where(literal_column("rowid") == Lead.id).exists()
        return and_(
            contains,
            or_(
                *(c.op("GLOB")(f"{start}*") for c in SEARCHED),
                *(c.op("GLOB")(f"*{_ASCII_SEPARATOR}{start}*") for c in SEARCHED),
                and_(or_(*(c.op("GLOB")(f"*{_NON_ASCII}{start}*") for c in SEARCHED)), in_index),
            ),
        )
    # The planner's estimate (from ANALYZE's statistics of the index) first: the index
    # finds a very common prefix's every lead before the first is read (130 ms for every
    # one of 100,000 leads), which costs more than checking the leads a page reads. The
    # estimate of a prefix the statistics do not list is a fraction of the table, so only
    # one far above ``most`` skips the probe.
    plan = session.execute(_ESTIMATE_WORD_STARTS, {"typed": typed}).scalar_one()
    if plan[0]["Plan"]["Plan Rows"] <= _VERY_COMMON * most:
        starts = func.lead_word_starts(*SEARCHED, type_=postgresql.ARRAY(Text))
        wanted = postgresql.array([func.lower(typed)])
        ids = list(session.scalars(select(Lead.id).where(starts.contains(wanted)).limit(most + 1)))
        if len(ids) <= most:
            return Lead.id == any_(bindparam("found_ids", ids, type_=ARRAY(Integer)))
    # The same words as lead_word_starts(): runs of [[:alnum:]], lower-cased. ILIKE first
    # passes over most leads for less.
    # The text is written into the statement: a plan made for any text (psycopg prepares
    # a statement run five times) guessed wrong, reading every lead (200 ms, not 20).
    text_of = func.lower(func.concat_ws(" ", *SEARCHED))
    wanted = func.lower(bindparam("word_start", typed, literal_execute=True))
    return and_(contains, text_of.op("~")(func.concat("(^|[^[:alnum:]])", wanted)))


_VERY_COMMON = 20


_ESTIMATE_WORD_STARTS = text(
    "EXPLAIN (FORMAT JSON) SELECT id FROM lead"
    " WHERE lead_word_starts(name, company_name, email, phone, note) @> ARRAY[lower(:typed)]"
)
