"""The leads list's search: what it finds, on SQLite and PostgreSQL, and that an index finds
it (SQLite's FTS5 trigram table, PostgreSQL's trigram indexes)."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import select, text

from quickcrm import migrate
from quickcrm.domain import leads
from quickcrm.models import Lead

TODAY = date(2026, 11, 23)

# Only SQLite chooses between its search index and reading the leads: PostgreSQL's planner
# makes that choice itself.
ON_SQLITE = not os.environ.get("QUICKCRM_TEST_DATABASE_URL", "").startswith("postgresql")


@pytest.fixture(params=["index", "scan"] if ON_SQLITE else ["index"])
def way(request, db, monkeypatch) -> str:
    """SQLite finds a search through its index, or by reading the leads when the index finds
    too many; each test of what a search means runs both ways, which must agree."""
    assert (_dialect(db) == "sqlite") == ON_SQLITE
    if request.param == "scan":
        monkeypatch.setattr(leads, "SEARCH_INDEX_MAX", -1)  # no search is rare enough
    return request.param


def _dialect(db) -> str:
    return db.get_bind().dialect.name


def _lead(db, owner, name: str, **fields) -> Lead:
    lead = Lead(owner=owner, name=name, **fields)
    db.add(lead)
    db.commit()
    return lead


def found(db, viewer, typed: str) -> set[str]:
    """The names of the leads a search finds, of any status. The page, its count and review
    mode's list of ids must agree."""
    query = leads.LeadQuery.from_mapping({"q": typed, "status": "all"})
    page = leads.list_leads(db, query, viewer, today=TODAY)
    ids = leads.lead_ids(db, query, viewer, today=TODAY)
    assert sorted(lead.id for lead in page.leads) == sorted(ids)
    assert page.total == len(ids)
    return {lead.name for lead in page.leads}


def _index_agrees_with_the_leads(db) -> None:
    """SQLite's FTS5 checks its index against the lead table (an error if they differ)."""
    if _dialect(db) == "sqlite":
        db.execute(
            text("INSERT INTO lead_search (lead_search, rank) VALUES ('integrity-check', 1)")
        )
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
    db, make_user, way, field, value, typed
):
    owner = make_user()
    fields = {field: value, "name": value if field == "name" else "Match"}
    _lead(db, owner, **fields)
    _lead(db, owner, "Other", company_name="Initech", email="jo@initech.example",
          phone="+1 555 0100", note="wants a quote")  # fmt: skip
    assert found(db, owner, typed) == {fields["name"]}


def test_digits_match_inside_a_name_and_a_phone_number(db, make_user, way):
    owner = make_user()
    _lead(db, owner, "Person 4242")
    _lead(db, owner, "Maria Novak", phone="+44 20 4242 1111")
    _lead(db, owner, "Person 4243", phone="+44 20 4243 1111")
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
    db, make_user, way, typed, target, decoy
):
    owner = make_user()
    _lead(db, owner, target)
    _lead(db, owner, decoy)
    assert found(db, owner, typed) == {target}


def test_one_and_two_character_searches(db, make_user, way):
    owner = make_user()
    _lead(db, owner, "Person 4242")
    _lead(db, owner, "Maria Novak", email="maria@acme.example")
    assert found(db, owner, "42") == {"Person 4242"}
    assert found(db, owner, "PE") == {"Person 4242"}
    assert found(db, owner, "@") == {"Maria Novak"}
    assert found(db, owner, "zq") == set()


def test_non_ascii_letters_match_themselves_and_ignore_case_on_postgresql_only(db, make_user, way):
    owner = make_user()
    _lead(db, owner, "Müller GmbH")
    _lead(db, owner, "Muller Ltd")
    assert found(db, owner, "müller") == {"Müller GmbH"}  # M/m: ASCII case ignored
    assert found(db, owner, "ü") == {"Müller GmbH"}
    # PostgreSQL's ILIKE lower-cases Ü; SQLite's LIKE ignores the case of ASCII letters only.
    expected = {"Müller GmbH"} if _dialect(db) == "postgresql" else set()
    assert found(db, owner, "MÜLLER") == expected
    assert found(db, owner, "Ü") == expected


def test_an_edited_lead_is_found_by_its_new_text_and_not_its_old(db, make_user, way):
    owner = make_user()
    lead = _lead(db, owner, "Maria Novak", company_name="Globex", note="met at the expo")
    _lead(db, owner, "Jo Bloggs")
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


def test_a_deleted_lead_is_not_found(db, make_user, way):
    owner = make_user()
    gone = _lead(db, owner, "Maria Novak")
    _lead(db, owner, "Mario Novak")
    db.delete(gone)
    db.commit()
    assert found(db, owner, "novak") == {"Mario Novak"}
    _index_agrees_with_the_leads(db)


def test_a_search_keeps_the_other_filters_and_a_reps_own_leads(db, make_user, way):
    rep, other = make_user("rep@example.com"), make_user("other@example.com")
    _lead(db, rep, "Globex open")
    _lead(db, rep, "Globex hot", temperature="hot")
    _lead(db, other, "Globex theirs", temperature="hot")
    assert found(db, rep, "globex") == {"Globex open", "Globex hot"}
    query = leads.LeadQuery.from_mapping({"q": "globex", "temperature": "hot"})
    page = leads.list_leads(db, query, rep, today=TODAY)
    assert [lead.name for lead in page.leads] == ["Globex hot"]


def _plan(db, statement) -> str:
    """How the database would run ``statement``: the text of its EXPLAIN."""
    conn = db.connection()
    compiled = statement.compile(dialect=conn.dialect)
    if conn.dialect.name == "sqlite":
        params = tuple(compiled.params[name] for name in compiled.positiontup)
        return "\n".join(
            row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)
        )
    return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))


def test_a_search_reads_the_search_index(db, make_user):
    owner = make_user()
    for n in range(20):
        _lead(db, owner, f"Person {n}", phone=f"+44 20 {n:04} 1111", note="met at the stand")
    statement = select(Lead.id).where(leads.search_condition(db, "person 12"))
    if _dialect(db) == "sqlite":
        assert "lead_search" in _plan(db, statement)
    else:
        db.execute(text("SET LOCAL enable_seqscan = off"))
        plan = _plan(db, statement)
        assert all(index in plan for index in migrate.SEARCH_INDEXES), plan
        db.rollback()
    assert set(db.scalars(statement)) == {
        db.scalar(select(Lead.id).where(Lead.name == "Person 12"))
    }


@pytest.mark.skipif(not ON_SQLITE, reason="PostgreSQL's planner makes this choice itself")
def test_sqlite_reads_the_leads_for_a_short_or_common_search(db, make_user, monkeypatch):
    owner = make_user()
    for n in range(5):
        _lead(db, owner, f"Globex {n}")
    short = select(Lead.id).where(leads.search_condition(db, "gl"))
    assert "lead_search" not in _plan(db, short)
    assert len(db.scalars(short).all()) == 5
    monkeypatch.setattr(leads, "SEARCH_INDEX_MAX", 4)
    common = select(Lead.id).where(leads.search_condition(db, "globex"))
    assert "lead_search" not in _plan(db, common)
    assert len(db.scalars(common).all()) == 5
    monkeypatch.setattr(leads, "SEARCH_INDEX_MAX", 5)
    rare_enough = select(Lead.id).where(leads.search_condition(db, "globex"))
    assert "lead_search" in _plan(db, rare_enough)
    assert len(db.scalars(rare_enough).all()) == 5


def test_nothing_to_search_is_no_condition(db):
    assert leads.search_condition(db, "") is None
    assert leads.search_condition(db, "\x00") is None
