"""Signing in and out, the first-run page that creates the first admin, passwords."""

from __future__ import annotations

import sys
import time
from typing import TextIO

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
from sqlalchemy.exc import SQLAlchemyError

from quickcrm.db import close_session, get_engine, get_session
from quickcrm.domain import accounts, qr, ratelimit, two_step, users
from quickcrm.domain import team as teams
from quickcrm.domain import validation as v
from quickcrm.extensions import htmx
from quickcrm.models import User, utcnow
from quickcrm.services import mail
from quickcrm.web.formats import team
from quickcrm.web.guards import safe_next
from quickcrm.web.render import render

bp = Blueprint("auth", __name__)
login_manager = LoginManager()

# Endpoints anyone may reach: signing in, the first-run page, the service worker (browsers
# re-check it even when signed out), the load balancer's health check (it says only "ok"),
# the certificate of the server's own authority (public by nature; a phone installs it
# before it trusts the server), the iCal feed and a reminder email's stop link (the secret
# token in its URL is the credential) and the web-to-lead API (its Bearer token is).
# Static files never reach Flask: WhiteNoise answers them.
PUBLIC_ENDPOINTS = {
    "auth.login",
    "auth.login_code",
    "auth.setup",
    "auth.choose_password",
    "auth.forgot_password",
    "static",
    "shell.service_worker",
    "shell.health",
    "phones.certificate",
    "agenda.feed",
    "reminders.stop",
    "api.create_lead",
}


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    # Made now, so even the first sign-in with an unknown email costs one password check.
    users.dummy_hash(app.config["PASSWORD_METHOD"])
    # Rate-limit keys (what was typed into the email box among them) are stored hashed.
    ratelimit.use_secret_key(app.config["SECRET_KEY"])
    app.jinja_env.globals["password_min"] = users.PASSWORD_MIN

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
    app.before_request(require_two_step_for_admins)


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


# What an admin without two-step sign-in may still open when it is required of admins.
TWO_STEP_SETUP_ENDPOINTS = PUBLIC_ENDPOINTS | {"auth.two_step", "auth.logout", "shell.token"}


def require_two_step_for_admins():
    """With REQUIRE_2FA_FOR_ADMINS, a signed-in admin without two-step sign-in is sent to
    turn it on before anything else."""
    if (
        not current_app.config.get("REQUIRE_2FA_FOR_ADMINS")
        or request.endpoint in TWO_STEP_SETUP_ENDPOINTS
        or not current_user.is_authenticated
        or not current_user.can("admin")
        or current_user.totp_secret
    ):
        return None
    target = url_for("auth.two_step")
    if htmx:
        return "", 403, {"HX-Redirect": target}
    flash("Admins here use two-step sign-in: turn it on to go on.")
    return redirect(target)


