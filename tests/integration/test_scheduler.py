"""Scheduled work across app servers (issue 26, point 3): two app instances on one database
run each due job once; a server killed mid-run is taken over once its lease has ended; the
nightly backup keeps N whole files; ``flask run-scheduled``; Admin → System; the thread
starts in an app server only."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import update

from quickcrm import create_app, migrate
from quickcrm.domain import backup, backup_folder
from quickcrm.domain import scheduler as schedule
from quickcrm.models import ScheduledJob, utcnow
from quickcrm.services import scheduler
from tests.conftest import config_for

ROOT = Path(__file__).resolve().parents[2]
HOUR = timedelta(hours=1)
T0 = datetime(2026, 12, 6, 9, 20, tzinfo=UTC)
ZONE = ZoneInfo("Europe/London")

# The revision the test database is at: the newest migration.
HEAD = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


@pytest.fixture
def second_app(database_url, tmp_path):
    """Another app server on the same database, with an instance folder of its own."""
    other = create_app(config_for(database_url), instance_path=str(tmp_path / "second"))
    yield other
    other.extensions["quickcrm.engine"].dispose()


def child(script: str, *args: str) -> subprocess.Popen:
    """A real process of its own (an app server about to be killed)."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    """Until the child says it got there (it writes ``path``), or it died."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, f"the child process ended ({process.returncode})"
        assert time.monotonic() < deadline, "the child process never got there"
        time.sleep(0.05)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.commits
def test_two_app_servers_checking_at_the_same_moment_run_the_purge_once(app, second_app):
    scheduler.run_due(app, now=T0, only=scheduler.PURGE)  # its row: next due at 10:00
    start = threading.Barrier(4)
    outcomes: list[schedule.Outcome] = []

    def server(instance):
        start.wait()
        outcomes.extend(scheduler.run_due(instance, now=T0 + HOUR, only=scheduler.PURGE))

    threads = [threading.Thread(target=server, args=(a,)) for a in (app, second_app) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome.ran for outcome in outcomes) == [False, False, False, True]
    with app.extensions["quickcrm.sessionmaker"]() as session:
        row = session.get(ScheduledJob, scheduler.PURGE)
        assert (row.result, row.holder) == ("ok", None)
        assert row.next_run_at == datetime(2026, 12, 6, 11, tzinfo=UTC)
    # The next hour, once again.
    again = scheduler.run_due(
        second_app, now=T0 + 2 * HOUR, only=scheduler.PURGE
    ) + scheduler.run_due(app, now=T0 + 2 * HOUR, only=scheduler.PURGE)
    assert [outcome.ran for outcome in again] == [True, False]


SLOW_JOB = """
import sys, time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo
from quickcrm import create_app, migrate
from quickcrm.config import TestConfig
from quickcrm.domain import scheduler as schedule

url, instance, marker = sys.argv[1:4]
config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
app = create_app({**config, "DATABASE_URL": url}, instance_path=instance)

def slow(run):
    Path(marker).write_text("running")
    time.sleep(600)
    return "never"

job = schedule.Job("slow", "Slow", schedule.Every(timedelta(hours=1)), slow, timedelta(hours=1))
with app.extensions["quickcrm.sessionmaker"]() as session:
    engine = app.extensions["quickcrm.engine"]
    schedule.run_job(session, engine, job, ZoneInfo("UTC"), force=True)
"""


