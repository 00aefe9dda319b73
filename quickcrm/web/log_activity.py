"""Logging an activity (a note, call, email, meeting, repeating task) from a record's page
— a lead, a company, a contact, an opportunity: the view helper their Log forms share. The
rules are quickcrm/domain/activities.py's."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, request
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import activities, offline
from quickcrm.domain import validation as v
from quickcrm.web.formats import today
from quickcrm.web.render import wants_page


def log_activity_on(record, timeline: Callable[..., object], detail_url: str):
    """Log the posted activity (note, call, email, meeting, repeating task) on ``record``.

    ``timeline(status=..., **extra)`` renders the record page's timeline block; refused
    input comes back in it with the messages next to the fields and a 422.
    """
    session = get_session()
    form = activities.ActivityForm.clean(session, request.form, today=today())
    if form.ok:
        # A note queued on the phone offline carries its UUID: a resend is stored once.
        key = offline.client_key(request.form.get(offline.FIELD))
        try:
            activities.log_activity(session, record, current_user, **form.values, client_key=key)
        except v.Refused as exc:
            form.errors["text"] = str(exc)  # the kind or the text
    if not form.ok:
        return timeline(status=422, activity_errors=form.errors, activity_raw=request.form)
    if wants_page():
        flash("Logged.")
        return redirect(detail_url, 303)
    return timeline()
