"""The leads list's search: what it finds, on SQLite and PostgreSQL, and when it lists what
an index found (SQLite's FTS5 tables, PostgreSQL's trigram and word-prefix indexes).
Whether the database's plans read those indexes is bench/search_plans.py's to check."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event, select, text

from quickcrm.domain import leads
from quickcrm.models import Lead
from tests import factories
from tests.conftest import every_page

TODAY = date(2026, 11, 23)


@pytest.fixture(params=["rare", "common"])
def kind(request, db, monkeypatch) -> str:
    """Each test of what a search means runs twice: as a rare text, listed from what the
    search index found, and as a common one, whose conditions are checked on every lead
    read. Both must find the same leads."""
    if request.param == "common":
        monkeypatch.setitem(leads.SEARCH_INDEX_MAX, _dialect(db), -1)
    return request.param


def _dialect(db) -> str:
    return db.get_bind().dialect.name


def found(db, viewer, typed: str) -> set[str]:
    """The names of the leads a search finds, of any status. The page, its count and review
    mode's list of ids must agree."""
    query = leads.LeadQuery.from_args({"q": typed, "status": "all"})
    page = leads.list_leads(db, query, viewer, today=TODAY)
    ids = leads.lead_ids(db, query, viewer, today=TODAY)
    assert sorted(lead.id for lead in page.leads) == sorted(ids)
    assert page.total == len(ids)
    return {lead.name for lead in page.leads}


def _index_agrees_with_the_leads(db) -> None:
    """SQLite's FTS5 checks its indexes against the lead table (an error if they differ)."""
    if _dialect(db) == "sqlite":
        for index in ("lead_search", "lead_words"):
            db.execute(text(f"INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 1)"))
        db.commit()


@pytest.mark.parametrize(
    ("field", "value", "typed"),
    [
        ("name", "Person 4242", "person 42"),
        ("company_name", "Globex Holdings", "BEX HOLD"),
        ("email", "maria.novak@acme.example", "Novak@ACME"),
        ("phone", "+44 20 4242 1111", "20 4242"),
        ("note", "met at the expo stand", "Expo Stand"),
    ],
)
def test_a_search_finds_text_in_each_searched_column_ignoring_case(
    db, make_user, kind, field, value, typed
):
    owner = make_user()
    fields = {field: value, "name": value if field == "name" else "Match"}
    factories.lead(db, owner, **fields)
    factories.lead(db, owner, "Other", company_name="Initech", email="jo@initech.example",
          phone="+1 555 0100", note="wants a quote")  # fmt: skip
    assert found(db, owner, typed) == {fields["name"]}


def test_digits_match_inside_a_name_and_a_phone_number(db, make_user, kind):
    owner = make_user()
    factories.lead(db, owner, "Person 4242")
    factories.lead(db, owner, "Maria Novak", phone="+44 20 4242 1111")
    factories.lead(db, owner, "Person 4243", phone="+44 20 4243 1111")
    assert found(db, owner, "4242") == {"Person 4242", "Maria Novak"}
    assert found(db, owner, "expo stand") == set()


@pytest.mark.parametrize(
    ("typed", "target", "decoy"),
    [
        ("0%", "100% Natural", "1000 Natural"),
        ("100%", "100% Natural", "1000 Natural"),
        ("e_c", "Snake_Case Ltd", "Snakescase Ltd"),
        ('"Best"', 'The "Best" Co', "The Best Co"),
        ('""', 'Say ""hi""', 'Say "hi"'),
        ("k*M", "Ask*Me", "Askme"),
        ("x AND y", "x AND y Ltd", "x y Ltd"),
        ("OR NOT", "OR NOT Ltd", "Or Ltd"),
        ("NEAR(", "NEAR(by) Cafe", "Nearby Cafe"),
        ("-sales", "Pre-sales Ltd", "Presales Ltd"),
        ("^ca", "^caret", "caret"),
        ("a:b", "a:b Ltd", "ab Ltd"),
        ("o'b", "O'Brien", "OBrien"),
        (":\\d", "C:\\data", "C:data"),
        ("%", "100% Natural", "1000 Natural"),
        ("_", "Snake_Case", "Snake Case"),
        ('"', 'The "Best" Co', "The Best Co"),
        ("*", "Ask*Me", "Askme"),
        ("(", "NEAR(by)", "Nearby"),
    ],
)
def test_characters_that_mean_something_to_like_or_fts5_are_literal(
    db, make_user, kind, typed, target, decoy
):
    owner = make_user()
    factories.lead(db, owner, target)
    factories.lead(db, owner, decoy)
    assert found(db, owner, typed) == {target}


