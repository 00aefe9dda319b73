"""Mapping columns, cleaning rows with the capture rules, duplicate keys, safe cells."""

from __future__ import annotations

from datetime import date

import pytest

from quickcrm.domain import validation as v
from quickcrm.domain.imports import mapping
from quickcrm.domain.imports.rows import Cleaner, duplicate_keys, spreadsheet_safe

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("E-mail", "email"), ("Email address", "email"), ("EMAIL_ADDRESS", "email"),
        ("Courriel", "email"), ("Mobile", "phone"), ("Phone number", "phone"),
        ("Téléphone", "phone"), ("First name", "first_name"), ("first_name", "first_name"),
        ("Prénom", "first_name"), ("Last name", "last_name"), ("Surname", "last_name"),
        ("Organisation", "company_name"), ("Organization", "company_name"),
        ("Company name", "company_name"), ("Notes", "note"), ("Comments", "note"),
        ("Full name", "name"), ("Name", "name"), ("Lead source", "source"),
        ("Next action date", "next_action_on"), ("Follow-up", "next_action_on"),
        ("Temperature", "temperature"), ("Badge number", "ignore"), ("", "ignore"),
    ],
)  # fmt: skip
def test_headers_are_guessed_in_their_usual_variants(header, field):
    assert mapping.guess([header]) == [field]


def test_a_field_goes_to_the_first_column_that_claims_it_but_notes_and_emails_repeat():
    # Emails are MULTI since issue 24: the second is kept in the note, not ignored.
    headers = ["Name", "Full name", "Email", "E-mail address", "Notes", "Comments"]
    assert mapping.guess(headers) == ["name", "ignore", "email", "email", "note", "note"]


def test_a_mapping_without_a_name_or_with_a_field_twice_is_refused():
    headers = ["A", "B", "C"]
    with pytest.raises(v.Refused) as refused:
        mapping.check(["company_name", "company_name", "note"], headers)
    errors = refused.value.detail
    assert refused.value.errors["column_1"] == errors[1] and refused.value.errors["column"]
    assert "also chosen for “B”" in errors[0] and "also chosen for “A”" in errors[1]
    assert "name" in errors[None]
    assert mapping.check(["first_name", "note", "note"], headers) == [
        "first_name", "note", "note"
    ]  # fmt: skip
    # Several columns for a MULTI field (email, phone) are accepted (issue 24).
    assert mapping.check(["name", "email", "email"], headers) == ["name", "email", "email"]
    with pytest.raises(v.Refused) as refused:
        mapping.check(["name", "surname", "ignore"], headers)
    assert refused.value.detail == {1: "Choose what this column is, or Ignore."}


def cleaner(headers, fields=None, **kwargs):
    fields = fields or mapping.guess(headers)
    return Cleaner("leads", headers, fields, today=TODAY, region="GB", **kwargs)


def test_a_row_is_cleaned_with_the_capture_rules():
    c = cleaner(
        ["First name", "Last name", "Email", "Mobile", "Company", "Temperature", "Follow-up"],
        source="Expo",
    )
    row = c.clean(2, ["  Ann ", "Smith", "Ann@Example.COM", "020 7946 0958", "Acme", "HOT",
                      "2026-11-30"])  # fmt: skip
    assert row.ok
    assert row.values == {
        "name": "Ann Smith", "company_name": "Acme", "email": "Ann@example.com",
        "phone": "020 7946 0958", "note": None, "temperature": "hot",
        "next_action_on": date(2026, 11, 30), "source": "Expo",
    }  # fmt: skip


def test_a_name_column_wins_and_several_note_columns_are_kept_with_their_headers():
    c = cleaner(["Name", "First name", "Notes", "Comments"], ["name", "first_name", "note", "note"])
    row = c.clean(2, ["Acme Ltd", "Ann", "stand 12", "call Monday"])
    assert row.values["name"] == "Acme Ltd"
    assert row.values["note"] == "Notes: stand 12\nComments: call Monday"


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (["", "a@example.com", "", ""], "Name: Enter a name"),
        (["x" * 10_000, "", "", ""], "Name: Keep it under 200 characters (this is 10000)"),
        (["Ann", "not an email", "", ""], "Email: Enter an email address"),
        (["Ann", "", "31/12/2026", ""], "Next action date: Enter a date like"),
        (["Ann", "", "2020-01-01", ""], "Next action date: Pick a date from today"),
        (["Ann\x00", "", "", ""], "Name: This text holds a character QuickCRM cannot store"),
        (["Ann", ""], "This row has 2 cells where the header has 4"),
        (["Ann", "", "", "", "extra"], "This row has 5 cells where the header has 4"),
    ],
    ids=["no name", "10,000 characters", "bad email", "wrong date format", "past date", "NUL",
         "short row", "long row"],
)  # fmt: skip
def test_a_bad_row_is_refused_with_its_reason(cells, reason):
    row = cleaner(["Name", "Email", "Next action date", "Temperature"]).clean(7, cells)
    assert not row.ok and row.reason.startswith(reason) and row.values == {}


def test_the_import_source_fills_only_empty_source_cells():
    c = cleaner(["Name", "Source"], source="Bought list")
    assert c.clean(2, ["Ann", "Website"]).values["source"] == "Website"
    assert c.clean(3, ["Bob", ""]).values["source"] == "Bought list"


def test_duplicate_keys_are_the_email_in_any_case_and_the_phone_in_e164():
    uk = duplicate_keys({"email": "Ann@Example.com", "phone": "020 7946 0958"}, "GB")
    assert uk == ["e:ann@example.com", "p:+442079460958"]
    assert duplicate_keys({"email": "ANN@EXAMPLE.COM", "phone": "+44 (20) 7946-0958"}, "GB") == uk
    assert duplicate_keys({"email": None, "phone": None}, "GB") == []


@pytest.mark.parametrize(
    ("cell", "safe"),
    [("=1+2", "'=1+2"), ("+44 20", "'+44 20"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\t=x", "'\t=x"), ("Ann", "Ann"), ("", ""), ("a=b", "a=b")],
)  # fmt: skip
def test_formulas_are_neutralised(cell, safe):
    assert spreadsheet_safe(cell) == safe
