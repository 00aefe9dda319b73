"""Notifications on a phone (web push, quickcrm/domain/push.py): the page with *Notify me
on this phone*, the key a phone subscribes with, and the subscribe and unsubscribe calls
its script makes (static/js/push.js)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import push
from quickcrm.domain import validation as v
from quickcrm.web.errors import answers_json
from quickcrm.web.render import render

bp = Blueprint("notifications", __name__)


@bp.get("/account/notifications")
def settings():
    """This phone's notifications: on, off, blocked, or not possible in this browser (the
    script finds out which; Account → Reminders shows the same section)."""
    return render("reminders/notifications.html", ["content"])


@bp.get("/account/notifications/key")
@answers_json
def key():
    """The application server key a phone subscribes with (made on first use)."""
    response = jsonify(key=push.application_server_key(push.vapid_key(get_session())))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/notifications/subscribe")
@answers_json
def subscribe():
    """Keep this phone's subscription (``PushSubscription.toJSON()``) for the signed-in
    user: 201 with the state, 422 with the message when it is not one to keep."""
    data = request.get_json(silent=True)
    services = push.services_from(current_app.config.get("PUSH_SERVICES"))
    try:
        subscription = push.read_subscription(data, services)
    except v.Refused as exc:
        return jsonify(errors=exc.errors, error=str(exc)), 422
    db = get_session()
    push.subscribe(db, current_user, subscription, push.device_name(request.user_agent.string))
    db.commit()
    return jsonify(on=True), 201


@bp.post("/account/notifications/unsubscribe")
@answers_json
def unsubscribe():
    """Forget this phone (its endpoint), if it is the signed-in user's."""
    data = request.get_json(silent=True)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    db = get_session()
    removed = push.unsubscribe(db, current_user, endpoint)
    db.commit()
    return jsonify(on=False, removed=removed)
