"""Backups: the demo data backed up and restored into a new database comes back identical;
restore refuses a database that is not empty and a file that is not a backup."""

from __future__ import annotations

import json
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from quickcrm.db import make_engine
from quickcrm.domain import backup, bulk, demo
from quickcrm.domain import validation as v
from quickcrm.domain.leads.search import search_condition
from quickcrm.models import Attachment, Company, Lead, Stage, User
from tests import factories

PASSWORD = "demo-password"


def everything(engine) -> dict[str, list[tuple]]:
    """Every row of every table, by table, in primary-key order."""
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))
            ]
            for table in backup.tables()
        }


@pytest.fixture
def demo_data(app, db):
    demo.seed(db, password=PASSWORD, password_method=app.config["PASSWORD_METHOD"])
    # A merged company refers to one made after it: restore must still load it.
    first, last = db.scalars(select(Company).order_by(Company.id)).all()[::13][:2]
    first.merged_into_id = last.id
    db.commit()
    return app.extensions["quickcrm.engine"]


@pytest.fixture
def target(restore_target):
    engine = make_engine(restore_target)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "native"])
def test_the_demo_data_restored_into_a_new_database_is_identical(
    demo_data, target, tmp_path, as_json
):
    path = tmp_path / "backup"
    kind = backup.write_backup(demo_data, path, as_json=as_json)
    assert kind == ("json" if as_json or demo_data.dialect.name != "sqlite" else "sqlite")

    counts = backup.restore(target, path)

    before, after = everything(demo_data), everything(target)
    assert counts["user"] == 3 and counts["lead"] == 30 and counts["activity"] > 0
    assert after == before
    assert before["opportunity"] and before["company"]


def test_json_keeps_dates_decimals_and_uuids_exactly(demo_data, tmp_path):
    path = tmp_path / "backup.json"
    backup.write_backup(demo_data, path, as_json=True)
    data = json.loads(path.read_text())
    tables = {table["name"]: table for table in data["tables"]}
    lead = dict(zip(tables["lead"]["columns"], tables["lead"]["rows"][0], strict=True))
    assert len(lead["uuid"]) == 36 and lead["captured_at"].endswith("+00:00")
    deal = dict(
        zip(tables["opportunity"]["columns"], tables["opportunity"]["rows"][0], strict=True)
    )
    assert Decimal(deal["value"]) % 500 == 0 and "." in deal["value"]
    with demo_data.connect() as conn:
        assert data["revision"] == conn.scalar(text("SELECT version_num FROM alembic_version"))


def test_new_ids_after_a_restore_follow_the_restored_ones(demo_data, target, tmp_path):
    path = tmp_path / "backup.json"
    backup.write_backup(demo_data, path, as_json=True)
    backup.restore(target, path)
    with target.begin() as conn:
        largest = conn.scalar(select(func.max(Lead.id)))
        stage_id = conn.execute(
            Stage.__table__.insert().values(name="Extra", position=9, probability=5, outcome="open")
        ).inserted_primary_key[0]
        lead_id = conn.execute(
            Lead.__table__.insert().values(name="After", owner_id=1, status="open")
        ).inserted_primary_key[0]
    assert lead_id > largest
    assert stage_id > 6


def test_restore_refuses_a_database_that_is_not_empty(demo_data, db, tmp_path):
    path = tmp_path / "backup.json"
    backup.write_backup(demo_data, path, as_json=True)
    leads_before = db.scalar(select(func.count()).select_from(Lead))
    with pytest.raises(v.Refused, match="not empty"):
        backup.restore(demo_data, path)
    assert db.scalar(select(func.count()).select_from(Lead)) == leads_before


def test_restore_refuses_a_database_whose_stages_were_changed(demo_data, target, tmp_path):
    path = tmp_path / "backup.json"
    backup.write_backup(demo_data, path, as_json=True)
    with target.begin() as conn:
        conn.execute(Stage.__table__.update().where(Stage.name == "New").values(probability=15))
    with pytest.raises(v.Refused, match="holds stage"):
        backup.restore(target, path)


@pytest.mark.parametrize("damage", [["a", ["nested"]], "not a row", {"a": 1}, [1]])
def test_a_row_that_is_not_a_flat_list_of_the_table_s_width_restores_nothing(
    demo_data, target, tmp_path, damage
):
    path = tmp_path / "backup.json"
    backup.write_backup(demo_data, path, as_json=True)
    data = json.loads(path.read_text())
    next(t for t in data["tables"] if t["name"] == "lead")["rows"].insert(3, damage)
    path.write_text(json.dumps(data))

    with pytest.raises(v.Refused, match="row 4 of lead has not"):
        backup.restore(target, path)
    assert everything(target)["user"] == []


