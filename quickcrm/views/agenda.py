"""The agenda (what to do today), Done and Snooze, and the iCal feed of follow-ups."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property

from flask import Blueprint, Flask, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import agenda, ical, offline, ratelimit, users
from quickcrm.domain import validation as v
from quickcrm.models import Activity, User
from quickcrm.web.formats import friendly_date, today, user_today, user_zone
from quickcrm.web.render import get_or_404, render, wants_page

bp = Blueprint("agenda", __name__)

TEMPLATE = "agenda/index.html"
FEED_WINDOW = timedelta(hours=1)


def _whose() -> User:
    """The signed-in user, or — for a coordinator asking with ?user= — another user."""
    raw = request.values.get("user", "")
    if not raw or raw == str(current_user.id):
        return current_user
    if not current_user.can("coordinator"):
        abort(403)
    user = v.chosen(get_session(), User, raw)
    if user is None:
        abort(404)
    return user


def _after() -> dict[str, tuple]:
    """Where each section starts (?overdue_after=2026-11-20.1234, ?today_after=…,
    ?week_after=…: the position of the last item shown); anything else is its start."""
    found = {}
    for key in agenda.SECTIONS:
        start = agenda.read_position(request.args.get(f"{key}_after"))
        if start is not None:
            found[key] = start
    return found


def _page(
    user: User,
    status: int = 200,
    errors: dict | None = None,
    done_id: int | None = None,
    said: str | None = None,
):
    db = get_session()
    after = _after()
    people = users.active_users(db) if current_user.can("coordinator") else []
    # "N more" asked by htmx: only that section's next items (and its next "N more").
    more = [key for key in agenda.SECTIONS if key in after] if request.method == "GET" else []
    return render(
        TEMPLATE,
        ["more"] if len(more) == 1 else ["agenda"],
        status=status,
        whose=user,
        people=people,
        agenda=agenda.agenda(db, user.id, today(), after=after),
        more_of=more[0] if len(more) == 1 else None,
        errors=errors or {},
        done_id=done_id,
        said=said,
        today=today(),
        oob=not wants_page(),
    )


@bp.get("/agenda")
def index():
    return _page(_whose())


def _activity(activity_id: int) -> Activity:
    activity = get_or_404(Activity, activity_id)
    if activity.assignee_id != current_user.id and not current_user.can("coordinator"):
        abort(403)
    return activity


def _back(activity: Activity, said: str):
    user = get_session().get(User, activity.assignee_id) if activity.assignee_id else current_user
    if wants_page():
        flash(said)
        args = {} if user.id == current_user.id else {"user": user.id}
        return redirect(url_for("agenda.index", **args), 303)
    return _page(user, said=said)


def _refused(activity: Activity, refusal: v.Refused):
    """The agenda again, the messages at ``activity``'s Done or Snooze (422); nothing kept."""
    db = get_session()
    db.rollback()
    user = db.get(User, activity.assignee_id) or current_user
    return _page(user, 422, refusal.errors, done_id=activity.id)


def _key():
    """The UUID a phone gave a queued Done or Snooze (static/js/queue.js): applied once."""
    return offline.client_key(request.form.get(offline.FIELD))


@bp.post("/agenda/<int:activity_id>/done")
def done(activity_id: int):
    activity = _activity(activity_id)
    try:
        created = agenda.complete(
            get_session(),
            activity,
            current_user,
            today=today(),
            outcome=request.form.get("outcome", ""),
            next_on=request.form.get("next_action_on", ""),
            client_key=_key(),
        )
    except v.Refused as exc:
        return _refused(activity, exc)
    who = agenda.item(activity).who
    due = [a.due_on for a in created if a.due_on is not None]
    follow = f" Next: {friendly_date(min(due))}." if due else ""
    return _back(activity, f"Done — {who}.{follow}")


@bp.post("/agenda/<int:activity_id>/snooze")
def snooze(activity_id: int):
    activity = _activity(activity_id)
    try:
        agenda.snooze(
            get_session(),
            activity,
            request.form.get("by", ""),
            today(),
            user=current_user,
            client_key=_key(),
        )
    except v.Refused as exc:
        return _refused(activity, exc)
    who = agenda.item(activity).who
    return _back(activity, f"Snoozed — {who}, now due {friendly_date(activity.due_on)}.")


@bp.get("/agenda/calendar")
def calendar():
    return render("agenda/calendar.html", ["content"], user=current_user)


@bp.post("/agenda/calendar")
def regenerate_calendar():
    """The new address is in this answer alone (no-store): only its hash is kept, and
    nothing carries the secret to another request."""
    had_feed = current_user.ical_token is not None
    secret = agenda.regenerate_feed_token(get_session(), current_user)
    get_session().commit()
    feed_url = url_for("agenda.feed", token=secret, _external=True)
    body, status = render(
        "agenda/calendar.html", ["content"], user=current_user, feed_url=feed_url, had_feed=had_feed
    )
    return body, status, {"Cache-Control": "no-store"}


@bp.get("/ical/<token>.ics")
def feed(token: str):
    db = get_session()
    user = agenda.user_for_feed(db, token)
    if user is None:
        abort(404)
    allowed, retry_after = ratelimit.hit(
        db,
        agenda.feed_limit_key(user),
        limit=current_app.config["ICAL_RATE_LIMIT"],
        window=FEED_WINDOW,
    )
    if not allowed:
        return (
            "Too many requests for this calendar; try again later.",
            429,
            {"Retry-After": str(retry_after), "Content-Type": "text/plain; charset=utf-8"},
        )
    host = request.host.split(":")[0]
    return (
        ical.follow_ups(db, user, today=user_today(user), host=host, zone=user_zone(user).key),
        200,
        {
            "Content-Type": "text/calendar; charset=utf-8",
            "Cache-Control": "private, max-age=300",
        },
    )


class DueCount:
    """The Agenda badge's count, counted when a template first shows it: the fragments most
    requests answer (a capture's among them) have no navigation, so no badge to count."""

    def __init__(self, user_id: int):
        self.user_id = user_id

    @cached_property
    def value(self) -> int:
        return agenda.due_count(get_session(), self.user_id, today())

    def __bool__(self) -> bool:
        return bool(self.value)

    def __str__(self) -> str:
        return str(self.value)


def due_badge() -> dict:
    """Template context: how many of the signed-in user's items are due today or overdue."""
    if not current_user.is_authenticated or "agenda.index" not in current_app.view_functions:
        return {"agenda_due": 0}
    return {"agenda_due": DueCount(current_user.id)}


def overdue(when) -> bool:
    """Template filter: a next-action date before today."""
    return when is not None and when < today()


def init_app(app: Flask) -> None:
    app.context_processor(due_badge)
    app.jinja_env.filters["overdue"] = overdue
