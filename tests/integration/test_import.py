"""CSV import through the app: upload → map → import → report → undo, admins only, every
kind of bad input refused with a message and nothing half-imported."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import time
from datetime import date, timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import event, func, select, text

from quickcrm.domain.imports import ahead, run
from quickcrm.models import (
    Activity,
    Company,
    Contact,
    Import,
    ImportChunk,
    ImportKey,
    Lead,
    utcnow,
)
from tests.conftest import csrf_token

EVENT = (
    "\ufeffFirst name;Last name;E-mail;Tel. (work);Organisation;Notes;Temperature;Follow-up\r\n"
    "Ann;Smith;ann@acme.example;+44 20 7946 0958;Acme;Met at the stand;hot;{due}\r\n"
    "Bob;Jones;bob@globex.example;+44 20 7946 0959;Globex;;warm;\r\n"
    "Cleo;Ng;ANN@acme.example;;Acme;same email as Ann;;\r\n"
    ";;nobody@example.com;;;no name;;\r\n"
    "Dan;Roe;dan@initech.example;;Initech;bad date;cold;31/02/2026\r\n"
)


def event_csv(due: date | None = None) -> bytes:
    due = due or date.today() + timedelta(days=3)
    return EVENT.format(due=due.isoformat()).encode("utf-8")


def upload(client, data: bytes, filename: str = "event.csv", kind: str = "leads", **extra):
    token = csrf_token(client, "/admin/import")
    return client.post(
        "/admin/import",
        data={"csrf_token": token, "kind": kind, "file": (io.BytesIO(data), filename), **extra},
        content_type="multipart/form-data",
    )


def import_id_of(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return int(re.search(r"/admin/import/(\d+)$", response.headers["Location"]).group(1))


def mapping_form(client, import_id: int, **changes) -> dict:
    """The mapping form as the page fills it (its guesses), with ``changes``."""
    page = client.get(f"/admin/import/{import_id}").get_data(as_text=True)
    form = {"csrf_token": csrf_token(client, f"/admin/import/{import_id}")}
    for name, body in re.findall(
        r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option value="([^"]+)" selected>', body)
        form[name] = chosen.group(1) if chosen else ""
    source = re.search(r'id="source" name="source" value="([^"]*)"', page)
    if source:
        form["source"] = source.group(1)
    return form | changes


def finish(client, import_id: int, limit: int = 100) -> None:
    token = csrf_token(client, f"/admin/import/{import_id}")
    for _ in range(limit):
        response = client.post(
            f"/admin/import/{import_id}/run", data={"csrf_token": token},
            headers={"HX-Request": "true"},
        )  # fmt: skip
        assert response.status_code == 200
        if "hx-trigger" not in response.get_data(as_text=True):
            return
    raise AssertionError("the import did not finish")


def refused_rows(client, import_id: int) -> list[list[str]]:
    """The refused rows' download, read and closed (a streamed answer keeps its request,
    and so its database session, open until it is closed)."""
    with client.get(f"/admin/import/{import_id}/refused.csv") as response:
        assert response.status_code == 200 and response.mimetype == "text/csv"
        body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def start(client, import_id: int, **changes):
    return client.post(
        f"/admin/import/{import_id}", data=mapping_form(client, import_id, **changes)
    )


def imports_stored(db) -> int:
    return db.scalar(select(func.count()).select_from(Import))


def test_an_event_export_is_uploaded_mapped_imported_reported_and_undone(
    client, admin, db, make_user
):
    owner = make_user("rita@example.com", "rep", "Rita Rep")
    due = date.today() + timedelta(days=3)
    import_id = import_id_of(upload(client, event_csv(due)))

    page = client.get(f"/admin/import/{import_id}").get_data(as_text=True)
    assert "5 rows · UTF-8 with BOM, semicolon-separated" in page
    guessed = mapping_form(client, import_id)
    assert [guessed[f"column_{i}"] for i in range(8)] == [
        "first_name", "last_name", "email", "phone", "company_name", "note", "temperature",
        "next_action_on",
    ]  # fmt: skip
    # The preview shows the rows as they will be stored, and what is wrong with the others.
    assert "Ann Smith" in page and "Refused:</strong> Name: Enter a name" in page
    assert "Next action date: Enter a date like" in page

    # The admin picks source and owner ("Tel. (work)" is guessed as the phone since issue 24).
    response = start(client, import_id, source="Expo 2026", owner=str(owner.id))
    assert response.status_code == 303
    page = client.get(f"/admin/import/{import_id}").get_data(as_text=True)
    assert "<progress" in page and 'hx-trigger="load, every 1s"' in page

    finish(client, import_id)
    page = client.get(f"/admin/import/{import_id}").get_data(as_text=True)
    assert "2 imported" in page and "1 duplicates skipped" in page and "2 refused" in page

    leads = {lead.name: lead for lead in db.scalars(select(Lead))}
    assert set(leads) == {"Ann Smith", "Bob Jones"}
    ann = leads["Ann Smith"]
    assert (ann.source, ann.owner_id, ann.temperature, ann.next_action_on) == (
        "Expo 2026", owner.id, "hot", due,
    )  # fmt: skip
    assert (ann.phone, ann.email, ann.note, ann.company_name) == (
        "+44 20 7946 0958", "ann@acme.example", "Met at the stand", "Acme",
    )  # fmt: skip
    task = db.scalars(select(Activity).where(Activity.lead_id == ann.id)).one()
    assert (task.due_on, task.assignee_id, task.done) == (due, owner.id, False)

    # The leads list shows them to the admin.
    listing = client.get("/leads/?status=all").get_data(as_text=True)
    assert "Ann Smith" in listing and "Bob Jones" in listing

    # Refused rows download as CSV with their reason, UTF-8 with BOM.
    rows = refused_rows(client, import_id)
    assert rows[0][:3] == ["Line", "Reason", "First name"]
    assert [(r[0], r[1].split(":")[0]) for r in rows[1:]] == [
        ("5", "Name"),
        ("6", "Next action date"),
    ]
    assert rows[2][2:4] == ["Dan", "Roe"]

    # Undo asks in the page, then removes the two leads and Ann's next action.
    assert "Remove 2 leads" in page
    token = csrf_token(client, f"/admin/import/{import_id}")
    response = client.post(f"/admin/import/{import_id}/undo", data={"csrf_token": token})
    assert response.status_code == 303
    page = client.get(f"/admin/import/{import_id}").get_data(as_text=True)
    assert "Import undone: 2 leads removed." in page
    assert db.scalar(select(func.count()).select_from(Lead)) == 0
    assert db.scalar(select(func.count()).select_from(Activity)) == 0
    again = client.post(f"/admin/import/{import_id}/undo", data={"csrf_token": token})
    assert again.status_code == 303
    assert "Only a finished import can be undone" in client.get(again.headers["Location"]).get_data(
        as_text=True
    )


def test_duplicates_of_existing_leads_and_contacts_are_skipped(client, admin, db):
    db.add(Lead(name="Old Lead", owner_id=admin.id, phone="020 7946 0958"))
    db.add(Contact(name="Old Contact", email="Zoe@Initech.example"))
    db.commit()
    data = (
        b"Name,Email,Phone\n"
        b"Ann,ann@acme.example,+44 20 7946 0958\n"  # the lead's phone, written otherwise
        b"Zoe,zoe@initech.EXAMPLE,\n"  # the contact's email in another case
        b"Bob,bob@globex.example,\n"
        b"Bob again,BOB@globex.example,\n"  # an earlier row of the file
    )
    client.application.config["PHONE_REGION"] = "GB"
    import_id = import_id_of(upload(client, data))
    assert start(client, import_id).status_code == 303
    finish(client, import_id)
    made = db.get(Import, import_id)
    db.refresh(made)
    assert (made.imported, made.duplicates, made.refused, made.status) == (1, 3, 0, "done")
    assert db.scalars(select(Lead.name).where(Lead.import_id == import_id)).all() == ["Bob"]
    # The duplicate keys are only kept while the import runs.
    assert db.scalar(select(func.count()).select_from(ImportKey)) == 0
    assert db.scalar(select(func.count()).select_from(ImportChunk)) == 0


def test_a_crash_between_batches_resumes_and_imports_each_row_once(client, admin, db, monkeypatch):
    monkeypatch.setattr(run, "CHUNK_ROWS", 2)
    lines = ["Name,Email"] + [f"Person {i},p{i}@example.com" for i in range(7)]
    import_id = import_id_of(upload(client, "\n".join(lines).encode()))
    assert db.scalar(select(func.count()).where(ImportChunk.import_id == import_id)) == 4
    assert start(client, import_id).status_code == 303

    real = run._import_leads
    calls = []

    def crash_in_the_second_batch(session, upload, rows, region):
        result = real(session, upload, rows, region)  # the leads are written…
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("the server died")  # …and the process dies before commit
        return result

    monkeypatch.setattr(run, "_import_leads", crash_in_the_second_batch)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    token = csrf_token(client, f"/admin/import/{import_id}")
    crashed = client.post(
        f"/admin/import/{import_id}/run", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert crashed.status_code == 500
    made = db.get(Import, import_id)
    db.refresh(made)
    assert (made.next_chunk, made.rows_done, made.imported) == (1, 2, 2)
    assert db.scalar(select(func.count()).select_from(Lead)) == 2

    monkeypatch.setattr(run, "_import_leads", real)
    finish(client, import_id)
    db.refresh(made)
    assert (made.status, made.rows_done, made.imported, made.duplicates) == ("done", 7, 7, 0)
    names = db.scalars(select(Lead.name).order_by(Lead.name)).all()
    assert names == [f"Person {i}" for i in range(7)]


def test_a_finished_import_does_nothing_more_when_polled(client, admin, db):
    import_id = import_id_of(upload(client, b"Name\nAnn\n"))
    start(client, import_id)
    finish(client, import_id)
    finish(client, import_id)
    assert db.scalar(select(func.count()).select_from(Lead)) == 1


def test_the_preview_follows_the_chosen_mapping_as_an_htmx_fragment(client, admin):
    import_id = import_id_of(upload(client, b"Who,Mail\nAnn,ann@example.com\n"))
    response = client.get(
        f"/admin/import/{import_id}",
        query_string={"column_0": "name", "column_1": "email", "source": "Fair"},
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith(
        '<section class="panel stack" id="preview"'
    )
    assert "<td>Ann</td>" in body and "<td>ann@example.com</td>" in body and "<td>Fair</td>" in body


def test_a_mapping_without_a_name_or_with_a_column_twice_is_refused(client, admin, db):
    import_id = import_id_of(upload(client, b"Who,Org,Other org\nAnn,Acme,Acme Ltd\n"))
    # (Email twice is allowed since issue 24: a row takes the first non-empty one.)
    response = start(
        client, import_id, column_0="ignore", column_1="company_name", column_2="company_name"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose the column with the name: Name, or First name and Last name." in page
    assert 'id="column_1-error">Company is also chosen for “Other org”' in page
    assert 'id="column_2-error">Company is also chosen for “Org”' in page
    response = start(client, import_id, column_0="name", owner="999")
    assert response.status_code == 422 and "Choose who will own the records." in response.get_data(
        as_text=True
    )
    assert db.get(Import, import_id).status == "mapping"
    assert db.scalar(select(func.count()).select_from(Lead)) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\xef\xbb\xbf", "The file is empty."),
        (b"Name,Email\r\n", "The file has a header row and no rows under it."),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "This is not a CSV file"),
        (b"PK\x03\x04" + bytes(200), "save it as CSV"),
        (b'Name,Note\nAnn,ok\nBob,"never closed\nCleo,x\n', "Line 3: the quotes are broken"),
        (b"Name\n" + b'"' + b"x" * 140_000 + b'"\n', "Line 2: a cell is longer than"),
    ],
    ids=["empty", "only a BOM", "header only", "picture", "xlsx", "broken quoting", "huge cell"],
)
def test_a_file_that_is_not_usable_csv_is_refused_with_a_message(client, admin, db, data, message):
    response = upload(client, data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'id="file-error"' in page
    assert imports_stored(db) == 0


def test_no_file_is_refused_with_a_message(client, admin, db):
    token = csrf_token(client, "/admin/import")
    response = client.post("/admin/import", data={"csrf_token": token, "kind": "leads"})
    assert response.status_code == 422
    assert "Choose a CSV or vCard file" in response.get_data(as_text=True)


def test_rows_of_different_lengths_and_bad_cells_are_refused_not_the_file(client, admin, db):
    data = (
        "Name,Email,Next action date\n"
        "Ann,ann@example.com,\n"
        "Bob,bob@example.com\n"
        "Cleo,cleo@example.com,,extra\n" + "X" * 10_000 + ",x@example.com,\n"
        "Dan,dan@example.com,2026-13-45\n"
        "Eve\x00,eve@example.com,\n"
    ).encode()
    import_id = import_id_of(upload(client, data))
    start(client, import_id)
    finish(client, import_id)
    made = db.get(Import, import_id)
    db.refresh(made)
    assert (made.imported, made.refused) == (1, 5)
    reasons = [row[1] for row in refused_rows(client, import_id)][1:]
    assert reasons[0].startswith("This row has 2 cells where the header has 3")
    assert reasons[1].startswith("This row has 4 cells")
    assert reasons[2].startswith("Name: Keep it under 200 characters (this is 10000)")
    assert reasons[3].startswith("Next action date: Enter a date like")
    assert reasons[4].startswith("Name: This text holds a character QuickCRM cannot store")


def test_refused_cells_that_look_like_formulas_are_neutralised_in_the_download(client, admin):
    data = b'Name,Email\n"=HYPERLINK(""http://evil.example"")",@bad\n'
    import_id = import_id_of(upload(client, data))
    start(client, import_id)
    finish(client, import_id)
    rows = refused_rows(client, import_id)
    assert rows[1][2:] == ['\'=HYPERLINK("http://evil.example")', "'@bad"]


def test_a_header_that_looks_like_a_formula_is_neutralised_in_the_download(client, admin):
    # The refused rows' file repeats the upload's header row: typed text, like its cells.
    data = b'Name,"=HYPERLINK(""http://evil.example"",""Open"")",+Phone\n,x,1\n'
    import_id = import_id_of(upload(client, data))
    start(client, import_id)
    finish(client, import_id)
    header = refused_rows(client, import_id)[0]
    assert header == [
        "Line", "Reason", "Name", '\'=HYPERLINK("http://evil.example","Open")', "'+Phone"
    ]  # fmt: skip


def test_an_admin_may_upload_more_than_the_app_wide_limit(client, admin, db):
    lines = ["Name,Note"] + [f"Person {i},{'n' * 100}" for i in range(12_000)]
    data = "\n".join(lines).encode()
    assert len(data) > client.application.config["MAX_CONTENT_LENGTH"]
    import_id = import_id_of(upload(client, data))
    assert db.get(Import, import_id).total_rows == 12_000


def test_a_file_over_50_mb_is_refused_with_413_and_a_message(client, admin, db):
    token = csrf_token(client, "/admin/import")
    response = client.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"Name\nAnn\n"), "big.csv")},
        content_type="multipart/form-data",
        environ_overrides={"CONTENT_LENGTH": str(200 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert "larger than 50 MB" in response.get_data(as_text=True)
    htmx = client.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"Name\nAnn\n"), "big.csv")},
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
        environ_overrides={"CONTENT_LENGTH": str(200 * 1024 * 1024)},
    )
    assert "50 MB" in unquote(htmx.headers["X-QuickCRM-Message"])
    assert imports_stored(db) == 0


@pytest.mark.parametrize("role", ["rep", "coordinator"])
def test_only_admins_import(client, sign_in_as, db, role):
    sign_in_as(role)
    assert client.get("/admin/import").status_code == 403
    token = csrf_token(client, "/")
    response = client.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(event_csv()), "event.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert imports_stored(db) == 0


def test_a_non_admin_keeps_the_1_mb_limit(client, sign_in_as):
    sign_in_as("rep")
    token = csrf_token(client, "/")
    response = client.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 2_000_000), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413 and "1 MB" in response.get_data(as_text=True)


def test_an_upload_without_the_csrf_token_is_refused(client, admin, db):
    response = client.post(
        "/admin/import",
        data={"file": (io.BytesIO(event_csv()), "event.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert imports_stored(db) == 0
    import_id = import_id_of(upload(client, event_csv()))
    form = mapping_form(client, import_id)
    del form["csrf_token"]
    assert client.post(f"/admin/import/{import_id}", data=form).status_code == 400
    assert client.post(f"/admin/import/{import_id}/run").status_code == 400
    assert client.post(f"/admin/import/{import_id}/undo").status_code == 400
    assert db.get(Import, import_id).status == "mapping"


def test_companies_with_their_contacts_are_imported_and_undone(client, admin, db):
    db.add(Company(name="Globex Corporation", name_key="globex"))
    db.commit()
    data = (
        b"Company name,Contact,Job title,Email,Phone,Website,City\n"
        b"Acme Ltd,Ann Smith,Buyer,ann@acme.example,,acme.example,Leeds\n"
        b"ACME,Bob Jones,CEO,bob@acme.example,,,\n"
        b"Globex,Cleo Ng,,cleo@globex.example,,,\n"
        b"Initech,,,,+1 212 555 0100,,\n"
        b"Acme Ltd,Ann S.,,ANN@acme.example,,,\n"
        b",Nobody,,,,,\n"
    )
    import_id = import_id_of(upload(client, data, kind="companies"))
    guessed = mapping_form(client, import_id)
    assert [guessed[f"column_{i}"] for i in range(7)] == [
        "company_name", "name", "title", "email", "phone", "website", "address",
    ]  # fmt: skip
    assert start(client, import_id).status_code == 303
    finish(client, import_id)
    made = db.get(Import, import_id)
    db.refresh(made)
    assert (made.imported, made.duplicates, made.refused) == (4, 1, 1)
    companies = {c.name: c for c in db.scalars(select(Company))}
    assert set(companies) == {"Globex Corporation", "Acme Ltd", "Initech"}
    assert companies["Acme Ltd"].website == "https://acme.example"
    assert companies["Initech"].phone == "+1 212 555 0100"
    contacts = {c.name: c.company_id for c in db.scalars(select(Contact))}
    assert contacts == {
        "Ann Smith": companies["Acme Ltd"].id,
        "Bob Jones": companies["Acme Ltd"].id,
        "Cleo Ng": companies["Globex Corporation"].id,
    }
    token = csrf_token(client, f"/admin/import/{import_id}")
    client.post(f"/admin/import/{import_id}/undo", data={"csrf_token": token})
    db.expire_all()
    assert db.scalars(select(Company.name)).all() == ["Globex Corporation"]
    assert db.scalar(select(func.count()).select_from(Contact)) == 0
    assert db.get(Import, import_id).removed == 5


def test_the_import_page_lists_past_imports(client, admin, db):
    import_id = import_id_of(upload(client, b"Name\nAnn\n", filename="fair.csv"))
    page = client.get("/admin/import").get_data(as_text=True)
    assert f'href="/admin/import/{import_id}">fair.csv</a>' in page
    assert "waiting for its columns" in page
    assert json.loads(db.get(Import, import_id).headers) == ["Name"]


def test_imported_leads_and_later_captures_are_found_by_search(client, admin, db):
    import_id = import_id_of(upload(client, b"Name,Company\nZebulon Quartz,Xylophone Works\n"))
    start(client, import_id)
    finish(client, import_id)
    token = csrf_token(client, "/")
    client.post("/", data={"csrf_token": token, "name": "Quentin Zyx", "company_name": "Later"})
    searches = (("Xylophone", "Zebulon Quartz"), ("Zyx", "Quentin Zyx"), ("xy", "Zebulon Quartz"))
    for typed, name in searches:
        listing = client.get("/leads/", query_string={"q": typed}).get_data(as_text=True)
        assert name in listing, typed


def test_the_leads_stay_readable_while_a_batch_writes_them(app, client, admin, db):
    """A batch takes no lock that stops a reader of the leads (ALTER INDEX would): another
    connection searches them just before the batch commits, without waiting."""
    import_id = import_id_of(upload(client, event_csv()))
    start(client, import_id)
    seen: list[int] = []

    def read_the_leads(_session):
        with app.extensions["quickcrm.engine"].connect() as reader:
            if reader.dialect.name == "postgresql":
                reader.execute(text("SET lock_timeout = '2s'"))
            found = select(func.count()).where(Lead.company_name.ilike("%globex%"))
            seen.append(reader.execute(found).scalar_one())

    event.listen(db, "before_commit", read_the_leads)
    assert run.run_batch(db, import_id, today=date.today(), region=None)
    event.remove(db, "before_commit", read_the_leads)
    assert seen == [0]  # the batch's leads are not committed yet
    assert db.scalar(select(func.count()).where(Lead.company_name.ilike("%globex%"))) == 1


def test_purge_removes_uploads_never_mapped_for_a_week_with_their_rows(client, admin, db, runner):
    abandoned = import_id_of(upload(client, b"Name\nAnn\n"))
    recent = import_id_of(upload(client, b"Name\nBob\n"))
    started = import_id_of(upload(client, b"Name\nCleo\n"))
    start(client, started)
    for import_id, days in ((abandoned, 8), (recent, 6), (started, 30)):
        db.get(Import, import_id).updated_at = utcnow() - timedelta(days=days)
    db.commit()

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "1 abandoned uploads" in result.output
    db.expire_all()
    assert db.get(Import, abandoned) is None
    assert db.scalar(select(func.count()).where(ImportChunk.import_id == abandoned)) == 0
    assert db.get(Import, recent).status == "mapping"
    assert db.get(Import, started).status == "running"  # started: it can go on


def test_a_full_batch_stores_every_row_once_with_its_values_as_typed(client, admin, db):
    """A batch of 1,000 rows is written many rows per statement (SQLite) or by COPY
    (PostgreSQL): every lead, its next action and its search entries come out as one
    row at a time would store them."""
    due = date.today() + timedelta(days=5)
    lines = ["Name,E-mail,Mobile,Follow-up,Notes"] + [
        f"Person {i:04},p{i}@example.com,+44 7900 {i:06},{due.isoformat() if i % 2 else ''},"
        f"=note {i}"
        for i in range(1_001)
    ]
    import_id = import_id_of(upload(client, "\n".join(lines).encode()))
    start(client, import_id)
    finish(client, import_id)
    assert db.get(Import, import_id).imported == 1_001
    leads = db.scalars(select(Lead).order_by(Lead.id)).all()
    assert [lead.name for lead in leads] == [f"Person {i:04}" for i in range(1_001)]
    last = leads[-1]
    assert (last.email, last.phone, last.note, last.next_action_on, last.status) == (
        "p1000@example.com", "+44 7900 001000", "=note 1000", None, "open",
    )  # fmt: skip
    assert len({lead.uuid for lead in leads}) == 1_001 and leads[999].captured_at is not None
    tasks = db.scalars(select(Activity).where(Activity.lead_id == leads[999].id)).all()
    assert [(task.kind, task.due_on, task.done) for task in tasks] == [("task", due, False)]
    assert db.scalar(select(func.count()).select_from(Activity)) == 500
    listing = client.get("/leads/", query_string={"q": "Person 0999"}).get_data(as_text=True)
    assert "Person 0999" in listing and "Person 0998" not in listing


def _warm_helper() -> None:
    settings = ahead.Settings("leads", ("Name",), ("name",), date.today(), None, None)
    assert ahead.helper.submit(settings, '[[2, "Ann"]]').result(timeout=60)[0].ok
    for _ in range(100):  # the done-callback that marks it warm runs just after
        if ahead.helper.warm:
            return
        time.sleep(0.05)
    raise AssertionError("the helper process never finished a chunk")


def _many_rows(client, monkeypatch) -> int:
    monkeypatch.setattr(run, "CHUNK_ROWS", 50)
    lines = ["Name,Email,Mobile"] + [
        f"Person {i:03},p{i}@example.com,+44 7900 {i:06}" for i in range(300)
    ]
    import_id = import_id_of(upload(client, "\n".join([*lines, "Bad,not-an-email,"]).encode()))
    assert start(client, import_id).status_code == 303
    return import_id


def _imported(db, import_id: int) -> tuple:
    made = db.get(Import, import_id)
    db.refresh(made)
    names = db.scalars(select(Lead.name).order_by(Lead.name)).all()
    return made.status, made.imported, made.refused, names == [f"Person {i:03}" for i in range(300)]


def test_a_helper_process_cleans_the_next_chunk_while_one_is_written(
    client, admin, db, monkeypatch
):
    import_id = _many_rows(client, monkeypatch)
    _warm_helper()
    here = []
    clean_here = run.clean_chunk
    monkeypatch.setattr(run, "clean_chunk", lambda *args: here.append(1) or clean_here(*args))
    assert run.run(db, import_id, today=date.today(), region=None, budget=120) == 7
    assert _imported(db, import_id) == ("done", 300, 1, True)
    assert len(here) == 1  # the first chunk; the helper cleaned the six others


def test_an_import_goes_on_when_the_helper_process_dies(client, admin, db, monkeypatch, caplog):
    import_id = _many_rows(client, monkeypatch)
    _warm_helper()
    for process in list(ahead.helper._pool._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
    assert run.run(db, import_id, today=date.today(), region=None, budget=120) == 7
    assert _imported(db, import_id) == ("done", 300, 1, True)
    assert "cleaning helper" in caplog.text
