"""The weekly meeting (coordinators): what changed since the last meeting, any two
snapshots compared, and *Start this week's meeting* (docs/pipeline.md, "The weekly
meeting")."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import meeting
from quickcrm.domain import validation as v
from quickcrm.models import MeetingSnapshot
from quickcrm.web.formats import team, team_today
from quickcrm.web.guards import role_required
from quickcrm.web.render import render

bp = Blueprint("meeting", __name__, url_prefix="/meeting")


@bp.before_request
@role_required("coordinator")
def only_coordinators():
    return None


def _chosen(snapshots: list[MeetingSnapshot], name: str) -> MeetingSnapshot | None:
    """The snapshot the query parameter ``name`` names, if it is one of ``snapshots``."""
    ident = v.record_id(request.args.get(name))
    return next((s for s in snapshots if s.id == ident), None)


@bp.get("")
def index():
    db = get_session()
    snapshots = meeting.snapshots(db)
    older = _chosen(snapshots, "from") or (snapshots[0] if snapshots else None)
    newer = _chosen(snapshots, "to")
    if older is not None and newer is not None and newer.taken_at < older.taken_at:
        older, newer = newer, older
    # The team's meeting: its days and months in the team's zone, whoever looks.
    comparison = meeting.compare(db, older, newer, team_today(), team().zone) if older else None
    return render(
        "meeting/index.html",
        ["content"],
        snapshots=snapshots,
        older=older,
        newer=newer,
        comparison=comparison,
    )


@bp.post("/snapshots")
def start():
    """Start this week's meeting: snapshot now, and show the week since the last one."""
    db = get_session()
    previous = next(iter(meeting.snapshots(db, limit=1)), None)
    snapshot = meeting.take_snapshot(db, current_user)
    db.commit()
    flash("This week's meeting has started: the next meeting compares with today.")
    if previous is None:
        return redirect(url_for("meeting.index"), 303)
    return redirect(url_for("meeting.index", **{"from": previous.id, "to": snapshot.id}), 303)
