"""Duplicates of existing leads and contacts skipped, filled in or updated as the admin
chooses per import; the report counts each, undo puts back what was changed; rows imported
with a warning are counted and downloadable (docs/import.md, "Import")."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from quickcrm.domain.imports import run
from quickcrm.domain.keys import person_key
from quickcrm.models import Activity, Contact, Import, ImportChange, ImportRefusal, Lead
from tests import factories
from tests.conftest import csrf_token
from tests.integration.test_import import finish, import_id_of, start, upload

DUE = date.today() + timedelta(days=4)


def imported_with(client, data: bytes, on_duplicate: str, kind: str = "leads", **form) -> int:
    import_id = import_id_of(upload(client, data, kind=kind))
    assert start(client, import_id, on_duplicate=on_duplicate, **form).status_code == 303
    finish(client, import_id)
    return import_id


def report(client, import_id: int) -> str:
    return client.get(f"/admin/import/{import_id}").get_data(as_text=True)


def undo(client, import_id: int) -> None:
    token = csrf_token(client, f"/admin/import/{import_id}")
    response = client.post(f"/admin/import/{import_id}/undo", data={"csrf_token": token})
    assert response.status_code == 303


def reread(db, *records):
    db.expire_all()
    return records


LEADS = (
    "Name,Email,Phone,Company,Notes,Temperature,Follow-up\n"
    f"Ann Smith,ANN@acme.example,+44 20 7946 0958,Acme,Asked for prices,hot,{DUE}\n"
    "Bob Jones,bob@globex.example,+44 20 7946 0959,Globex,,warm,\n"
    "Ann again,ann@acme.example,,,Second line,,\n"
    "Cleo Ng,cleo@initech.example,,Initech,,,\n"
).encode()


def test_update_sets_the_rows_values_on_open_leads_and_undo_puts_them_back(
    client, admin, db, make_user
):
    ann = factories.lead(
        db, admin, "Ann Old", email="ann@acme.example", note="Met in 2024", temperature="cold"
    )
    bob = factories.lead(db, admin, "Bob Converted", email="bob@globex.example", status="converted")
    import_id = imported_with(client, LEADS, "update", source="Expo")

    page = report(client, import_id)
    assert "1 imported" in page and "1 duplicates updated" in page
    # Bob's lead is converted, "Ann again" repeats an earlier row of the file.
    assert "2 duplicates skipped" in page and "filled in" not in page
    ann, bob = reread(db, ann, bob)
    assert (ann.name, ann.email, ann.phone, ann.company_name, ann.temperature, ann.source) == (
        "Ann Smith", "ann@acme.example", "+44 20 7946 0958", "Acme", "hot", "Expo",
    )  # fmt: skip
    assert ann.note == "Met in 2024\n\nAsked for prices"  # added below, not replaced
    assert ann.next_action_on == DUE and ann.import_id is None
    task = db.scalars(select(Activity).where(Activity.lead_id == ann.id)).one()
    assert (task.kind, task.due_on, task.done) == ("task", DUE, False)
    assert (bob.name, bob.phone, bob.temperature) == ("Bob Converted", None, None)
    assert db.scalars(select(Lead.name).where(Lead.import_id == import_id)).all() == ["Cleo Ng"]
    made = db.get(Import, import_id)
    assert (made.imported, made.duplicates, made.dup_filled, made.dup_updated) == (1, 2, 0, 1)
    changes = db.scalars(select(ImportChange).where(ImportChange.import_id == import_id)).all()
    assert sorted((c.record_type, c.record_id) for c in changes) == [
        ("activity", task.id),
        ("lead", ann.id),
    ]
    assert json.loads(next(c.before for c in changes if c.record_type == "lead"))["name"] == [
        "Ann Old", "Ann Smith",
    ]  # fmt: skip

    # Someone sets Ann's temperature after the import: undo leaves their change.
    ann.temperature = "warm"
    db.commit()
    assert "and deletes the 1 follow-up task it added" in page
    assert ", puts back 1 lead it updated" in page
    undo(client, import_id)
    (ann,) = reread(db, ann)
    assert (ann.name, ann.phone, ann.company_name, ann.note, ann.source) == (
        "Ann Old", None, None, "Met in 2024", None,
    )  # fmt: skip
    assert ann.temperature == "warm" and ann.next_action_on is None
    assert db.scalar(select(func.count()).select_from(Activity)) == 0
    assert db.scalars(select(Lead.name).order_by(Lead.name)).all() == ["Ann Old", "Bob Converted"]
    assert "and the leads it updated put back as they were" in report(client, import_id)


def test_fill_sets_only_the_empty_fields_and_a_next_action_where_there_is_none(client, admin, db):
    ann = factories.lead(db, admin, "Ann Old", email="ann@acme.example", note="Keep this")
    kept_task = factories.task(db, admin, date.today() + timedelta(days=9), lead=ann)
    cleo = factories.lead(db, admin, "Cleo Ng", email="cleo@initech.example")
    same = factories.lead(
        db, admin, "Bob Jones", email="bob@globex.example", phone="+44 20 7946 0959",
        company_name="Globex", temperature="warm", source="Expo",
    )  # fmt: skip
    cleo_row = f"Cleo N.,cleo@initech.example,,Initech,,cold,{DUE}".encode()
    data = LEADS.replace(b"Cleo Ng,cleo@initech.example,,Initech,,,", cleo_row)
    import_id = imported_with(client, data, "fill", source="Expo")

    page = report(client, import_id)
    assert "0 imported" in page and "2 duplicates filled in" in page
    assert "2 duplicates skipped" in page  # Bob changed nothing, "Ann again" repeats Ann
    ann, cleo, same = reread(db, ann, cleo, same)
    assert (ann.name, ann.note, ann.phone, ann.company_name, ann.temperature, ann.source) == (
        "Ann Old", "Keep this", "+44 20 7946 0958", "Acme", "hot", "Expo",
    )  # fmt: skip
    assert ann.next_action_on == kept_task.due_on  # it has a next action: none added
    assert (cleo.name, cleo.company_name, cleo.temperature, cleo.next_action_on) == (
        "Cleo Ng", "Initech", "cold", DUE,
    )  # fmt: skip
    changed = select(ImportChange.record_id).where(ImportChange.record_type == "lead")
    assert sorted(db.scalars(changed)) == [ann.id, cleo.id]  # not Bob's: nothing changed
    assert db.get(Import, import_id).dup_filled == 2

    page = report(client, import_id)
    assert ", puts back 2 leads it filled in and deletes the 1 follow-up task" in page
    assert "Undo the import" in page  # nothing of its own to remove
    undo(client, import_id)
    ann, cleo = reread(db, ann, cleo)
    assert (ann.phone, ann.company_name, ann.temperature, ann.source) == (None, None, None, None)
    assert (cleo.company_name, cleo.temperature, cleo.next_action_on) == (None, None, None)
    assert db.scalars(select(Activity.id)).all() == [kept_task.id]


def test_skip_leaves_existing_leads_as_they_are(client, admin, db):
    ann = factories.lead(db, admin, "Ann Old", email="ann@acme.example")
    import_id = imported_with(client, LEADS, "skip")
    page = report(client, import_id)
    assert "2 imported" in page and "2 duplicates skipped" in page and "updated" not in page
    (ann,) = reread(db, ann)
    assert (ann.name, ann.phone, ann.next_action_on) == ("Ann Old", None, None)
    assert db.scalar(select(func.count()).select_from(ImportChange)) == 0


def test_what_a_duplicate_does_must_be_one_of_the_choices(client, admin, db):
    import_id = import_id_of(upload(client, LEADS))
    response = start(client, import_id, on_duplicate="merge")
    assert response.status_code == 422
    assert db.get(Import, import_id).status == "mapping"


CONTACTS = (
    b"Company,Contact,Job title,Email,Phone\n"
    b"Globex,Daniel Roe,CTO,DAN@acme.example,+1 212 555 0199\n"
    b"Globex,Dan R.,,,+1 212 555 0100\n"  # the contact's old phone: the same person again
    b"Acme,Eve Park,Buyer,eve@acme.example,\n"
)


@pytest.mark.parametrize(
    "on_duplicate, expected",
    [
        ("fill", ("Dan Roe", "CTO", "+1 212 555 0100", "+12125550100")),
        ("update", ("Daniel Roe", "CTO", "+1 212 555 0199", "+12125550199")),
    ],
)
def test_contacts_are_filled_in_or_updated_at_their_own_company(
    client, admin, db, on_duplicate, expected
):
    acme = factories.company(db, "Acme")
    dan = factories.contact(db, acme, "Dan Roe", email="dan@acme.example", phone="+1 212 555 0100",
                            phone_key="+12125550100")  # fmt: skip
    import_id = imported_with(client, CONTACTS, on_duplicate, kind="companies")

    made = db.get(Import, import_id)
    word = {"fill": "filled in", "update": "updated"}[on_duplicate]
    assert f"1 duplicates {word}" in report(client, import_id)
    assert (made.imported, made.duplicates) == (1, 1)  # Eve; "Dan R." repeats Dan
    (dan,) = reread(db, dan)
    assert (dan.name, dan.title, dan.phone, dan.phone_key) == expected
    assert dan.company_id == acme.id

    undo(client, import_id)
    (dan,) = reread(db, dan)
    assert (dan.name, dan.title, dan.phone, dan.phone_key) == (
        "Dan Roe", None, "+1 212 555 0100", "+12125550100",
    )  # fmt: skip
    assert db.scalars(select(Contact.name)).all() == ["Dan Roe"]


def test_a_lead_import_leaves_contacts_as_they_are(client, admin, db):
    dan = factories.contact(db, factories.company(db, "Acme"), "Dan Roe", email="ann@acme.example")
    import_id = imported_with(client, LEADS, "update")
    assert db.get(Import, import_id).dup_updated == 0
    (dan,) = reread(db, dan)
    assert (dan.name, dan.phone) == ("Dan Roe", None)


def test_a_crash_in_the_middle_of_a_batch_leaves_nothing_half_changed(
    client, admin, db, monkeypatch
):
    monkeypatch.setattr(run, "CHUNK_ROWS", 2)
    people = [factories.lead(db, admin, f"Old {i}", email=f"p{i}@example.com") for i in range(4)]
    lines = ["Name,Email,Follow-up"] + [f"Person {i},p{i}@example.com,{DUE}" for i in range(4)]
    import_id = import_id_of(upload(client, "\n".join(lines).encode()))
    assert start(client, import_id, on_duplicate="update").status_code == 303

    real = run._fill_or_update_leads
    calls = []

    def crash_in_the_second_batch(*args):
        outcome = real(*args)  # the leads are updated, their tasks added…
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the server died")  # …and the process dies before commit
        return outcome

    monkeypatch.setattr(run, "_fill_or_update_leads", crash_in_the_second_batch)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    token = csrf_token(client, f"/admin/import/{import_id}")
    crashed = client.post(
        f"/admin/import/{import_id}/run", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert crashed.status_code == 500
    made = db.get(Import, import_id)
    db.refresh(made)
    assert (made.next_chunk, made.dup_updated) == (1, 2)
    db.expire_all()
    assert [lead.name for lead in people] == ["Person 0", "Person 1", "Old 2", "Old 3"]
    assert people[2].next_action_on is None
    assert db.scalar(select(func.count()).select_from(ImportChange)) == 4  # 2 leads, 2 tasks

    monkeypatch.setattr(run, "_fill_or_update_leads", real)
    finish(client, import_id)
    db.refresh(made)
    assert (made.status, made.dup_updated, made.duplicates, made.imported) == ("done", 4, 0, 0)
    db.expire_all()
    assert [lead.name for lead in people] == [f"Person {i}" for i in range(4)]
    assert db.scalar(select(func.count()).select_from(Activity)) == 4
    assert db.scalar(select(func.count()).select_from(ImportChange)) == 8


def test_rows_with_a_warning_are_imported_counted_and_downloadable(client, admin, db, monkeypatch):
    factories.lead(db, admin, "Existing", email="dup@example.com")
    data = (
        b"Name,Email,Phone\n"
        b"Ann,ann@example.com,call the office\n"
        b"Bob,bob@example.com,\n"
        b"Dup,dup@example.com,call me maybe\n"  # skipped: its warning is no news
        b",nobody@example.com,\n"
    )
    clean = run.clean_chunk

    def warn_of_words_in_phones(settings, stored):
        rows = clean(settings, stored)
        for row in rows:
            if row.ok and row.cells[2]:
                row.values["phone"] = None
                row.warnings = [f"Phone: “{row.cells[2]}” is no number; kept in the note."]
        return rows

    monkeypatch.setattr(run, "clean_chunk", warn_of_words_in_phones)
    import_id = imported_with(client, data, "skip", column_2="ignore")

    page = report(client, import_id)
    assert "2 imported" in page and "1 imported with a warning" in page and "1 refused" in page
    assert db.get(Import, import_id).warned == 1
    assert db.scalars(select(Lead.name).where(Lead.import_id == import_id)).all() == ["Ann", "Bob"]
    with client.get(f"/admin/import/{import_id}/warnings.csv") as response:
        assert response.status_code == 200 and response.mimetype == "text/csv"
        body = response.get_data().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(body))) == [
        ["Line", "Warning", "Name", "Email", "Phone"],
        ["2", "Phone: “call the office” is no number; kept in the note.", "Ann",
         "ann@example.com", "call the office"],
    ]  # fmt: skip
    with client.get(f"/admin/import/{import_id}/refused.csv") as response:
        refused = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [row[0] for row in refused[1:]] == ["5"]
    stored = db.scalars(select(ImportRefusal.warning).where(ImportRefusal.import_id == import_id))
    assert sorted(stored) == [False, True]


def test_update_never_replaces_where_a_lead_came_from(client, admin, db):
    ann = factories.lead(db, admin, "Ann Old", email="ann@acme.example", source="Website")
    imported_with(client, LEADS, "update", source="Expo")
    (ann,) = reread(db, ann)
    assert (ann.name, ann.source) == ("Ann Smith", "Website")


def test_the_report_always_says_how_many_were_skipped_and_refused(client, admin, db):
    """PRODUCT.md's three lines stay, at zero too; the others only when they apply."""
    import_id = imported_with(client, b"Name,Email\nZoe,zoe@example.com\n", "skip")
    page = report(client, import_id)
    assert "1 imported" in page and "0 duplicates skipped" in page and "0 refused" in page
    assert "filled in" not in page and "warning" not in page


def test_imported_and_updated_records_carry_their_matching_keys(client, admin, db):
    # The import writes rows without the models (COPY, bulk UPDATEs): the duplicate hint and
    # the merge list read these keys (quickcrm/domain/keys.py).
    ann = factories.lead(db, admin, "Ann Old", email="ann@acme.example")
    import_id = imported_with(client, LEADS, "update")
    (ann,) = reread(db, ann)
    assert (ann.name_key, ann.email_key, ann.phone_tail) == (
        "ann smith", "ann@acme.example", "079460958",
    )  # fmt: skip
    cleo = db.scalars(select(Lead).where(Lead.import_id == import_id, Lead.name == "Cleo Ng")).one()
    assert (cleo.name_key, cleo.email_key, cleo.phone_tail) == (
        "cleo ng", "cleo@initech.example", None,
    )  # fmt: skip
    undo(client, import_id)
    (ann,) = reread(db, ann)
    assert (ann.name_key, ann.email_key, ann.phone_tail) == ("ann old", "ann@acme.example", None)

    imported_with(client, CONTACTS, "update", kind="companies")
    assert all(
        contact.name_key == person_key(contact.name) for contact in db.scalars(select(Contact))
    )
