"""The nightly backup: a backup written into a folder every night (``QUICKCRM_BACKUP_DIR``,
at ``QUICKCRM_BACKUP_AT``), the newest ``QUICKCRM_BACKUP_KEEP`` kept (docs/deployment.md,
"Scheduled work").

Each is ``quickcrm-backup-<UTC moment>.sqlite3`` on SQLite (a SQLite file) or ``.json`` on
PostgreSQL, as ``flask backup`` writes them (``backup.write_backup``: 0600, written under a
temporary name and renamed into place, so a run killed half-way leaves no file of this
name). Only files of this name are counted and deleted: whatever else the folder holds
stays. The temporary file of a killed run is removed by the next run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from quickcrm.domain.backup import write_backup
from quickcrm.domain.scheduler import Run

PREFIX = "quickcrm-backup-"
NAME = re.compile(r"quickcrm-backup-(\d{8}T\d{6}Z)\.(sqlite3|json)")
PARTIAL = re.compile(r"\.quickcrm-backup-\d{8}T\d{6}Z\.(sqlite3|json)\.partial")


@dataclass(frozen=True)
class BackupFile:
    path: Path
    size: int
    made_at: datetime


def backups_in(folder: str | Path) -> list[BackupFile]:
    """The nightly backups in ``folder``, newest first (none when it does not exist)."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        match = NAME.fullmatch(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        made_at = datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        found.append(BackupFile(Path(entry.path), entry.stat().st_size, made_at))
    return sorted(found, key=lambda backup: backup.made_at, reverse=True)


def latest(folder: str | Path) -> BackupFile | None:
    found = backups_in(folder)
    return found[0] if found else None


def write_nightly(
    engine: Engine, folder: str | Path, keep: int, now: datetime
) -> tuple[BackupFile, int]:
    """Write this night's backup into ``folder`` (made, for this user only, if missing),
    then delete all but the newest ``keep``. Returns the new backup and how many older
    ones went."""
    if keep < 1:
        raise ValueError("QUICKCRM_BACKUP_KEEP must be 1 or more")
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for entry in os.scandir(folder):  # a killed run's temporary file
        if PARTIAL.fullmatch(entry.name):
            Path(entry.path).unlink(missing_ok=True)
    extension = "sqlite3" if engine.dialect.name == "sqlite" else "json"
    path = folder / f"{PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.{extension}"
    write_backup(engine, path)
    removed = 0
    for old in backups_in(folder)[keep:]:
        old.path.unlink(missing_ok=True)
        removed += 1
    written = next(backup for backup in backups_in(folder) if backup.path == path)
    return written, removed


def nightly_job(folder: str | Path, keep: int) -> Callable[[Run], str]:
    """The nightly backup as a scheduled job's function."""

    def backup_job(run: Run) -> str:
        written, removed = write_nightly(run.engine, folder, keep, run.now)
        gone = f", {removed} older removed" if removed else ""
        return f"Wrote {written.path.name} ({size_text(written.size)}){gone}"

    return backup_job


def size_text(size: int) -> str:
    """A file's size as people read it: "812 bytes", "1.4 MB"."""
    if size < 1000:
        return f"{size} bytes"
    for unit in ("kB", "MB", "GB"):
        size /= 1000
        if size < 1000 or unit == "GB":
            return f"{size:.1f} {unit}"
    raise AssertionError  # pragma: no cover
