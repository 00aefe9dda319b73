"""Periodic work inside the app servers, so a deployment needs no cron (docs/deployment.md,
"Scheduled work"): each app server process starts a daemon thread on its first request
that checks about every minute whether a job is due, and runs it under the job's lease
in the database (``quickcrm/domain/scheduler.py``), so one server runs each run.

The jobs are listed once, in ``jobs``: the hourly purge, the reminder emails every five
minutes (quickcrm/services/reminder_emails.py), the push reminders every minute
(quickcrm/services/push_reminders.py), and the nightly backup when
``QUICKCRM_BACKUP_DIR`` is set. ``QUICKCRM_SCHEDULER=false`` keeps the thread from starting
(the tests, or a deployment that runs ``flask run-scheduled`` from a timer instead). CLI
commands (``flask db upgrade``…) never start it: they serve no request."""

from __future__ import annotations

import os
import random
import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Flask

from quickcrm.domain import backup_folder, housekeeping
from quickcrm.domain import scheduler as schedule
from quickcrm.domain import team as teams
from quickcrm.services import push_reminders, reminder_emails

# About every minute, each server at its own moments (so they rarely claim at once).
CHECK_EVERY = 60.0
JITTER = 10.0
PURGE = "purge"
BACKUP = "backup"


def init_app(app: Flask) -> None:
    jobs(app)  # a wrong QUICKCRM_BACKUP_AT or _KEEP stops the server at start, not at 2 am
    thread = Checker(app)
    app.extensions["quickcrm.scheduler"] = thread

    @app.before_request
    def start_scheduler():
        if app.config["SCHEDULER"]:
            thread.start_once()


def jobs(app: Flask) -> list[schedule.Job]:
    """Every job the app servers run by themselves. A new job: one more entry here."""
    found = [
        schedule.Job(
            name=PURGE,
            title="Purge",
            when=schedule.Every(housekeeping.EVERY),
            function=housekeeping.purge_job,
            lease=timedelta(minutes=15),
        ),
        reminder_emails.job(app),
        push_reminders.job(app),
    ]
    folder = app.config.get("BACKUP_DIR")
    if folder:
        found.append(
            schedule.Job(
                name=BACKUP,
                title="Nightly backup",
                when=schedule.DailyAt(backup_time(app)),
                function=backup_folder.nightly_job(folder, backup_keep(app)),
                # A backup of a large database with its files may take a while; a killed
                # server's backup is taken over this long after it started.
                lease=timedelta(hours=2),
            )
        )
    return found


def backup_time(app: Flask) -> time:
    raw = str(app.config.get("BACKUP_AT") or "02:00")
    try:
        return time.fromisoformat(raw).replace(second=0, microsecond=0, tzinfo=None)
    except ValueError:
        raise ValueError(
            f"QUICKCRM_BACKUP_AT={raw!r} is not a time of day: give it as HH:MM, e.g. 02:00"
        ) from None


def backup_keep(app: Flask) -> int:
    raw = app.config.get("BACKUP_KEEP", 7)
    try:
        keep = int(raw)
    except (TypeError, ValueError):
        keep = 0
    if keep < 1:
        raise ValueError(f"QUICKCRM_BACKUP_KEEP={raw!r}: give how many backups to keep, 1 or more")
    return keep


def team_zone(app: Flask, session) -> ZoneInfo:
    defaults = teams.Defaults(time_zone=app.config.get("TIME_ZONE") or None)
    return teams.load(session, defaults).zone


def run_due(
    app: Flask, *, now: datetime | None = None, only: str | None = None, force: bool = False
) -> list[schedule.Outcome]:
    """One check in this process: every due job (or ``only`` that one; ``force``: whether
    due or not) runs here unless another server holds it."""
    engine = app.extensions["quickcrm.engine"]
    chosen = [job for job in jobs(app) if only is None or job.name == only]
    with app.extensions["quickcrm.sessionmaker"]() as session:
        zone = team_zone(app, session)
        outcomes = schedule.run_due(session, engine, chosen, zone, now=now, force=force)
    for outcome in outcomes:
        if outcome.result == "failed":
            app.logger.error("Scheduled job %s failed: %s", outcome.job.name, outcome.message)
        elif outcome.ran:
            app.logger.info("Scheduled job %s: %s", outcome.job.name, outcome.message)
    return outcomes


def run_now(app: Flask, name: str, wait: float = 20.0) -> schedule.Outcome | None:
    """*Run now* on the System page: the job ``name`` whether due or not, unless a server
    runs it already (its lease). Waits up to ``wait`` seconds for the result; None when it
    runs on (a large backup), in a thread of this process, recorded when it ends."""
    outcomes: list[schedule.Outcome] = []

    def run() -> None:
        try:
            outcomes.extend(run_due(app, only=name, force=True))
        except Exception:
            app.logger.exception("Running %s now failed", name)

    worker = threading.Thread(target=run, name=f"quickcrm-run-{name}", daemon=True)
    worker.start()
    worker.join(wait)
    return outcomes[0] if outcomes else None


class Checker:
    """The daemon thread of one app server process: a check about every minute. Started by
    the first request (and again in a worker forked after it started: a thread does not
    survive a fork)."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()

    def start_once(self) -> None:
        if self.running:
            return
        with self._lock:
            if self.running:
                return
            self._stop = threading.Event()
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._loop, name="quickcrm-scheduler", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _loop(self) -> None:
        stop = self._stop
        # The first check soon after the start, then about every minute.
        wait = random.uniform(1.0, JITTER)  # noqa: S311 - spreading servers, not a secret
        while not stop.wait(wait):
            try:
                run_due(self._app)
            except Exception:  # the database away for a moment: the next check tries again
                self._app.logger.exception("The scheduler's check failed")
            wait = CHECK_EVERY + random.uniform(-JITTER, JITTER)  # noqa: S311