def test_one_and_two_character_searches(db, make_user, kind):
    owner = make_user()
    factories.lead(db, owner, "Person 4242")
    factories.lead(db, owner, "Maria Novak", email="maria@acme.example")
    assert found(db, owner, "42") == {"Person 4242"}
    assert found(db, owner, "PE") == {"Person 4242"}
    assert found(db, owner, "@") == {"Maria Novak"}
    assert found(db, owner, "zq") == set()


def test_non_ascii_letters_match_themselves_and_ignore_case_on_postgresql_only(db, make_user, kind):
    owner = make_user()
    factories.lead(db, owner, "Müller GmbH")
    factories.lead(db, owner, "Muller Ltd")
    factories.lead(db, owner, "Über Cafe")
    assert found(db, owner, "müller") == {"Müller GmbH"}  # M/m: ASCII case ignored
    # PostgreSQL's ILIKE lower-cases Ü; SQLite's LIKE ignores the case of ASCII letters only.
    expected = {"Müller GmbH"} if _dialect(db) == "postgresql" else set()
    assert found(db, owner, "MÜLLER") == expected
    # One letter finds the words that start with it (no word of "Müller GmbH" starts with ü),
    # with the same rule for case.
    assert found(db, owner, "Ü") == {"Über Cafe"}
    expected = {"Über Cafe"} if _dialect(db) == "postgresql" else set()
    assert found(db, owner, "ü") == expected
    assert found(db, owner, "üb") == expected
    # A non-ASCII letter is part of a word; a non-ASCII dash ends one.
    factories.lead(db, owner, "Café–Bar")
    assert found(db, owner, "ll") == set()
    assert found(db, owner, "ba") == {"Café–Bar"}
    assert found(db, owner, "é") == set()


def test_one_or_two_letters_or_digits_find_the_words_starting_with_them(db, make_user, kind):
    """Deliberately not "contains" (a trigram index cannot serve so short a text; the
    word-prefix index of revision 0012 can): the search box's hint says so."""
    owner = make_user()
    factories.lead(db, owner, "Maria Novak", company_name="Globex", email="maria@acme.example")
    factories.lead(db, owner, "Jo Bloggs", phone="+44 20 4242 1111", note="met at the expo-stand")
    factories.lead(db, owner, "Ana 4242")
    assert found(db, owner, "no") == {"Maria Novak"}
    assert found(db, owner, "ov") == set()  # inside "Novak": no word starts with it
    assert found(db, owner, "GL") == {"Maria Novak"}  # the company name, any case
    assert found(db, owner, "ac") == {"Maria Novak"}  # "acme", a word of the email
    assert found(db, owner, "ex") == {"Maria Novak", "Jo Bloggs"}  # "example", "expo"
    assert found(db, owner, "st") == {"Jo Bloggs"}  # "stand", after a hyphen
    assert found(db, owner, "42") == {"Jo Bloggs", "Ana 4242"}
    assert found(db, owner, "24") == set()
    assert found(db, owner, "j") == {"Jo Bloggs"}
    assert found(db, owner, "4") == {"Jo Bloggs", "Ana 4242"}
    # Anything but letters and digits is looked for anywhere, as longer texts are.
    assert found(db, owner, "@") == {"Maria Novak"}
    assert found(db, owner, "-s") == {"Jo Bloggs"}


def test_an_edited_lead_is_found_by_its_new_words(db, make_user, kind):
    owner = make_user()
    lead = factories.lead(db, owner, "Maria Novak")
    lead.name = "Maria Horvat"
    db.commit()
    assert found(db, owner, "ho") == {"Maria Horvat"}
    assert found(db, owner, "no") == set()
    db.delete(lead)
    db.commit()
    assert found(db, owner, "ma") == set()
    _index_agrees_with_the_leads(db)


def test_an_edited_lead_is_found_by_its_new_text_and_not_its_old(db, make_user, kind):
    owner = make_user()
    lead = factories.lead(db, owner, "Maria Novak", company_name="Globex", note="met at the expo")
    factories.lead(db, owner, "Jo Bloggs")
    lead.name = "Maria Horvat"
    lead.note = None
    db.commit()
    assert found(db, owner, "horvat") == {"Maria Horvat"}
    assert found(db, owner, "novak") == set()
    assert found(db, owner, "expo") == set()
    assert found(db, owner, "globex") == {"Maria Horvat"}
    leads.disqualify(db, lead, "no fit")  # a status move through one UPDATE
    assert found(db, owner, "horvat") == {"Maria Horvat"}
    _index_agrees_with_the_leads(db)


