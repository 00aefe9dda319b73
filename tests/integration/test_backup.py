"""Backup and restore from the command line, and Admin → *Download backup*."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from quickcrm import create_app
from quickcrm.models import Activity, Lead, User
from tests.conftest import PASSWORD, Auth, config_for
from tests.unit.test_backup import everything

# A backup and a restore read and write on connections of their own.
pytestmark = pytest.mark.commits


def counts(session) -> tuple[int, int, int]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) for model in (User, Lead, Activity)
    )


def test_backup_then_restore_into_a_new_database(runner, db, restore_target, tmp_path):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    path = tmp_path / "quickcrm.backup"
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert f"Backup written to {path}" in result.output

    target = create_app(config_for(restore_target), instance_path=str(tmp_path / "target"))
    try:
        result = target.test_cli_runner().invoke(args=["restore", str(path)])
        assert result.exit_code == 0, result.output
        assert "3 user" in result.output and "30 lead" in result.output
        with target.extensions["quickcrm.sessionmaker"]() as restored:
            assert counts(restored) == counts(db)
        # Every row of every table, users and activities included, is as it was.
        assert everything(target.extensions["quickcrm.engine"]) == everything(db.get_bind())

        # A second restore finds the database full and says so, without a traceback.
        again = target.test_cli_runner().invoke(args=["restore", str(path)])
        assert again.exit_code == 1
        assert "This database is not empty" in again.output
        assert "Traceback" not in again.output
    finally:
        target.extensions["quickcrm.engine"].dispose()


def test_restore_of_a_file_that_is_no_backup_is_a_message(runner, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("name,email\nMaria,maria@example.com\n")
    result = runner.invoke(args=["restore", str(path)])
    assert result.exit_code == 1
    assert "is not a QuickCRM backup" in result.output
    assert isinstance(result.exception, SystemExit)


def test_restore_refuses_this_non_empty_database(runner, db, tmp_path):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    path = tmp_path / "backup.json"
    assert runner.invoke(args=["backup", "--json", str(path)]).exit_code == 0
    before = counts(db)
    result = runner.invoke(args=["restore", str(path)])
    assert result.exit_code == 1
    assert "not empty" in result.output
    db.expire_all()
    assert counts(db) == before


def test_backup_into_a_missing_folder_is_a_message(runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "nowhere" / "backup.json")])
    assert result.exit_code == 1
    assert "There is no folder" in result.output


def test_an_admin_downloads_the_json_backup_and_it_restores(
    app, client, admin, db, restore_target, tmp_path
):
    page = client.get("/admin").get_data(as_text=True)
    assert ">Download backup</a>" in page
    # With a lead's optional fields (issue 29): the backup carries every column.
    db.add(Lead(owner=admin, name="Kept in the backup", contact_name="Maria", address="Leeds",
                potential_value=Decimal("12500.50")))  # fmt: skip
    db.commit()

    response = client.get("/admin/backup.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    today = date.today().isoformat()
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="quickcrm-backup-{today}.json"'
    )
    data = json.loads(response.get_data())
    assert data["format"] == "quickcrm-backup"
    tables = {table["name"]: table for table in data["tables"]}
    assert [row[tables["lead"]["columns"].index("name")] for row in tables["lead"]["rows"]] == [
        "Kept in the backup"
    ]

    path = tmp_path / "downloaded.json"
    path.write_bytes(response.get_data())
    target = create_app(config_for(restore_target), instance_path=str(tmp_path / "target"))
    try:
        assert target.test_cli_runner().invoke(args=["restore", str(path)]).exit_code == 0
        # The admin signs in to the restored database with their password.
        restored = target.test_client()
        Auth(restored).login(admin.email, PASSWORD)
        assert "Kept in the backup" in restored.get("/leads/").get_data(as_text=True)
        with target.extensions["quickcrm.sessionmaker"]() as session:
            lead = session.scalars(select(Lead)).one()
            assert (lead.contact_name, lead.address, lead.potential_value) == (
                "Maria", "Leeds", Decimal("12500.50"),
            )  # fmt: skip
    finally:
        target.extensions["quickcrm.engine"].dispose()
