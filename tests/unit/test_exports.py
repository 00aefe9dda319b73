"""CSV exports: cells a spreadsheet opens safely, the file's encoding, what each export
holds."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from quickcrm.domain import companies, exports, leads, opportunities
from quickcrm.domain.stages import ordered_stages
from quickcrm.models import Activity, Company, Contact, Lead, Opportunity

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("typed", "exported"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Maria = Novak", "Maria = Novak"),
        ("", ""),
    ],
)
def test_a_cell_that_starts_like_a_formula_gets_a_leading_quote(typed, exported):
    assert exports.cell(typed) == exported


def test_numbers_dates_and_empty_values_are_written_plainly():
    assert exports.cell(None) == ""
    assert exports.cell(-33.5) == "-33.5"  # a number, not a formula
    assert exports.cell(Decimal("12500.00")) == "12500.00"
    assert exports.cell(True) == "yes"
    assert exports.cell(date(2026, 12, 1)) == "2026-12-01"
    moment = datetime(2026, 11, 29, 9, 5, 7, 123456, tzinfo=UTC)
    assert exports.cell(moment) == "2026-11-29T09:05:07Z"
    naive = datetime(2026, 11, 29, 9, 5, 7)  # a naive moment is UTC, whatever the server's zone
    assert exports.cell(naive) == "2026-11-29T09:05:07Z"


def read(session, export) -> tuple[bytes, list[list[str]]]:
    body = b"".join(exports.stream(session, export, batch=2))
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_file_is_utf8_with_a_bom_a_header_and_iso_dates(db, make_user):
    rep = make_user(name="Rita Rep")
    captured = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    db.add(Lead(owner=rep, name="Zoë Müller, \"Zo\"", note="line one\nline two",
                captured_at=captured, next_action_on=date(2026, 12, 1)))  # fmt: skip
    db.commit()
    export = exports.lead_export(db, leads.LeadQuery.from_args({}), rep, today=TODAY)
    body, rows = read(db, export)
    assert body.startswith(b"\xef\xbb\xbf")
    header, (row,) = rows[0], rows[1:]
    assert header[:3] == ["ID", "Name", "Company"]
    record = dict(zip(header, row, strict=True))
    assert record["Name"] == 'Zoë Müller, "Zo"'
    assert record["Note"] == "line one\nline two"
    assert record["Captured at (UTC)"] == "2026-11-20T14:30:00Z"
    assert record["Next action date"] == "2026-12-01"
    assert (record["Owner"], record["Owner email"]) == ("Rita Rep", "rep@example.com")
    assert export.filename(TODAY) == "quickcrm-leads-2026-11-29.csv"


def test_the_header_is_sent_before_any_row_is_read(db, make_user):
    rep = make_user()
    export = exports.lead_export(db, leads.LeadQuery.from_args({}), rep, today=TODAY)
    first = next(exports.stream(db, export))
    assert first.decode("utf-8-sig").startswith("ID,Name,Company,")


def test_every_exports_header_is_fixed_text_that_no_spreadsheet_runs(db, make_user):
    # Unlike the import's refused rows (which repeat the uploaded file's header), an
    # export's column names are the app's own words: nothing typed reaches them.
    rep = make_user()
    every = [
        exports.lead_export(db, leads.LeadQuery.from_args({}), rep, today=TODAY),
        exports.company_export(companies.CompanyQuery()),
        exports.contact_export(companies.ContactQuery()),
        exports.opportunity_export(opportunities.OpportunityQuery()),
        exports.activity_export(),
    ]
    for export in every:
        assert all(exports.neutralise(name) == name for name in export.headers), export.name
        header = read(db, export)[1][0]
        assert header == list(export.headers)


def test_a_reps_lead_export_has_only_their_leads_with_the_lists_filters(db, make_user):
    rita, sam = make_user("rita@example.com"), make_user("sam@example.com")
    coordinator = make_user("cora@example.com", "coordinator")
    for owner, name, temperature in (
        (rita, "Rita hot", "hot"), (rita, "Rita cold", "cold"), (sam, "Sam hot", "hot"),
    ):  # fmt: skip
        db.add(Lead(owner=owner, name=name, temperature=temperature))
    db.commit()
    hot = leads.LeadQuery.from_args({"temperature": "hot"})

    def names(viewer, query):
        return [
            row[1] for row in read(db, exports.lead_export(db, query, viewer, today=TODAY))[1][1:]
        ]

    assert names(rita, hot) == ["Rita hot"]
    assert sorted(names(coordinator, hot)) == ["Rita hot", "Sam hot"]
    by_name = leads.LeadQuery.from_args({"sort": "name", "q": "hot"})
    assert names(coordinator, by_name) == ["Rita hot", "Sam hot"]


def test_companies_contacts_opportunities_and_activities(db, make_user):
    rep = make_user(name="Rita Rep")
    acme = Company(name="Acme", name_key="acme", type="customer", owner=rep)
    other = Company(name="Globex", name_key="globex")
    maria = Contact(company=acme, name="Maria Novak", phone="+44 20 7946 0000")
    stage = ordered_stages(db)[1]
    deal = Opportunity(company=acme, contact=maria, title="=1+1", value=Decimal("1000"),
                       stage=stage, probability=25, owner=rep)  # fmt: skip
    db.add_all([acme, other, maria, deal])
    db.flush()
    db.add(Activity(kind="call", text="Called", author=rep, contact=maria, done=True))
    db.commit()

    found = read(db, exports.company_export(companies.CompanyQuery(q="acm")))[1]
    assert [row[1] for row in found[1:]] == ["Acme"]
    contact = dict(zip(*read(db, exports.contact_export(companies.ContactQuery()))[1], strict=True))
    assert (contact["Company"], contact["Phone"]) == ("Acme", "'+44 20 7946 0000")
    deal_row = dict(
        zip(*read(db, exports.opportunity_export(opportunities.OpportunityQuery()))[1], strict=True)
    )
    assert deal_row["Title"] == "'=1+1"
    assert (deal_row["Value"], deal_row["Weighted value"]) == ("1000.00", "250.00")
    assert (deal_row["Stage"], deal_row["Contact"], deal_row["Owner"]) == (
        stage.name,
        "Maria Novak",
        "Rita Rep",
    )
    won = read(db, exports.opportunity_export(opportunities.OpportunityQuery(outcome="won")))[1]
    assert won[1:] == []
    activity = dict(zip(*read(db, exports.activity_export())[1], strict=True))
    assert (activity["Kind"], activity["Contact"], activity["Done"]) == (
        "call",
        "Maria Novak",
        "yes",
    )
    assert activity["Author email"] == "rep@example.com"