def test_a_damaged_row_restores_nothing(demo_data, target, tmp_path):
    path = tmp_path / "backup.json"
    backup.write_backup(demo_data, path, as_json=True)
    data = json.loads(path.read_text())
    tables = {table["name"]: table for table in data["tables"]}
    row = tables["activity"]["rows"][-1]
    row[tables["activity"]["columns"].index("due_on")] = "31/12/2026"
    path.write_text(json.dumps(data))

    with pytest.raises(v.Refused, match="row .* of activity"):
        backup.restore(target, path)
    assert everything(target)["user"] == []


def test_a_json_backup_reformatted_with_its_tables_in_another_order_restores_the_same(
    demo_data, target, tmp_path
):
    """The restore reads the file as a stream, in the order it asks for the tables: any
    valid JSON of the format restores (indented, with a byte order mark, tables reordered)."""
    path = tmp_path / "backup.json"
    backup.write_backup(demo_data, path, as_json=True)
    data = json.loads(path.read_text())
    data["tables"].reverse()
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data, indent=2).encode())

    backup.restore(target, path)

    assert everything(target) == everything(demo_data)


def _tables(*entries: str) -> bytes:
    head = '{"format": "quickcrm-backup", "version": 1, "tables": ['
    return (head + ", ".join(entries) + "]}").encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,email\nMaria,maria@example.com\n", "not a QuickCRM backup"),
        (b'{"format": "quickcrm-backup", "tables": [', "not valid JSON"),
        (b'{"rows": []}', "JSON but not a QuickCRM backup"),
        (b'{"format": "quickcrm-backup", "version": 1, "tables": [{"name": 3}]}', "damaged"),
        (_tables('{"rows": [], "name": "user", "columns": []}'), "damaged"),
        (_tables(*['{"name": "user", "columns": ["id"], "rows": []}'] * 2), "damaged"),
        (_tables('{"name": "user", "columns": [1], "rows": []}'), "damaged"),
        (_tables('{"name": "user", "columns": ["id"], "rows": {}}'), "damaged"),
        (b'{"format": "quickcrm-backup", "version": 1, "tables": {}}', "damaged"),
        (b'{"format": "quickcrm-backup", "version": 1}', "damaged"),
        (b'{"format": "quickcrm-backup", "version": 1, "tables": [{"name": "user"', "valid JSON"),
        (b"SQLite format 3\x00" + b"\x00" * 200, "damaged SQLite file"),
        (b"", "not a QuickCRM backup"),
    ],
)
def test_a_file_that_is_no_backup_is_refused_with_a_message(target, tmp_path, content, message):
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    with pytest.raises(v.Refused, match=message):
        backup.restore(target, path)


def test_a_backup_of_another_revision_is_refused(demo_data, target, tmp_path):
    path = tmp_path / "backup.json"
    backup.write_backup(demo_data, path, as_json=True)
    data = json.loads(path.read_text())
    data["revision"] = "0004_lead_next_action"
    path.write_text(json.dumps(data))
    with pytest.raises(v.Refused, match="db upgrade 0004_lead_next_action"):
        backup.restore(target, path)


def test_a_sqlite_file_of_another_program_is_refused(target, tmp_path):
    path = tmp_path / "other.sqlite3"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    other.commit()
    other.close()
    with pytest.raises(v.Refused, match="not a QuickCRM database"):
        backup.restore(target, path)


def test_writing_into_a_missing_folder_says_so(demo_data, tmp_path):
    with pytest.raises(v.Refused, match="no folder"):
        backup.write_backup(demo_data, tmp_path / "missing" / "backup.json")


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "native"])
def test_a_backup_file_is_for_its_owner_only(demo_data, tmp_path, as_json):
    old = os.umask(0o022)
    try:
        backup.write_backup(demo_data, tmp_path / "backup", as_json=as_json)
    finally:
        os.umask(old)
    assert (tmp_path / "backup").stat().st_mode & 0o777 == 0o600


def test_the_backup_leaves_no_temporary_file_behind(demo_data, tmp_path):
    backup.write_backup(demo_data, tmp_path / "backup.json", as_json=True)
    assert [p.name for p in tmp_path.iterdir()] == ["backup.json"]
    if demo_data.dialect.name == "sqlite":  # the snapshot is made beside the database
        folder = Path(demo_data.url.database).parent
        assert not [p for p in folder.iterdir() if "snapshot" in p.name]


def test_the_json_backup_is_of_the_moment_it_started(demo_data, db):
    """A lead saved while the backup is being sent is not half in it: every table is read
    as it was when the backup began (a snapshot)."""
    chunks = backup.json_backup(demo_data, batch=5)
    started = next(chunks)
    rita = db.scalars(select(User).where(User.role == "rep")).first()
    db.add(Lead(owner=rita, name="Saved during the backup"))
    db.commit()
    body = started + b"".join(chunks)
    data = json.loads(body)
    tables = {table["name"]: table for table in data["tables"]}
    names = [row[tables["lead"]["columns"].index("name")] for row in tables["lead"]["rows"]]
    assert len(names) == 30
    assert "Saved during the backup" not in names


