"""Account → Reminders (the user's morning list and digest settings) and the one-click
*Stop these emails* link of each reminder email (README "Reminders", docs/security.md)."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import reminder_settings as settings
from quickcrm.extensions import csrf
from quickcrm.services import mail, reminder_emails
from quickcrm.web.formats import team
from quickcrm.web.render import render

bp = Blueprint("reminders", __name__)

STOPPED = {
    "email": "Your morning list emails are stopped.",
    "digest": "Your Monday digest emails are stopped.",
}
NOT_OURS = (
    "This stop link is not one QuickCRM made, or it was cut short: open the link from the "
    "email again, or turn the emails off in Account → Reminders."
)


def init_app(app: Flask) -> None:
    # The one-click stop (RFC 8058) is POSTed by the mail provider's *Unsubscribe* button,
    # from its servers, with no session and no CSRF token: the signed token in the URL is
    # the credential, and all it can do is turn off that user's reminder emails of one kind
    # (docs/security.md, "Reminder emails' stop link").
    csrf.exempt(stop)


@bp.route("/account/reminders", methods=["GET", "POST"], endpoint="settings")
def settings_page():
    """The signed-in user's own reminders: the morning list by email (on, when, which
    days) and, for a coordinator or admin, Monday's digest."""
    db = get_session()
    user = current_user._get_current_object()
    if request.method == "POST":
        form = settings.ReminderForm.clean(db, request.form)
        if form.ok:
            settings.save(db, user, form)
            db.commit()
            flash("Saved: your reminders are set.")
            return redirect(url_for("reminders.settings"), 303)
    else:
        form = settings.ReminderForm.of(user)
    config = current_app.config
    return render(
        "reminders/settings.html",
        ["content"],
        status=422 if form.errors else 200,
        form=form,
        week=settings.week_days(team().week_start),
        day_names=team().babel_locale.days["format"]["wide"],
        zone_name=str(team().zone_of(user)).replace("_", " "),
        mail_ready=mail.mail_configured(config) and reminder_emails.public_url(config) is not None,
    )


def masked(email: str) -> str:
    """An address as the stop page shows it to whoever holds the link: "r…@example.com"."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}…@{domain}"


@bp.route("/reminders/stop/<token>", methods=["GET", "POST"])
def stop(token: str):
    """GET: a page with a *Stop these emails* button — it changes nothing, as mail
    scanners open every link of a message. POST (the button, or the mail provider's
    one-click): those emails stop for that user. No sign-in: the token is the
    credential."""
    db = get_session()
    found = settings.read_stop_token(db, current_app.config["SECRET_KEY"], token)
    if found is None:
        abort(404, NOT_OURS)
    done = False
    if request.method == "POST":
        settings.stop(db, found)
        db.commit()
        done = True
    body, status = render(
        "reminders/stop.html",
        ["content"],
        found=found,
        done=done,
        stopped=STOPPED[found.kind],
        token=token,
        masked=masked(found.user.email),
    )
    # The token is in the URL: no referrer, no cache keeps it.
    return body, status, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
