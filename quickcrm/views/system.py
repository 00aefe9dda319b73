"""Admin → System: the scheduled jobs (last run, result, next run, *Run now*), the reminders
that did not go, the size of the database, the last nightly backup and the version running
(admins only)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, url_for

from quickcrm import db as databases
from quickcrm.db import get_session
from quickcrm.domain import backup_folder, reminders, system
from quickcrm.domain import scheduler as schedule
from quickcrm.models import utcnow
from quickcrm.services import scheduler
from quickcrm.web.guards import role_required
from quickcrm.web.render import render

bp = Blueprint("system", __name__, url_prefix="/admin/system")


@bp.before_request
@role_required("admin")
def only_admins():
    return None


@bp.get("")
def index():
    app = current_app._get_current_object()
    db = get_session()
    folder = app.config.get("BACKUP_DIR")
    return render(
        "admin/system.html",
        ["content"],
        jobs=schedule.states(db, scheduler.jobs(app), utcnow()),
        database=db.get_bind().dialect.name,
        database_size=system.database_size(db, databases.sqlite_file(app.config["DATABASE_URL"])),
        folder=folder,
        backup=backup_folder.latest(folder) if folder else None,
        keep=app.config.get("BACKUP_KEEP"),
        version=system.app_version(),
        revision=system.revision(db),
        thread=app.config["SCHEDULER"],
        file_size=backup_folder.size_text,
        not_sent=reminders.failures(db, utcnow() - timedelta(days=1)),
    )


@bp.post("/jobs/<job_name>/run")
def run_now(job_name: str):
    app = current_app._get_current_object()
    job = next((job for job in scheduler.jobs(app) if job.name == job_name), None)
    if job is None:
        abort(404)
    get_session().rollback()  # the job writes beside this request: nothing of it held open
    outcome = scheduler.run_now(app, job.name)
    if outcome is None:
        flash(f"{job.title} is running: its result shows here when it is done.")
    elif not outcome.ran:
        flash(f"{job.title} is already running: its result shows here when it is done.")
    elif outcome.result == "failed":
        flash(f"{job.title} failed: {outcome.message}")
    else:
        flash(f"{job.title} done: {outcome.message}.")
    return redirect(url_for("system.index"), 303)