@pytest.mark.commits
def test_a_server_killed_mid_run_is_taken_over_only_once_its_lease_has_ended(
    app, database_url, tmp_path
):
    runs: list[schedule.Run] = []

    def quick(run: schedule.Run) -> str:
        runs.append(run)
        return "Taken over"

    job = schedule.Job("slow", "Slow", schedule.Every(HOUR), quick, HOUR)
    sessions, engine = app.extensions["quickcrm.sessionmaker"], app.extensions["quickcrm.engine"]
    with sessions() as session:
        schedule.ensure(session, [job], utcnow(), ZONE)
    marker = tmp_path / "running"
    holder = child(SLOW_JOB, database_url, str(tmp_path / "killed"), str(marker))
    try:
        wait_for(marker, holder)
    finally:
        kill(holder)
    with sessions() as session:
        row = session.get(ScheduledJob, "slow")
        assert f":{holder.pid}:" in row.holder and row.finished_at is None
        lease_until = row.lease_until
        # Another server checks: the lease still runs, so it leaves the job alone.
        assert not schedule.run_job(session, engine, job, ZONE, force=True).ran
        just_before = lease_until - timedelta(seconds=1)
        assert not schedule.run_job(session, engine, job, ZONE, now=just_before).ran
        assert runs == []
        # Once the lease has ended, the next check takes the run over.
        later = lease_until + timedelta(seconds=1)
        taken = schedule.run_job(session, engine, job, ZONE, now=later, force=True)
        assert (taken.ran, taken.result, taken.message) == (True, "ok", "Taken over")
        session.expire_all()
        row = session.get(ScheduledJob, "slow")
        assert (row.holder, row.result, row.started_at) == (None, "ok", later)


def test_a_job_that_fails_is_recorded_and_the_next_check_tries_it_again(app, db):
    app.config["BACKUP_DIR"] = "/proc/no-backups-here"  # a folder that cannot be made
    scheduler.run_due(app, now=T0)
    [failed] = scheduler.run_due(app, now=T0 + timedelta(days=1), only=scheduler.BACKUP)
    assert (failed.ran, failed.result) == (True, "failed")
    assert "/proc/no-backups-here" in failed.message
    row = db.get(ScheduledJob, scheduler.BACKUP, populate_existing=True)
    assert (row.result, row.holder) == ("failed", None)
    # 02:00 on the team's clock (the server's zone here), the next night.
    assert row.next_run_at > T0 + timedelta(days=1)


def backup_files(folder: Path) -> list[str]:
    return [found.path.name for found in backup_folder.backups_in(folder)]


@pytest.mark.commits
def test_the_nightly_backup_writes_whole_private_files_and_keeps_the_newest(app, tmp_path):
    engine = app.extensions["quickcrm.engine"]
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("the admin's own file")
    (folder / "quickcrm-backup-before-upgrade.sqlite3").write_text("made by hand")
    extension = "sqlite3" if engine.dialect.name == "sqlite" else "json"
    for night in range(1, 4):
        written, removed = backup_folder.write_nightly(
            engine, folder, 2, datetime(2026, 12, night, 2, tzinfo=UTC)
        )
        assert written.path.name == f"quickcrm-backup-202612{night:02d}T020000Z.{extension}"
        assert stat.S_IMODE(written.path.stat().st_mode) == 0o600
        assert written.size == written.path.stat().st_size > 0
    assert removed == 1
    assert backup_files(folder) == [
        f"quickcrm-backup-20261203T020000Z.{extension}",
        f"quickcrm-backup-20261202T020000Z.{extension}",
    ]
    assert (folder / "notes.txt").exists()
    assert (folder / "quickcrm-backup-before-upgrade.sqlite3").exists()
    with backup.open_backup(written.path) as source:  # a backup a restore reads
        assert source.revision == HEAD


HALF_BACKUP = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from quickcrm.db import make_engine
from quickcrm.domain import backup, backup_folder

url, folder, marker = sys.argv[1:4]
real_prune, real_json = backup._prune_copy, backup.json_backup

def stop():
    Path(marker).write_text("half written")
    time.sleep(600)

def slow_prune(path):  # SQLite: the copy is written, not yet pruned nor renamed
    real_prune(path)
    stop()

def slow_json(engine):  # PostgreSQL: the first tables are written
    chunks = real_json(engine)
    for _ in range(3):
        yield next(chunks)
    stop()

