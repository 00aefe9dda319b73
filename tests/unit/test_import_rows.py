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
        "contact_name": None, "address": None, "potential_value": None,
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


def test_several_phone_and_email_columns_take_the_first_non_empty_and_note_the_others():
    headers = ["Name", "Business Phone", "Home Phone", "Mobile Phone", "E-mail Address",
               "E-mail 2 Address", "Notes"]  # fmt: skip
    c = cleaner(headers)
    assert c.fields == ["name", "phone", "phone", "phone", "email", "email", "note"]
    row = c.clean(2, ["Ann", "020 7946 0011", "", "+44 7700 900123", "ann@acme.example",
                      "ann@home.example", "Met at the stand"])  # fmt: skip
    assert row.ok and not row.warnings
    assert (row.values["phone"], row.values["email"]) == ("+44 7700 900123", "ann@acme.example")
    assert row.values["note"] == (
        "Met at the stand\nE-mail 2 Address: ann@home.example\nBusiness Phone: 020 7946 0011"
    )
    # Only a business phone: it is the phone, the note stays empty.
    row = c.clean(3, ["Bob", "020 7946 0012", "", "", "", "bob@home.example", ""])
    assert (row.values["phone"], row.values["email"], row.values["note"]) == (
        "020 7946 0012", "bob@home.example", None,
    )  # fmt: skip
    assert row.keys == ["e:bob@home.example", "p:+442079460012"]


def test_a_value_repeated_in_another_column_is_not_noted_twice():
    c = cleaner(["Name", "Email", "Buyer Email", "Phone", "Mobile"],
                ["name", "email", "email", "phone", "phone"])  # fmt: skip
    row = c.clean(2, ["Ann", "ann@example.com", "ann@example.com", "07700 900123", "07700 900123"])
    assert row.values["note"] is None


def test_a_phone_that_cannot_be_read_is_kept_in_the_note_with_a_warning():
    c = cleaner(["Name", "Phone", "Notes"])
    row = c.clean(4, ["Ann", "ext. 12", "VIP"])
    assert row.ok and row.values["phone"] is None
    assert row.values["note"] == "VIP\nPhone: ext. 12"
    assert row.warnings == ["The phone number “ext. 12” cannot be read: kept in the note."]
    # Without a region, a local number cannot be read either: never a refusal.
    local = Cleaner("leads", ["Name", "Phone"], ["name", "phone"], today=TODAY, region=None)
    row = local.clean(5, ["Bob", "020 7946 0958"])
    assert row.ok and row.values["note"] == "Phone: 020 7946 0958" and row.warnings
    # Read in the region given, it is the phone.
    assert cleaner(["Name", "Phone"]).clean(6, ["Bob", "020 7946 0958"]).values["phone"] == (
        "020 7946 0958"
    )


def test_the_next_phone_is_used_when_the_first_cannot_be_read():
    c = cleaner(["Name", "Mobile", "Work phone"])
    row = c.clean(2, ["Ann", "n/a", "020 7946 0958"])
    assert row.values["phone"] == "020 7946 0958"
    assert row.values["note"] == "Mobile: n/a" and len(row.warnings) == 1


def test_a_company_file_leaves_an_unreadable_phone_out_with_a_warning():
    headers = ["Company", "Contact", "Phone"]
    c = Cleaner("companies", headers, mapping.guess(headers, "companies"), today=TODAY,
                region="GB")  # fmt: skip
    row = c.clean(2, ["Acme", "Ann", "call reception"])
    assert row.ok and row.values["phone"] is None
    assert row.warnings == ["The phone number “call reception” cannot be read: left out."]


def test_temperatures_use_the_value_map_then_the_guess_and_warn_on_nonsense():
    headers = ["Name", "Rating"]
    c = cleaner(headers, value_map={"temperature": {"Active": "warm", "Shut Down": None}})
    assert c.fields == ["name", "temperature"]
    values = [("Active", "warm", 0), ("Shut Down", None, 0), ("Hot", "hot", 0), ("★", "cold", 0),
              ("B", "warm", 0), ("", None, 0), ("Acquired", None, 1)]  # fmt: skip
    for line, (cell, stored, warned) in enumerate(values, start=2):
        row = c.clean(line, ["Ann", cell])
        assert row.ok and row.values["temperature"] == stored and len(row.warnings) == warned
    assert row.warnings == ["Temperature “Acquired” means nothing QuickCRM knows: left empty."]


def test_a_refused_row_has_no_warnings():
    row = cleaner(["Name", "Email", "Phone"]).clean(2, ["Ann", "not an email", "ext. 1"])
    assert not row.ok and row.warnings == [] and row.reason.startswith("Email:")


def test_many_rows_of_a_google_export_are_cleaned_alike():
    headers = ["First Name", "Last Name", "E-mail 1 - Value", "E-mail 2 - Value",
               "Phone 1 - Value", "Phone 2 - Value", "Organization Name", "Notes",
               "Rating"]  # fmt: skip
    c = cleaner(headers)
    rows = [[f"P{i}", "Smith", f"p{i}@example.com", "", f"07700 9{i:05d}", "020 7946 0958",
             "Acme", "note", "Hot"] for i in range(2000)]  # fmt: skip
    cleaned = [c.clean(i, row) for i, row in enumerate(rows, start=2)]
    assert all(row.ok and not row.warnings for row in cleaned)
    assert {row.values["note"] for row in cleaned} == {"note\nPhone 2 - Value: 020 7946 0958"}
    assert cleaned[7].values["phone"] == "07700 900007"


def test_other_emails_and_phones_that_do_not_fit_the_note_are_left_out_with_a_warning():
    c = cleaner(["Name", "Email", "Email 2", "Phone", "Home phone", "Notes"],
                ["name", "email", "email", "phone", "phone", "note"])  # fmt: skip
    full = "x" * 4990
    row = c.clean(2, ["Ann", "ann@acme.example", "ann@home.example", "07700 900123",
                      "020 7946 0958", full])  # fmt: skip
    assert row.ok and row.values["email"] == "ann@acme.example"
    assert row.values["note"] == full
    assert row.warnings == [
        "The note is full (5,000 characters): left out Email 2: ann@home.example; "
        "Home phone: 020 7946 0958"
    ]
    # A NUL in another phone column is refused as in any note, never stored.
    row = c.clean(3, ["Bob", "", "", "07700 900124", "020\x00", ""])
    assert not row.ok and "Note" in row.reason