def test_a_deleted_lead_is_not_found(db, make_user, kind):
    owner = make_user()
    gone = factories.lead(db, owner, "Maria Novak")
    factories.lead(db, owner, "Mario Novak")
    db.delete(gone)
    db.commit()
    assert found(db, owner, "novak") == {"Mario Novak"}
    _index_agrees_with_the_leads(db)


def test_a_search_keeps_the_other_filters_and_a_reps_own_leads(db, make_user, kind):
    rep, other = make_user("rep@example.com"), make_user("other@example.com")
    factories.lead(db, rep, "Globex open")
    factories.lead(db, rep, "Globex hot", temperature="hot")
    factories.lead(db, other, "Globex theirs", temperature="hot")
    assert found(db, rep, "globex") == {"Globex open", "Globex hot"}
    query = leads.LeadQuery.from_args({"q": "globex", "temperature": "hot"})
    page = leads.list_leads(db, query, rep, today=TODAY)
    assert [lead.name for lead in page.leads] == ["Globex hot"]


def test_the_pages_of_a_search_show_each_lead_once(db, make_user, kind):
    owner = make_user()
    count = leads.PAGE_SIZE + 7
    for n in range(count):
        factories.lead(db, owner, f"Globex {n}")
    factories.lead(db, owner, "Initech")
    for sort in ("captured", "next", "name"):
        query = leads.LeadQuery.from_args({"q": "globex", "sort": sort})
        seen = every_page(db, query, owner, TODAY)
        assert len(seen) == len(set(seen)) == count, sort


@contextmanager
def _statements_run(db):
    """The questions (SELECTs) sent to the database within the block."""
    ran: list[str] = []

    def note(_conn, _cursor, statement, _parameters, _context, _many):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):  # not BEGIN, SAVEPOINT
            ran.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield ran
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _from_the_index(db, condition) -> bool:
    """Whether a search condition lists the leads an index found, rather than checking the
    search on each lead the list reads. (Whether the database's plans then read the
    indexes is bench/search_plans.py's question: plans depend on data and statistics.)"""
    sql = str(condition.compile(dialect=db.get_bind().dialect))
    if _dialect(db) == "sqlite":
        return ("lead_search" in sql or "lead_words" in sql) and "GLOB" not in sql
    return "found_ids" in sql


def test_a_rare_search_asks_the_index_once_and_lists_what_it_found(db, make_user):
    owner = make_user()
    for n in range(20):
        factories.lead(
            db, owner, f"Person {n}", phone=f"+44 20 {n:04} 1111", note="met at the stand"
        )
    with _statements_run(db) as ran:
        condition = leads.search_condition(db, "person 12")
    assert len(ran) == 1 and _from_the_index(db, condition)
    person_12 = db.scalar(select(Lead.id).where(Lead.name == "Person 12"))
    assert set(db.scalars(select(Lead.id).where(condition))) == {person_12}


def test_a_short_or_common_search_reads_the_leads(db, make_user, monkeypatch):
    owner = make_user()
    for n in range(5):
        factories.lead(db, owner, f"Globex {n}")

    def search(typed: str) -> tuple[int, bool]:
        """How many statements the search asked first, and whether it used what they found."""
        with _statements_run(db) as ran:
            condition = leads.search_condition(db, typed)
        assert len(db.scalars(select(Lead.id).where(condition)).all()) == 5
        # (PostgreSQL's planner may be asked for its estimate first: that reads no lead.)
        asked = [statement for statement in ran if not statement.startswith("EXPLAIN")]
        return len(asked), _from_the_index(db, condition)

    assert search("x ") == (0, False)  # not only letters and digits: no index
    assert search("gl") == (1, True)
    monkeypatch.setitem(leads.SEARCH_INDEX_MAX, _dialect(db), 4)
    assert search("globex") == (1, False)
    assert search("gl") == (1, False)
    monkeypatch.setitem(leads.SEARCH_INDEX_MAX, _dialect(db), 5)
    assert search("globex") == (1, True)


def test_nothing_to_search_is_no_condition(db):
    assert leads.search_condition(db, "") is None
    assert leads.search_condition(db, "\x00") is None
