"""An admin on a phone imports an event's attendee export and finds the leads."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from quickcrm.domain.imports import run
from quickcrm.models import Lead
from quickcrm.views import imports as import_views
from tests.e2e.conftest import open_area, sign_in


def event_export() -> bytes:
    rows = [
        "First name;Last name;E-mail;Tel. (work);Organisation;Notes",
        "Ann;Smith;ann@acme.example;+44 20 7946 0958;Acme;Wants a demo",
        "Bob;Jones;bob@globex.example;+44 20 7946 0959;Globex;",
        "Chloé;Dubois;chloe@societe.example;+33 1 23 45 67 89;Société Générale;Parle français",
        "Dan;Roe;DAN@initech.example;;Initech;",
        "Dan;Roe;dan@initech.example;;Initech;again: a duplicate",
        ";;nobody@example.com;;;no name",
    ]
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8")


def test_an_admin_imports_an_event_export_on_a_phone(page, make_live_user, live_db, monkeypatch):
    # One row per batch and one batch per poll, so the progress bar is there to be seen.
    monkeypatch.setattr(run, "CHUNK_ROWS", 1)
    monkeypatch.setattr(import_views, "RUN_BUDGET_SECONDS", 0)
    make_live_user("admin@example.com", "admin", "Ada Admin")
    make_live_user("rep@example.com", "rep", "Rita Rep")
    sign_in(page, "admin@example.com")
    open_area(page, "Admin")
    page.get_by_role("link", name="Import a CSV file").click()

    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "expo.csv", "mimeType": "text/csv", "buffer": event_export()}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("UTF-8 with BOM, semicolon-separated")).to_be_visible()

    # The guesses, the work phone's too (since issue 24).
    expect(page.get_by_label("First name", exact=True)).to_have_value("first_name")
    expect(page.get_by_label("E-mail")).to_have_value("email")
    expect(page.get_by_label("Organisation")).to_have_value("company_name")
    expect(page.get_by_label("Tel. (work)")).to_have_value("phone")
    preview = page.get_by_role("table", name="Preview of the first rows")
    expect(preview.get_by_role("row").filter(has_text="Ann Smith")).to_contain_text(
        "+44 20 7946 0958"
    )
    expect(preview.get_by_role("row").filter(has_text="Refused")).to_have_text(
        "7 Refused: Name: Enter a name — a person or a business."
    )
    page.get_by_label("Source", exact=True).fill("Expo 2026")
    page.get_by_label("Owner").select_option(label="Rita Rep")
    page.get_by_role("button", name="Import").click()

    expect(page.get_by_role("progressbar")).to_be_visible()
    report = page.get_by_role("status").filter(has_text="imported")
    expect(report).to_contain_text("4 imported")
    expect(report).to_contain_text("1 duplicates skipped")
    expect(report).to_contain_text("1 refused")
    expect(page.get_by_role("progressbar")).to_have_count(0)

    open_area(page, "Leads")
    page.get_by_label("Search").fill("Chloé")
    expect(page.get_by_role("link", name="Chloé Dubois")).to_be_visible()
    live_db.expire_all()
    chloe = live_db.scalar(select(Lead).where(Lead.name == "Chloé Dubois"))
    assert (chloe.source, chloe.owner.name, chloe.phone, chloe.company_name) == (
        "Expo 2026", "Rita Rep", "+33 1 23 45 67 89", "Société Générale",
    )  # fmt: skip
