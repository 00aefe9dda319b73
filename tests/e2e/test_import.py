"""An admin on a phone imports an event's attendee export and finds the leads; the mapping
page and its preview fit a 390 × 844 screen, a Temperature column's values are mapped."""

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


def rated_export() -> bytes:
    rows = [
        "Full name,E-mail,Rating,Mobile,Organisation,Comments",
        "Ann Smith,ann.smith@a-very-long-company-domain.example,A,+44 20 7946 0958,"
        "Acme Widgets and Sprockets International,Wants a demo of the whole range next month",
        "Bob Jones,bob@globex.example,B,+44 20 7946 0959,Globex,",
        "Cleo Ng,cleo@initech.example,C,,Initech,Call back",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def fits_the_screen(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px screen"


def test_the_mapping_and_its_preview_fit_a_phone_and_map_a_ratings_values(
    page, make_live_user, live_db
):
    make_live_user("admin@example.com", "admin", "Ada Admin")
    sign_in(page, "admin@example.com")
    page.goto("/admin/import")
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "rated.csv", "mimeType": "text/csv", "buffer": rated_export()}]
    )
    page.get_by_role("button", name="Upload").click()
    # A person acts once the page has loaded (htmx listens for the selects' changes).
    page.wait_for_url("**/admin/import/*")
    page.wait_for_load_state("load")

    # Each column's select says why it is what it is; the admin's own choice says so.
    email = page.get_by_label("E-mail", exact=True)
    expect(email).to_have_value("email")
    expect(email).to_have_accessible_description("From the header “E-mail”")
    rating = page.get_by_label("Rating", exact=True)
    expect(rating).to_have_value("temperature")
    expect(rating).to_have_accessible_description("From the header “Rating”")
    rating.select_option(label="Ignore")
    expect(rating).to_have_accessible_description("Chosen by you")
    rating.select_option(label="Temperature")
    expect(rating).to_have_accessible_description("From the header “Rating”")

    # The Rating's values, and what each becomes: the preview follows them.
    values = page.get_by_role("table", name="Values of “Rating”")
    expect(values.get_by_role("combobox")).to_have_count(3)
    values.get_by_label("A", exact=True).select_option(label="Hot")
    values.get_by_label("B", exact=True).select_option(label="Warm")
    values.get_by_label("C", exact=True).select_option(label="No temperature")
    preview = page.get_by_role("table", name="Preview of the first rows")
    ann = preview.get_by_role("row").filter(has_text="Ann Smith")
    expect(ann).to_contain_text("hot")
    values.get_by_label("A", exact=True).select_option(label="Cold")
    expect(ann).to_contain_text("cold")
    expect(preview.get_by_role("row").filter(has_text="Bob Jones")).to_contain_text("warm")

    # Every column of a row is readable on the phone: the table scrolls sideways inside
    # its own box (nothing else on the page is wider than the screen), and a cell scrolled
    # into view is whole on the screen and at least a few words wide.
    box = page.get_by_role(
        "region", name="The preview table, which scrolls sideways"
    ).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    for text in ("ann.smith@a-very-long-company-domain.example", "Acme Widgets and Sprockets"):
        cell = ann.get_by_role("cell").filter(has_text=text)
        cell.scroll_into_view_if_needed()
        expect(cell).to_be_in_viewport()
        cell_box = cell.bounding_box()
        assert cell_box["x"] >= 0 and cell_box["x"] + cell_box["width"] <= 390
        assert cell_box["width"] >= 100
    fits_the_screen(page)
    page.get_by_label("Source", exact=True).fill("Ratings list")
    page.get_by_role("radio", name="Fill in its empty fields").check()
    fits_the_screen(page)
    # On a wider screen too, the table scrolls inside its own box.
    page.set_viewport_size({"width": 700, "height": 844})
    table = page.get_by_role("table", name="Preview of the first rows")
    expect(table.get_by_role("row").filter(has_text="Ann Smith")).to_contain_text("cold")
    assert page.evaluate("document.documentElement.scrollWidth") <= 700
    page.set_viewport_size({"width": 390, "height": 844})

    page.get_by_role("button", name="Import").click()
    report = page.get_by_role("status").filter(has_text="imported")
    expect(report).to_contain_text("3 imported")
    fits_the_screen(page)
    live_db.expire_all()
    temperatures = dict(live_db.execute(select(Lead.name, Lead.temperature)).all())
    assert temperatures == {"Ann Smith": "cold", "Bob Jones": "warm", "Cleo Ng": None}
