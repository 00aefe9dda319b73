"""Signing in and out, the first-run page that creates the first admin, passwords."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from quickcrm import htmx
from quickcrm.db import get_session
from quickcrm.domain import users
from quickcrm.models import User
from quickcrm.web import render

bp = Blueprint("auth", __name__)
login_manager = LoginManager()

# Endpoints anyone may reach: signing in, the first-run page, the service worker (browsers
# re-check it even when signed out) and the iCal feed (the secret token in its URL is the
# credential). Static files never reach Flask: WhiteNoise answers them.
PUBLIC_ENDPOINTS = {
    "auth.login",
    "auth.setup",
    "static",
    "capture.service_worker",
    "agenda.feed",
}


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        user = users.user_for_session(get_session(), session_id)
        if user is None:
            # Ended, deactivated or forged: end this session and its "stay signed in"
            # cookie for good, as logout_user() would (it cannot run while loading).
            session.pop("_user_id", None)
            session["_remember"] = "clear"
        return user

    app.before_request(require_sign_in)


def require_sign_in():
    """Every page needs a signed-in user, except the public ones; with no user at all,
    everything leads to the first-run page."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if not users.has_users(get_session()):
        target = url_for("auth.setup")
    else:
        target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if htmx:
        # Never swap a sign-in page into part of a page: send the whole browser there.
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def _safe_next(target: str | None) -> str:
    """Only follow ``next`` to a path on this site."""
    if not target:
        return url_for("capture.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("capture.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    db = get_session()
    if request.method == "GET" and not users.has_users(db):
        return redirect(url_for("auth.setup"))
    error = None
    status = 200
    email = request.form.get("email", "")
    if request.method == "POST":
        user = users.authenticate(
            db,
            email,
            request.form.get("password", ""),
            password_method=current_app.config["PASSWORD_METHOD"],
        )
        if user is not None:
            remember = request.form.get("remember") == "on"
            _start_session(user, remember=remember)
            return redirect(_safe_next(request.args.get("next")))
        error = "That email and password do not match an active account."
        status = 401
    return render("auth/login.html", ["content"], status=status, error=error, email=email)


def _remember_cookie() -> str:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")


def _start_session(user, *, remember: bool = False) -> None:
    """A new session for ``user`` (nothing kept from before sign-in), which already holds
    its CSRF secret: the pages the browser then loads at once (the start page, the service
    worker caching it) all carry tokens of the same secret, instead of racing to set one."""
    session.clear()
    session.permanent = remember
    login_user(user, remember=remember)
    generate_csrf()


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Signing out here signs out every browser and phone of this user.
        users.end_sessions(get_session(), current_user)
    # Clear first: logout_user() leaves a note in the session to delete the remember cookie.
    session.clear()
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """First run: create the first admin. Gone once any user exists."""
    db = get_session()
    if users.has_users(db):
        return redirect(url_for("auth.login"))
    errors: dict[str, str] = {}
    values = {"name": request.form.get("name", ""), "email": request.form.get("email", "")}
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("password_confirm", ""):
            errors["password_confirm"] = "The two passwords differ."
        else:
            try:
                user = users.create_user(
                    db,
                    values["email"],
                    password,
                    role="admin",
                    name=values["name"],
                    password_method=current_app.config["PASSWORD_METHOD"],
                )
            except users.UserError as exc:
                db.rollback()
                errors[exc.field or "email"] = str(exc)
            else:
                _start_session(user)
                flash(f"Welcome, {user.name}. You are the admin of this QuickCRM.")
                return redirect(url_for("capture.index"))
    status = 422 if errors else 200
    return render("auth/setup.html", ["content"], status=status, errors=errors, values=values)


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    errors: dict[str, str] = {}
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("new_password_confirm", ""):
            errors["new_password_confirm"] = "The two new passwords differ."
        else:
            try:
                users.change_password(
                    get_session(),
                    current_user,
                    request.form.get("current_password", ""),
                    new,
                    password_method=current_app.config["PASSWORD_METHOD"],
                )
            except users.UserError as exc:
                errors["new_password" if exc.field == "password" else exc.field] = str(exc)
            else:
                # Every other session ended with the old password; this one goes on.
                remember = session.permanent or _remember_cookie() in request.cookies
                _start_session(current_user._get_current_object(), remember=remember)
                flash("Your password is changed. Other browsers and phones are signed out.")
                return redirect(url_for("capture.index"))
    status = 422 if errors else 200
    return render("auth/password.html", ["content"], status=status, errors=errors)