backup._prune_copy, backup.json_backup = slow_prune, slow_json
backup_folder.write_nightly(make_engine(url), folder, 3, datetime(2026, 12, 2, 2, tzinfo=UTC))
"""


@pytest.mark.commits
def test_a_backup_killed_half_way_leaves_no_file_that_counts(app, database_url, tmp_path):
    engine = app.extensions["quickcrm.engine"]
    folder = tmp_path / "backups"
    first, _ = backup_folder.write_nightly(engine, folder, 3, datetime(2026, 12, 1, 2, tzinfo=UTC))
    marker = tmp_path / "half"
    writer = child(HALF_BACKUP, database_url, str(folder), str(marker))
    try:
        wait_for(marker, writer)
    finally:
        kill(writer)
    half = [path.name for path in folder.iterdir() if path.name.endswith(".partial")]
    assert len(half) == 1  # what the killed run was writing
    assert backup_files(folder) == [first.path.name]
    assert backup_folder.latest(folder) == first
    # The next night's run clears it away and writes a whole one.
    third, _ = backup_folder.write_nightly(engine, folder, 3, datetime(2026, 12, 3, 2, tzinfo=UTC))
    assert backup_files(folder) == [third.path.name, first.path.name]
    assert not [path for path in folder.iterdir() if path.name.endswith(".partial")]


@pytest.mark.commits
def test_the_backup_job_runs_at_its_hour_and_says_what_it_wrote(app, tmp_path):
    app.config.update(BACKUP_DIR=str(tmp_path / "nightly"), BACKUP_KEEP=3, BACKUP_AT="02:30")
    scheduler.run_due(app, now=T0)
    with app.extensions["quickcrm.sessionmaker"]() as session:
        due = session.get(ScheduledJob, scheduler.BACKUP).next_run_at
        zone = scheduler.team_zone(app, session)
    assert due.astimezone(zone).strftime("%H:%M") == "02:30" and due > T0
    early = due - timedelta(minutes=1)
    assert not scheduler.run_due(app, now=early, only=scheduler.BACKUP)[0].ran
    [ran] = scheduler.run_due(app, now=due + timedelta(seconds=30), only=scheduler.BACKUP)
    assert (ran.ran, ran.result) == (True, "ok")
    [written] = backup_folder.backups_in(tmp_path / "nightly")
    assert ran.message == (f"Wrote {written.path.name} ({backup_folder.size_text(written.size)})")


@pytest.mark.parametrize("setting", [{"BACKUP_AT": "2am"}, {"BACKUP_KEEP": 0}])
def test_a_wrong_backup_setting_stops_the_server_at_its_start(database_url, tmp_path, setting):
    config = {**config_for(database_url), "BACKUP_DIR": str(tmp_path), **setting}
    with pytest.raises(ValueError, match="QUICKCRM_BACKUP_"):
        create_app(config, instance_path=str(tmp_path / "instance"))


def test_flask_run_scheduled_runs_what_is_due_and_says_so(app, db, runner):
    first = runner.invoke(args=["run-scheduled"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("purge: not due; next run ")
    db.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == scheduler.PURGE)
        .values(next_run_at=utcnow() - timedelta(minutes=1))
    )
    db.commit()
    due = runner.invoke(args=["run-scheduled"])
    assert due.exit_code == 0, due.output
    assert due.output.startswith("purge: ok — Nothing to purge; next run ")
    now = runner.invoke(args=["run-scheduled", "--job", "purge", "--now"])
    assert "purge: ok — " in now.output
    unknown = runner.invoke(args=["run-scheduled", "--job", "nightly"])
    assert unknown.exit_code != 0 and "No job nightly: the jobs are purge, " in unknown.output


def test_the_system_page_shows_the_jobs_the_database_and_the_version(app, client, db, admin):
    scheduler.run_due(app, now=T0)
    page = client.get("/admin/system")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Purge" in text and "every hour" in text and "Not yet" in text
    assert ("PostgreSQL, " if db.get_bind().dialect.name == "postgresql" else "SQLite, ") in text
    assert " kB" in text or " MB" in text
    assert "QuickCRM 0.1.0" in text and HEAD in text
    assert "No backup folder set" in text and "QUICKCRM_BACKUP_DIR" in text
    assert "Run purge now" in text
    assert 'href="/admin/system"' in client.get("/admin").get_data(as_text=True)


@pytest.mark.commits
def test_the_system_page_shows_the_last_backup(app, client, admin, tmp_path):
    app.config["BACKUP_DIR"] = str(tmp_path)
    written, _ = backup_folder.write_nightly(
        app.extensions["quickcrm.engine"], tmp_path, 7, utcnow()
    )
    text = client.get("/admin/system").get_data(as_text=True)
    assert written.path.name in text and backup_folder.size_text(written.size) in text
    assert "Nightly backup" in text and "daily at 02:00" in text


@pytest.mark.parametrize("role", ["rep", "coordinator"])
def test_only_admins_see_the_system_page(client, sign_in_as, role):
    sign_in_as(role)
    assert client.get("/admin/system").status_code == 403


@pytest.mark.commits
def test_run_now_runs_a_job_once_and_never_beside_a_running_one(app, client, db, admin):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/admin/system")
    answer = client.post("/admin/system/jobs/purge/run", data={"csrf_token": token})
    assert answer.status_code == 303
    assert "Purge done: Nothing to purge." in client.get("/admin/system").get_data(as_text=True)
    # Another server runs it now: the button is off, and a POST does not start a second run.
    db.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == scheduler.PURGE)
        .values(holder="other:1:x", lease_until=utcnow() + HOUR, started_at=utcnow())
    )
    db.commit()
    page = client.get("/admin/system").get_data(as_text=True)
    assert "Running now" in page
    client.post("/admin/system/jobs/purge/run", data={"csrf_token": token})
    assert "Purge is already running" in client.get("/admin/system").get_data(as_text=True)
    db.expire_all()
    assert db.get(ScheduledJob, scheduler.PURGE).holder == "other:1:x"
    # That server was killed and its lease has ended: the page says so; Run now takes over.
    db.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == scheduler.PURGE)
        .values(lease_until=utcnow() - timedelta(minutes=1))
    )
    db.commit()
    assert "Stopped mid-run" in client.get("/admin/system").get_data(as_text=True)
    client.post("/admin/system/jobs/purge/run", data={"csrf_token": token})
    assert "Purge done" in client.get("/admin/system").get_data(as_text=True)
    unknown = client.post("/admin/system/jobs/nightly/run", data={"csrf_token": token})
    assert unknown.status_code == 404
    no_csrf = client.post("/admin/system/jobs/purge/run")
    assert no_csrf.status_code == 400


def test_no_scheduler_thread_in_the_tests_configuration(app, client):
    assert client.get("/login").status_code in (200, 302)
    assert not app.extensions["quickcrm.scheduler"].running


@pytest.mark.fresh_app
def test_an_app_server_starts_its_thread_at_its_first_request_and_a_command_never(
    app, database_url, tmp_path
):
    config = {**config_for(database_url), "SCHEDULER": True}
    command = create_app(config, instance_path=str(tmp_path / "cli"))
    result = command.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert not command.extensions["quickcrm.scheduler"].running
    command.extensions["quickcrm.engine"].dispose()

    server = create_app(config, instance_path=str(tmp_path / "server"))
    checker = server.extensions["quickcrm.scheduler"]
    assert not checker.running  # built, not yet serving
    try:
        assert server.test_client().get("/login").status_code in (200, 302)
        assert checker.running
        server.test_client().get("/login")
        assert [t.name for t in threading.enumerate()].count("quickcrm-scheduler") == 1
    finally:
        checker.stop()
        server.extensions["quickcrm.engine"].dispose()
    assert not checker.running
