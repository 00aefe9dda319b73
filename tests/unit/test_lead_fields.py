"""A lead's optional fields (issue 29): its contact name, address and potential value — the
checks the capture, the lead page, the API and the import share; what conversion makes of
them; the forecast's unweighted potential of the open leads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event

from quickcrm.domain import forecast, leads, matching, web_leads
from quickcrm.domain import validation as v
from quickcrm.domain.convert import ConvertForm, convert_lead
from quickcrm.domain.imports import mapping
from quickcrm.domain.imports.rows import Cleaner
from quickcrm.domain.money import typed
from quickcrm.models import Lead
from tests import factories

TODAY = date(2026, 11, 23)


def clean(**raw):
    return leads.LeadForm.clean(None, raw, today=TODAY, phone_region="GB")


# --- The checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed_value", "kept"),
    [
        ("12500", Decimal("12500.00")),
        ("12,500", Decimal("12500.00")),
        ("12 500", Decimal("12500.00")),
        ("12\u00a0500", Decimal("12500.00")),  # a no-break space, as French phones group
        ("12\u202f500,", Decimal("12500.00")),
        ("12,500.50", Decimal("12500.50")),
        (" 0 ", Decimal("0.00")),
        (".5", Decimal("0.50")),
        ("١٢٣", Decimal("123.00")),  # Arabic-Indic digits are digits
        ("999,999,999,999.99", Decimal("999999999999.99")),
        ("", None),
        ("   ", None),
    ],
)
def test_the_potential_value_reads_as_the_convert_pages_value(typed_value, kept):
    form = clean(name="Acme", potential_value=typed_value)
    assert form.ok, form.errors
    assert form.values["potential_value"] == kept


@pytest.mark.parametrize(
    ("typed_value", "message"),
    [
        ("-5", "Enter an amount of 0 or more: a value is never negative."),
        ("\u22125", "Enter an amount of 0 or more: a value is never negative."),
        ("-0.01", "Enter an amount of 0 or more: a value is never negative."),
        ("1000000000000", "Enter an amount from 0 up to 999,999,999,999.99."),
        ("9" * 13, "Enter an amount from 0 up to 999,999,999,999.99."),
        ("9" * 40, "Enter an amount like 12500 or 12500.50."),
        ("1e309", "Enter an amount like 12500 or 12500.50."),
        ("1E+999999", "Enter an amount like 12500 or 12500.50."),
        ("NaN", "Enter an amount like 12500 or 12500.50."),
        ("Infinity", "Enter an amount like 12500 or 12500.50."),
        ("€12.5k", "Enter an amount like 12500 or 12500.50."),
        ("12\x00500", "Enter an amount like 12500 or 12500.50."),
        ("²", "Enter an amount like 12500 or 12500.50."),
        (".", "Enter an amount like 12500 or 12500.50."),
        ("-", "Enter an amount like 12500 or 12500.50."),
    ],
)
def test_the_potential_value_refuses_what_is_no_amount(typed_value, message):
    form = clean(name="Acme", potential_value=typed_value)
    assert form.errors == {"potential_value": message}


def test_the_contact_name_and_address_are_checked_as_text():
    form = clean(name="Acme", contact_name="  Maria   Novak ", address=" 1 High St\nLeeds ")
    assert form.ok
    assert form.values["contact_name"] == "Maria Novak"
    assert form.values["address"] == "1 High St\nLeeds"  # its lines kept, as a note's
    refused = clean(
        name="Acme", contact_name="x" * 201, address="y" * 1001, potential_value="-1"
    ).errors
    assert refused == {
        "contact_name": "Keep it under 200 characters (this is 201).",
        "address": "Keep the address under 1000 characters.",
        "potential_value": "Enter an amount of 0 or more: a value is never negative.",
    }
    for hostile in ("Maria\x00", "Maria\ud800"):
        assert clean(name="Acme", contact_name=hostile, address=hostile).errors == {
            "contact_name": v.UNSTORABLE,
            "address": v.UNSTORABLE,
        }


def test_a_capture_stores_them_and_the_lead_page_shows_them_as_typed(db, make_user):
    rep = make_user()
    form = clean(
        name="Acme Ltd", contact_name="Maria", address="1 High St", potential_value="12,500.5"
    )
    lead = leads.capture_lead(db, rep, form)
    db.commit()
    db.expire_all()
    lead = db.get(Lead, lead.id)
    assert (lead.contact_name, lead.address, lead.potential_value) == (
        "Maria",
        "1 High St",
        Decimal("12500.50"),
    )
    shown = leads.field_values(db, lead)
    assert (shown["contact_name"], shown["address"], shown["potential_value"]) == (
        "Maria",
        "1 High St",
        "12500.50",
    )
    assert typed(Decimal("12500.00")) == "12500" and typed(None) == ""


@pytest.mark.parametrize(
    ("name", "typed_value", "kept"),
    [
        ("contact_name", " Maria  Novak ", "Maria Novak"),
        ("contact_name", "", None),
        ("address", "2 Low Rd\nYork", "2 Low Rd\nYork"),
        ("address", "", None),
        ("potential_value", "7 000", Decimal("7000.00")),
        ("potential_value", "", None),
    ],
)
def test_the_lead_page_edits_each_field_alone(db, make_user, name, typed_value, kept):
    rep = make_user()
    form = clean(name="Acme", contact_name="Jo", address="1 High St", potential_value="100")
    lead = leads.capture_lead(db, rep, form)
    leads.update_field(db, lead, rep, name, {name: typed_value}, today=TODAY, phone_region="GB")
    db.commit()
    db.expire_all()
    lead = db.get(Lead, lead.id)
    before = {"contact_name": "Jo", "address": "1 High St", "potential_value": Decimal("100.00")}
    assert {f: getattr(lead, f) for f in before} == {**before, name: kept}


def test_the_lead_page_refuses_a_bad_value_and_keeps_the_old_one(db, make_user):
    rep = make_user()
    lead = leads.capture_lead(db, rep, clean(name="Acme", potential_value="100"))
    for bad in ("-3", "1e309", "12\x00"):
        with pytest.raises(v.Refused) as refused:
            leads.update_field(
                db, lead, rep, "potential_value", {"potential_value": bad}, today=TODAY,
                phone_region="GB",
            )  # fmt: skip
        assert set(refused.value.errors) == {"potential_value"}
    assert lead.potential_value == Decimal("100.00")


def test_the_api_takes_them_by_the_same_names():
    form, errors = web_leads.lead_form(
        {"name": "Acme", "contact_name": "Maria", "address": "Leeds", "potential_value": 12500.5},
        today=TODAY,
        phone_region="GB",
    )
    assert not errors
    assert form.values["potential_value"] == Decimal("12500.50")
    _, errors = web_leads.lead_form(
        {"name": "Acme", "potential_value": float("inf")}, today=TODAY, phone_region="GB"
    )
    assert errors == {"potential_value": "Enter an amount like 12500 or 12500.50."}
    _, errors = web_leads.lead_form(
        {"name": "Acme", "potential_value": -1}, today=TODAY, phone_region="GB"
    )
    assert errors == {"potential_value": "Enter an amount of 0 or more: a value is never negative."}


# --- Conversion ----------------------------------------------------------------------------


def test_conversion_starts_from_the_business_lead(db, make_user):
    rep = make_user()
    lead = factories.lead(
        db, rep, "Acme Ltd", contact_name="Maria Novak", potential_value=Decimal("12500")
    )
    raw = ConvertForm.initial(db, lead, [], TODAY).raw
    assert raw["company_name"] == "Acme Ltd"  # the lead's name is the business
    assert raw["contact_name"] == "Maria Novak"  # the person to ask for
    assert (raw["value"], raw["create_opportunity"]) == ("12500", "on")
    person = factories.lead(db, rep, "Jo Bloggs", company_name="Bloggs & Co")
    raw = ConvertForm.initial(db, person, [], TODAY).raw
    assert (raw["company_name"], raw["contact_name"]) == ("Bloggs & Co", "Jo Bloggs")
    assert (raw["value"], raw["create_opportunity"]) == ("", "")  # no value: no deal
    nothing = factories.lead(db, rep, "Zero Ltd", potential_value=Decimal("0"))
    raw = ConvertForm.initial(db, nothing, [], TODAY).raw
    assert (raw["value"], raw["create_opportunity"]) == ("", "")  # a deal of 0 is junk


def test_conversion_carries_the_value_and_the_address(db, make_user):
    rep = make_user()
    lead = factories.lead(
        db, rep, "Acme Ltd", contact_name="Maria", address="1 High St\nLeeds",
        potential_value=Decimal("12500.50"),
    )  # fmt: skip
    form = ConvertForm.clean(db, ConvertForm.initial(db, lead, [], TODAY).raw, phone_region="GB")
    assert form.ok, form.errors
    result = convert_lead(db, lead, rep, form, phone_region="GB")
    assert result.opportunity.value == Decimal("12500.50")
    assert result.company.name == "Acme Ltd" and result.contact.name == "Maria"
    assert result.company.address == "1 High St\nLeeds"


def test_an_existing_company_keeps_its_address_or_learns_one(db, make_user):
    rep = make_user()
    kept = factories.company(db, "Acme", address="9 Old Rd")
    empty = factories.company(db, "Bloggs")
    for company, expected in ((kept, "9 Old Rd"), (empty, "1 High St")):
        lead = factories.lead(db, rep, company.name, address="1 High St")
        raw = {**ConvertForm.initial(db, lead, [company], TODAY).raw, "company": str(company.id)}
        form = ConvertForm.clean(db, raw, phone_region="GB")
        convert_lead(db, lead, rep, form, phone_region="GB")
        db.refresh(company)
        assert company.address == expected


def test_a_business_lead_is_matched_by_its_name_and_its_contact_name(db, make_user):
    rep = make_user()
    acme = factories.company(db, "Acme Ltd")
    maria = factories.contact(db, acme, "Maria Novak")
    factories.contact(db, acme, "Someone Else")
    lead = factories.lead(db, rep, "Acme Ltd", contact_name="Maria Novak")
    assert matching.suggest_companies(db, lead, "GB") == [acme]
    assert matching.company_match_reasons(acme, lead, "GB") == ["same name"]
    assert matching.suggest_contacts(db, lead, [acme.id], "GB") == [maria]
    # A person's lead is not a company's name.
    assert matching.suggest_companies(db, factories.lead(db, rep, "Acme Ltd"), "GB") == []


# --- The forecast ----------------------------------------------------------------------------


def test_the_leads_pipeline_sums_the_open_leads_potential_unweighted(db, make_user):
    rep = make_user()
    for name, temperature, value, status in (
        ("a", "hot", "1000", "open"),
        ("b", "hot", "2500.50", "open"),
        ("c", "cold", "400", "open"),
        ("d", None, "100", "open"),
        ("e", "warm", None, "open"),  # no value: not counted
        ("f", "hot", "99999", "converted"),  # its opportunity counts now
        ("g", "hot", "88888", "disqualified"),
    ):
        factories.lead(
            db, rep, name, temperature=temperature, status=status,
            disqualified_reason="no fit" if status == "disqualified" else None,
            potential_value=Decimal(value) if value else None,
        )  # fmt: skip
    statements = []
    engine = db.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        potential = forecast.leads_potential(db)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if "potential_value" in s]) == 1  # one aggregate query
    assert (potential.count, potential.total) == (4, Decimal("4000.50"))
    assert potential.by_temperature == [
        ("hot", 2, Decimal("3500.50")),
        ("cold", 1, Decimal("400.00")),
        (None, 1, Decimal("100.00")),
    ]


def test_no_potential_is_nothing(db):
    assert forecast.leads_potential(db) == forecast.Potential(0, Decimal("0.00"), [])


# --- Import ----------------------------------------------------------------------------------


def test_an_exported_lead_file_maps_back_to_its_fields():
    headers = ["Name", "Company", "Contact name", "Address", "Potential value", "Email"]
    assert mapping.guess(headers) == [
        "name", "company_name", "contact_name", "address", "potential_value", "email",
    ]  # fmt: skip
    # Alone, a contact's name is the lead's name, as before.
    assert mapping.guess(["Contact name", "Email"]) == ["name", "email"]
    assert mapping.guess(["Company", "Contact person", "Deal value"]) == [
        "company_name", "name", "potential_value",
    ]  # fmt: skip


def test_an_import_row_is_cleaned_with_the_capture_rules():
    headers = ["Name", "Contact name", "Street", "City", "Potential value"]
    cleaner = Cleaner("leads", headers, mapping.guess(headers), today=TODAY, region="GB")
    row = cleaner.clean(2, ["Acme", "Maria", "1 High St", "Leeds", "12,500"])
    assert row.ok, row.reason
    assert (row.values["contact_name"], row.values["potential_value"]) == (
        "Maria",
        Decimal("12500.00"),
    )
    assert row.values["address"] == "Street: 1 High St\nCity: Leeds"
    refused = cleaner.clean(3, ["Acme", "Maria", "", "", "-12"])
    assert refused.reason == (
        "Potential value: Enter an amount of 0 or more: a value is never negative."
    )