def _safe_next(target: str | None) -> str:
    """Only follow ``next`` to a path on this site."""
    return safe_next(target, url_for("capture.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    db = get_session()
    if request.method == "GET" and not users.has_users(db):
        return redirect(url_for("auth.setup"))
    email = request.form.get("email", "")
    if request.method == "GET":
        setup_open = not users.has_real_admin(db)
        return render("auth/login.html", ["content"], email=email, setup_open=setup_open)
    config = current_app.config
    try:
        users.count_sign_in_attempt(
            db,
            email,
            request.remote_addr,
            per_account=config["SIGN_IN_ACCOUNT_TOTAL_LIMIT"],
            per_address=config["SIGN_IN_ADDRESS_LIMIT"],
            per_account_and_address=config["SIGN_IN_ACCOUNT_LIMIT"],
        )
    except v.Refused as exc:  # too many attempts (429)
        body, status = render(
            "auth/login.html", ["content"], exc.status, error=str(exc), email=email
        )
        return body, status, {"Retry-After": str(exc.retry_after)}
    user = users.authenticate(
        db, email, request.form.get("password", ""), password_method=config["PASSWORD_METHOD"]
    )
    if user is None:
        error = "That email and password do not match an active account."
        return render("auth/login.html", ["content"], 401, error=error, email=email)
    users.forget_sign_in_attempts(db, email, request.remote_addr)
    remember = request.form.get("remember") == "on"
    if user.totp_secret:
        # Not signed in yet: only a note that the password was right, for a few minutes.
        # No flask-login state either, so no "stay signed in" cookie before the code.
        session.clear()
        session[PENDING] = {
            "user": user.id,
            "version": user.session_version,
            "until": int(time.time()) + PENDING_SECONDS,
            "remember": remember,
        }
        generate_csrf()
        return redirect(url_for("auth.login_code", next=request.args.get("next")))
    _start_session(user, remember=remember)
    return redirect(_safe_next(request.args.get("next")))


# The session key of a sign-in waiting for its two-step code, and how long it waits.
PENDING = "two_step_pending"
PENDING_SECONDS = 300


def _pending_user():
    """The user whose password was right and whose code is awaited, or ``None`` (none,
    expired, or their sessions ended since)."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("until"), int):
        return None
    if pending["until"] < time.time():
        session.pop(PENDING, None)
        return None
    user = users.user_for_session(get_session(), f"{pending.get('user')}:{pending.get('version')}")
    if user is None or not user.totp_secret:
        session.pop(PENDING, None)
        return None
    return user


def _count_code_attempt(db, user: User) -> None:
    """Count one two-step code typed for ``user`` from this address; ``Refused`` (429) past
    the settings' limits."""
    config = current_app.config
    two_step.count_code_attempt(
        db,
        user,
        request.remote_addr,
        per_account=config["TWO_STEP_ACCOUNT_LIMIT"],
        per_address=config["TWO_STEP_ADDRESS_LIMIT"],
    )


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of signing in: the code from the user's app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    user = _pending_user()
    if user is None:
        flash("Sign in again: the code is asked for within five minutes of the password.")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render("auth/code.html", ["content"], error=None)
    db = get_session()
    try:
        _count_code_attempt(db, user)
    except v.Refused as exc:  # 429
        body, status = render("auth/code.html", ["content"], exc.status, error=str(exc))
        return body, status, {"Retry-After": str(exc.retry_after)}
    if not two_step.verify(db, user, request.form.get("code", "")):
        db.rollback()
        return render("auth/code.html", ["content"], 401, error=two_step.WRONG_CODE)
    db.commit()
    two_step.forget_code_attempts(db, user)
    remember = bool(session.get(PENDING, {}).get("remember"))
    _start_session(user, remember=remember)
    return redirect(_safe_next(request.args.get("next")))


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
        get_session().commit()
    # Clear first: logout_user() leaves a note in the session to delete the remember cookie.
    session.clear()
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """First run: create the first admin, for whoever has the setup code the server printed
    at start. Open while QuickCRM has no active admin of its own (the demo data's users do
    not count, so ``seed-demo`` first works too)."""
    db = get_session()
    if users.has_real_admin(db):
        return redirect(url_for("auth.login"))
    form = request.form
    values = {key: form.get(key, "") for key in ("setup_code", "name", "email")}
    if request.method == "GET":
        return render("auth/setup.html", ["content"], errors={}, values=values)
    config = current_app.config
    try:
        users.count_setup_attempt(db, request.remote_addr, limit=config["SETUP_ADDRESS_LIMIT"])
        user = users.create_first_admin(
            db,
            secret_key=config["SECRET_KEY"],
            code=values["setup_code"],
            email=values["email"],
            password=form.get("password", ""),
            password_confirm=form.get("password_confirm", ""),
            name=values["name"],
            password_method=config["PASSWORD_METHOD"],
        )
    except v.Refused as exc:  # 422, a wrong setup code 403, too many attempts 429
        db.rollback()
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        body, status = render(
            "auth/setup.html", ["content"], exc.status, errors=exc.errors, values=values
        )
        return body, status, headers
    db.commit()
    _start_session(user)
    flash(f"Welcome, {user.name}. You are the admin of this QuickCRM.")
    return redirect(url_for("capture.index"))


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
            except v.Refused as exc:
                errors["new_password" if exc.field == "password" else exc.field] = str(exc)
            else:
                get_session().commit()
                # Every other session ended with the old password; this one goes on.
                remember = session.permanent or _remember_cookie() in request.cookies
                _start_session(current_user._get_current_object(), remember=remember)
                flash("Your password is changed. Other browsers and phones are signed out.")
                return redirect(url_for("capture.index"))
    status = 422 if errors else 200
    return render("auth/password.html", ["content"], status=status, errors=errors)


@bp.route("/password/<token>", methods=["GET", "POST"])
def choose_password(token: str):
    """A one-time link (an invite, an admin's reset): choose a password, then signed in.
    A used, expired or unknown link: 410, and what to do. The link's secret is in the
    address: never cached, never sent on as a referrer."""
    db = get_session()
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    user = accounts.token_user(db, token, utcnow())
    errors: dict[str, str] = {}
    if user is not None and request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("new_password_confirm", ""):
            errors["new_password_confirm"] = "The two new passwords differ."
        else:
            try:
                user = accounts.set_password_with(
                    db, token, new, utcnow(), password_method=current_app.config["PASSWORD_METHOD"]
                )
            except v.Conflict:
                db.rollback()
                user = None
            except v.Refused as exc:
                db.rollback()
                errors["new_password"] = str(exc)
            else:
                db.commit()
                _start_session(user)
                flash(f"Welcome, {user.name}: your password is set and you are signed in.")
                return redirect(url_for("capture.index"), 303)
    if user is None:
        body, status = render(
            "auth/choose_password.html", ["content"], 410, gone=accounts.USED_OR_EXPIRED
        )
        return body, status, headers
    body, status = render(
        "auth/choose_password.html",
        ["content"],
        422 if errors else 200,
        user=user,
        token=token,
        errors=errors,
        gone="",
    )
    return body, status, headers


def announce_setup_code(app: Flask, out: TextIO | None = None) -> None:
    """Print the first-run setup code on the console while QuickCRM has no admin of its own
    (the first-run page asks for it). Prints nothing when the database cannot say (not migrated
    yet, not reachable): the page then cannot be used anyway."""
    with app.app_context():
        try:
            needed = not users.has_real_admin(get_session())
        except SQLAlchemyError:
            needed = False
        finally:
            close_session()
            # Under gunicorn --preload this runs before the workers fork: none may inherit
            # a pooled connection.
            get_engine().dispose()
        if needed:
            code = users.setup_code(app.config["SECRET_KEY"])
            print(SETUP_BANNER.format(code=code), file=out or sys.stderr, flush=True)


SETUP_BANNER = """
QuickCRM has no admin of its own yet. To create the first admin, open it in a browser and enter
this setup code:

    {code}

(flask --app wsgi setup-code shows it again.)
"""


@bp.route("/account", methods=["GET", "POST"])
def account():
    """The signed-in user's own settings: their time zone (for a rep who travels)."""
    db = get_session()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            teams.set_user_zone(db, current_user, request.form.get("time_zone"))
        except v.Refused as exc:
            db.rollback()
            errors = exc.errors
        else:
            db.commit()
            flash("Saved: your dates and times are in your time zone now.")
            return redirect(url_for("auth.account"), 303)
    current = team()
    body = render(
        "auth/account.html",
        ["content"],
        status=422 if errors else 200,
        errors=errors,
        chosen=request.form.get("time_zone", "") if errors else (current_user.time_zone or ""),
        team_zone=current.time_zone,
        zones=teams.choices(current.locale)["zones"],
    )
    return body


SECRET_BEING_SET = "two_step_secret"


def _restart_own_session() -> None:
    """After every session of the current user ended: this one goes on."""
    remember = session.permanent or _remember_cookie() in request.cookies
    _start_session(current_user._get_current_object(), remember=remember)


@bp.route("/account/two-step", methods=["GET", "POST"], endpoint="two_step")
def two_step_page():
    """Turn two-step sign-in on: the QR code and secret for the user's app, then a code
    from it; the ten recovery codes are shown once, in that answer alone (no-store)."""
    db = get_session()
    user = current_user._get_current_object()
    if user.totp_secret:
        left = two_step.recovery_codes_left(db, user)
        return render("auth/two_step.html", ["content"], errors={}, on=True, left=left)
    secret = session.get(SECRET_BEING_SET)
    if not isinstance(secret, str) or not secret:
        secret = session[SECRET_BEING_SET] = two_step.new_secret()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            codes = two_step.confirm(db, user, secret, request.form.get("code", ""))
            # Sessions signed in with the password alone end: they never gave a code.
            users.end_sessions(db, user)
        except v.Refused as exc:
            db.rollback()
            errors = exc.errors
        else:
            db.commit()
            _restart_own_session()
            body, status = render("auth/recovery_codes.html", ["content"], codes=codes)
            return body, status, {"Cache-Control": "no-store"}
    uri = two_step.otpauth_uri(user, secret)
    body, status = render(
        "auth/two_step.html",
        ["content"],
        status=422 if errors else 200,
        errors=errors,
        on=False,
        secret=secret,
        qr=qr.svg_data_uri(uri),
    )
    return body, status, {"Cache-Control": "no-store"}


@bp.post("/account/two-step/off")
def two_step_off():
    """Turn one's own two-step sign-in off, with a current code (or a recovery code)."""
    db = get_session()
    user = current_user._get_current_object()
    if not user.totp_secret:
        return redirect(url_for("auth.two_step"), 303)
    try:
        _count_code_attempt(db, user)
        if not two_step.verify(db, user, request.form.get("code", "")):
            raise v.Refused({"code": two_step.WRONG_CODE})
        two_step.disable(db, user)
    except v.Refused as exc:
        db.rollback()
        left = two_step.recovery_codes_left(db, user)
        body, status = render(
            "auth/two_step.html", ["content"], exc.status, errors=exc.errors, on=True, left=left
        )
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        return body, status, headers
    db.commit()
    _restart_own_session()
    flash("Two-step sign-in is off. Other browsers and phones are signed out.")
    return redirect(url_for("auth.account"), 303)


FORGOT_ANSWER = "If that address has an account, we sent it a link to choose a new password."


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """*Forgot password*: with mail configured, a one-hour link by email; the same answer,
    status and time for every address (the mail leaves on a thread of its own). Without
    mail, the page says to ask an admin."""
    config = current_app.config
    configured = mail.mail_configured(config)
    if request.method == "GET" or not configured:
        return render("auth/forgot.html", ["content"], configured=configured)
    db = get_session()
    email = request.form.get("email", "")
    try:
        accounts.count_forgot_request(db, email, request.remote_addr)
    except v.Refused as exc:
        body, status = render(
            "auth/forgot.html", ["content"], exc.status, configured=True, error=str(exc)
        )
        return body, status, {"Retry-After": str(exc.retry_after or 60)}
    found = accounts.forgot(db, email, utcnow())
    if found is not None:
        user, secret = found
        db.commit()
        link = url_for("auth.choose_password", token=secret, _external=True)
        mail.send_later(
            config,
            user.email,
            "Choose a new QuickCRM password",
            f"Hello {user.name},\n\nOpen this link to choose a new password for QuickCRM:\n"
            f"{link}\n\nIt works once, for one hour. If you did not ask for it, ignore this "
            "message: your password stays as it is.\n",
        )
    return render("auth/forgot.html", ["content"], configured=True, sent=FORGOT_ANSWER)
