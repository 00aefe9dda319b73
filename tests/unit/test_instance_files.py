"""Files the app leaves on the server are this user's only: the instance folder (0700), the
SQLite database and its -wal and -shm files and the secret key (0600), and the OCR
socket's folder when the instance path is too long for a socket (docs/security.md, "Files on
the server")."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text

from quickcrm import create_app
from quickcrm.db import make_engine
from quickcrm.services import ocr
from tests.conftest import config_for

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def usual_umask():
    """The umask most servers run with (0644 files, 0755 folders unless asked otherwise)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def app_in(instance: Path):
    """An app on the default SQLite file and secret key of the instance folder ``instance``."""
    return create_app({**config_for(""), "DATABASE_URL": None, "SECRET_KEY": None}, str(instance))


def test_a_new_instance_folder_and_its_files_are_this_users_only(tmp_path, usual_umask):
    instance = tmp_path / "instance"
    app = app_in(instance)
    engine = app.extensions["quickcrm.engine"]
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE note (body TEXT)"))
            conn.execute(text("INSERT INTO note VALUES ('a password hash')"))
            conn.commit()
            database = instance / "quickcrm.sqlite3"
            assert {path.name: mode(path) for path in instance.iterdir()} == {
                "quickcrm.sqlite3": 0o600,
                "quickcrm.sqlite3-wal": 0o600,
                "quickcrm.sqlite3-shm": 0o600,
                "secret_key": 0o600,
            }
            assert database.stat().st_size > 0
        assert mode(instance) == 0o700
    finally:
        engine.dispose()


def test_an_existing_folder_and_database_keep_their_mode_and_a_warning_says_so(
    tmp_path, usual_umask, caplog
):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    engine = make_engine(f"sqlite:///{instance / 'quickcrm.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kept (body TEXT)"))
    engine.dispose()
    (instance / "quickcrm.sqlite3").chmod(0o644)  # as an earlier release made it
    with caplog.at_level(logging.WARNING):
        app = app_in(instance)
    engine = app.extensions["quickcrm.engine"]
    with engine.connect() as conn:  # the same database, not a new one
        assert conn.execute(text("SELECT count(*) FROM kept")).scalar() == 0
    engine.dispose()
    assert mode(instance) == 0o755
    assert mode(instance / "quickcrm.sqlite3") == 0o644
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"{instance} may be read by other users of this machine: chmod 700 it" in warned[0]
    assert f"{instance / 'quickcrm.sqlite3'} may be read" in warned[1]
    assert "chmod 600" in warned[1]


def test_a_private_instance_folder_gives_no_warning(tmp_path, usual_umask, caplog):
    with caplog.at_level(logging.WARNING):
        app_in(tmp_path / "instance").extensions["quickcrm.engine"].dispose()
    assert not [r for r in caplog.records if "may be read" in r.getMessage()]


def test_a_database_elsewhere_is_created_private_too(tmp_path, usual_umask):
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    assert mode(tmp_path / "crm.sqlite3") == 0o600
    make_engine("sqlite://").dispose()  # in memory: no file to make
    make_engine(f"sqlite:///{tmp_path / 'missing' / 'crm.sqlite3'}").dispose()
    assert not (tmp_path / "missing").exists()


# --- the OCR socket when the instance path is too long for one ------------------------------


@pytest.fixture
def long_instance(tmp_path, monkeypatch):
    """An instance folder whose socket path would pass the 108 bytes a Unix socket allows,
    and a temporary folder of the test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    instance = tmp_path / ("a-long-folder-name-" * 6) / "instance"
    instance.mkdir(parents=True, mode=0o700)
    return instance


def test_a_long_instance_path_puts_the_socket_in_a_private_folder(long_instance, tmp_path):
    path = Path(ocr.socket_path(str(long_instance)))
    folder = path.parent
    assert path.name == "ocr.sock" and len(str(path).encode()) < 100
    assert folder.parent == tmp_path / "tmp"
    assert mode(folder) == 0o700 and folder.stat().st_uid == os.getuid()
    assert not folder.is_symlink()
    # not a name another user can work out from the instance path: made anew, it differs
    (long_instance / "ocr.dir").unlink()
    assert Path(ocr.socket_path(str(long_instance))).parent != folder


def test_every_worker_finds_the_same_socket(long_instance, tmp_path):
    """Several app processes started at once (gunicorn's workers) agree on one folder."""
    ask = "import sys; from quickcrm.services import ocr; print(ocr.socket_path(sys.argv[1]))"
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    workers = [
        subprocess.Popen(  # noqa: S603 - this interpreter, our module
            [sys.executable, "-c", ask, str(long_instance)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    paths = {worker.communicate(timeout=60)[0].strip() for worker in workers}
    assert len(paths) == 1
    assert [p.name for p in (tmp_path / "tmp").iterdir()] == [Path(paths.pop()).parent.name]
    assert ocr.socket_path(str(long_instance)) == str(
        next((tmp_path / "tmp").iterdir()) / "ocr.sock"
    )


@pytest.mark.parametrize("damage", ["gone", "open to others", "a link", "relative", "empty"])
def test_a_named_folder_that_is_not_private_any_more_is_replaced(long_instance, tmp_path, damage):
    folder = Path(ocr.socket_path(str(long_instance))).parent
    note = long_instance / "ocr.dir"
    if damage == "gone":  # a reboot emptied /tmp
        folder.rmdir()
    elif damage == "open to others":
        folder.chmod(0o755)
    elif damage == "a link":
        folder.rmdir()
        folder.symlink_to(tmp_path)
    elif damage == "relative":
        note.write_text(".")
    else:
        note.write_text("")
    made = Path(ocr.socket_path(str(long_instance))).parent
    assert made != folder and mode(made) == 0o700
    assert note.read_text() == str(made)


def test_a_short_instance_path_keeps_the_socket_in_the_instance_folder(tmp_path):
    assert ocr.socket_path(str(tmp_path)) == str(tmp_path / "ocr.sock")
    assert not (tmp_path / "ocr.dir").exists()