def test_files_are_backed_up_and_restored_a_few_at_a_time(
    demo_data, db, target, tmp_path, monkeypatch
):
    """Card photos and voice notes (up to 10 MB each) are read a few rows at a time and
    sent once a batch holds ``BATCH_BYTES``: memory stays bounded whatever the backup."""
    lead = db.scalars(select(Lead).order_by(Lead.id)).first()
    notes = [bytes([n]) * 3000 for n in range(5)]
    db.add_all(
        Attachment(lead=lead, kind="voice_note", content_type="audio/ogg", size=len(n), data=n)
        for n in notes
    )
    db.commit()
    monkeypatch.setattr(backup, "BATCH_BYTES", 5000)
    batches = []
    insert_rows = bulk.insert_rows

    def counted(connection, table, rows):
        if table.name == "attachment" and rows:
            batches.append(len(rows))
        insert_rows(connection, table, rows)

    monkeypatch.setattr(bulk, "insert_rows", counted)
    path = tmp_path / "backup.json"
    backup.write_backup(demo_data, path, as_json=True)

    assert backup.restore(target, path)["attachment"] == 5
    assert batches == [2, 2, 1]  # notes of 3,000 bytes, sent once past 5,000
    assert everything(target)["attachment"] == everything(demo_data)["attachment"]


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "native"])
def test_restored_leads_are_found_by_search(demo_data, target, tmp_path, as_json):
    """SQLite's search indexes are not in the models (nor the backup): a restore fills
    them once after the leads, as their triggers would have row by row."""
    path = tmp_path / "backup"
    backup.write_backup(demo_data, path, as_json=as_json)
    backup.restore(target, path)
    with Session(demo_data) as before, Session(target) as after:
        lead = before.scalars(select(Lead).order_by(Lead.id.desc())).first()
        word = lead.name.split()[-1]
        for typed in (word, word[:2], lead.name):
            expected = before.scalars(_found(before, typed)).all()
            assert lead.id in expected, typed
            assert after.scalars(_found(after, typed)).all() == expected, typed
        fresh = Lead(name="Quentin Zyx", owner_id=lead.owner_id)
        after.add(fresh)
        after.commit()  # the triggers are back: a new lead is found too
        assert after.scalars(_found(after, "zy")).all() == [fresh.id]


def _found(session, typed: str):
    return select(Lead.id).where(search_condition(session, typed)).order_by(Lead.id)


TYPED = "hunter2-typed-into-the-email-box"


def _runtime_rows(db, app) -> dict[str, int]:
    """Rows the app keeps to run, beside the demo's business data: a throttling counter, an
    API answer kept for retries, an import nobody started (its upload) and one done."""
    from quickcrm.models import ApiRequest, Import, ImportChunk, ImportRefusal, RateLimit, utcnow

    admin = db.scalars(select(User)).first()
    token, _ = factories.api_token(db, admin, "Website")
    db.add(RateLimit(key=f"signin:account:{TYPED}", window_start=utcnow(), hits=3))
    db.add(ApiRequest(token_id=token.id, key="retry-1", status=201, body=f'{{"note": "{TYPED}"}}'))
    imports = {}
    for status in ("mapping", "done"):
        upload = Import(kind="leads", status=status, filename=f"{status}.csv", encoding="utf-8",
                        delimiter=",", headers='["Name"]', created_by_id=admin.id)  # fmt: skip
        db.add(upload)
        db.flush()
        imports[status] = upload.id
    db.add(ImportChunk(import_id=imports["mapping"], number=0, rows=f'[[2, "{TYPED}"]]'))
    db.add(ImportRefusal(import_id=imports["done"], line=3, reason="No name", cells='[""]'))
    db.commit()
    return imports


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "native"])
def test_a_backup_holds_the_business_data_not_counters_api_answers_or_unstarted_uploads(
    demo_data, db, app, target, tmp_path, as_json
):
    imports = _runtime_rows(db, app)
    path = tmp_path / "backup"
    backup.write_backup(demo_data, path, as_json=as_json)
    assert TYPED.encode() not in path.read_bytes()  # not even in a SQLite file's free pages

    counts = backup.restore(target, path)
    assert counts["rate_limit"] == counts["api_request"] == counts["import_chunk"] == 0
    before, after = everything(demo_data), everything(target)
    assert [row[0] for row in after["import"]] == [imports["done"]]
    assert len(after["import_refusal"]) == 1 and after["api_token"] == before["api_token"]
    left_out = {"rate_limit", "api_request", "import", "import_chunk", "import_refusal"}
    assert {name: rows for name, rows in after.items() if name not in left_out} == {
        name: rows for name, rows in before.items() if name not in left_out
    }
