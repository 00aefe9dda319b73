"""Admin: users, the pipeline's stages, the list of lost reasons and API tokens (admins
only)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import accounts, api_tokens, categories, companies, stages, two_step, users
from quickcrm.domain import team as teams
from quickcrm.domain import validation as v
from quickcrm.models import ApiToken, Category, LostReason, Segment, Stage, User, utcnow
from quickcrm.services import mail
from quickcrm.web.formats import team
from quickcrm.web.guards import role_required
from quickcrm.web.render import get_or_404, render

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@role_required("admin")
def only_admins():
    return None


def _page(status: int = 200, errors: dict | None = None, failed: str = ""):
    db = get_session()
    return render(
        "admin/index.html",
        ["content"],
        status=status,
        stages=stages.ordered_stages(db),
        usage=stages.stage_usage(db),
        reasons=stages.ordered_lost_reasons(db),
        segments=companies.segments(db),
        errors=errors or {},
        failed=failed,
        form=request.form,
    )


def _done(message: str, page: str = "admin.index"):
    """Commit what the request did, then back to the admin ``page`` (its endpoint) with
    ``message``."""
    get_session().commit()
    flash(message)
    return redirect(url_for(page), 303)


def _refused(exc: v.Refused, failed: str, page=_page):
    """The ``page`` again, 422, with the refusal next to the field of the form ``failed``."""
    get_session().rollback()
    return page(422, exc.errors, failed)


@bp.get("")
def index():
    return _page()


@bp.post("/stages")
def add_stage():
    try:
        stage = stages.add_stage(
            get_session(), request.form.get("name", ""), request.form.get("probability", "")
        )
    except v.Refused as exc:
        return _refused(exc, "new")
    return _done(f"Added the stage {stage.name}.")


@bp.post("/stages/<int:stage_id>")
def edit_stage(stage_id: int):
    stage = get_or_404(Stage, stage_id)
    try:
        stages.edit_stage(
            get_session(), stage, request.form.get("name", ""), request.form.get("probability", "")
        )
    except v.Refused as exc:
        return _refused(exc, f"stage-{stage_id}")
    return _done(f"Saved the stage {stage.name}.")


@bp.post("/stages/<int:stage_id>/move")
def move_stage(stage_id: int):
    stage = get_or_404(Stage, stage_id)
    stages.move_stage(get_session(), stage, -1 if request.form.get("direction") == "up" else 1)
    return _done(f"Moved {stage.name}.")


@bp.post("/stages/<int:stage_id>/remove")
def remove_stage(stage_id: int):
    stage = get_or_404(Stage, stage_id)
    name = stage.name
    try:
        moved = stages.remove_stage(get_session(), stage, request.form.get("move_to", ""))
    except v.Refused as exc:
        return _refused(exc, f"remove-{stage_id}")
    suffix = f"; {moved} opportunities moved" if moved else ""
    return _done(f"Removed the stage {name}{suffix}.")


@bp.post("/lost-reasons")
def add_lost_reason():
    try:
        reason = stages.add_lost_reason(get_session(), request.form.get("reason", ""))
    except v.Refused as exc:
        return _refused(exc, "reason")
    return _done(f"Added the lost reason {reason.name}.")


@bp.post("/lost-reasons/<int:reason_id>/remove")
def remove_lost_reason(reason_id: int):
    reason = get_or_404(LostReason, reason_id)
    try:
        stages.remove_lost_reason(get_session(), reason)
    except v.Refused as exc:
        return _refused(exc, "reasons")
    return _done(f"Removed the lost reason {reason.name}.")


@bp.post("/segments")
def add_segment():
    try:
        segment = companies.add_segment(get_session(), request.form.get("segment", ""))
    except v.Refused as exc:
        return _refused(exc, "segment")
    return _done(f"Added the segment {segment.name}.")


@bp.post("/segments/<int:segment_id>/remove")
def remove_segment(segment_id: int):
    segment = get_or_404(Segment, segment_id)
    name = segment.name
    used = companies.remove_segment(get_session(), segment)
    suffix = f"; {used} companies have no segment now" if used else ""
    return _done(f"Removed the segment {name}{suffix}.")


# --- Categories (docs/domain.md, "Categories") ---------------------------------------------


def _categories_page(status: int = 200, errors: dict | None = None, failed: str = ""):
    db = get_session()
    return render(
        "admin/categories.html",
        ["content"],
        status=status,
        categories=categories.ordered(db),
        usage=categories.usage(db),
        errors=errors or {},
        failed=failed,
        form=request.form,
    )


@bp.get("/categories")
def category_list():
    return _categories_page()


@bp.post("/categories")
def add_category():
    try:
        category = categories.add(get_session(), request.form.get("name", ""))
    except v.Refused as exc:
        return _refused(exc, "new", _categories_page)
    return _done(f"Added the category {category.name}.", "admin.category_list")


@bp.post("/categories/<int:category_id>")
def rename_category(category_id: int):
    category = get_or_404(Category, category_id)
    try:
        categories.rename(get_session(), category, request.form.get("name", ""))
    except v.Refused as exc:
        return _refused(exc, f"category-{category_id}", _categories_page)
    return _done(f"Renamed the category to {category.name}.", "admin.category_list")


@bp.post("/categories/<int:category_id>/move")
def move_category(category_id: int):
    category = get_or_404(Category, category_id)
    direction = -1 if request.form.get("direction") == "up" else 1
    categories.move(get_session(), category, direction)
    return _done(f"Moved {category.name}.", "admin.category_list")


@bp.post("/categories/<int:category_id>/remove")
def remove_category(category_id: int):
    """Remove it from the list and from its leads and companies; the page asked first, with
    how many have it (data-confirm)."""
    category = get_or_404(Category, category_id)
    name = category.name
    leads, companies_with = categories.remove(get_session(), category)
    used = [
        f"{count} {one if count == 1 else many}"
        for count, one, many in ((leads, "lead", "leads"), (companies_with, "company", "companies"))
        if count
    ]
    suffix = f" ({' and '.join(used)} had it)" if used else ""
    return _done(f"Removed the category {name}{suffix}.", "admin.category_list")


def _users_page(
    status: int = 200,
    errors: dict | None = None,
    failed: str = "",
    *,
    linked: User | None = None,
    secret: str = "",
):
    """The list of users and the invite form; after an invite, with the new user's one-time
    link to choose a password, in this answer alone (no-store): only its hash is kept."""
    response = render(
        "admin/users.html",
        ["content"],
        status=status,
        users=users.list_users(get_session()),
        errors=errors or {},
        failed=failed,
        form=request.form,
        linked=linked,
        link=url_for("auth.choose_password", token=secret, _external=True) if secret else "",
    )
    return *response, {"Cache-Control": "no-store"}


def _user_page(person: User, status: int = 200, errors: dict | None = None, secret: str = ""):
    """One user's page: their role, deactivating them, a new password link, handing their
    work over. After a reset, with the one-time link, in this answer alone (no-store)."""
    db = get_session()
    response = render(
        "admin/user.html",
        ["content"],
        status=status,
        person=person,
        takers=[other for other in users.active_users(db) if other.id != person.id],
        errors=errors or {},
        form=request.form,
        link=url_for("auth.choose_password", token=secret, _external=True) if secret else "",
    )
    return *response, {"Cache-Control": "no-store"}


def _refused_on(person: User, exc: v.Refused):
    """``person``'s page again, 422, with the refusal next to its field."""
    get_session().rollback()
    return _user_page(person, 422, exc.errors)


def _done_with(person: User, message: str):
    """Commit what the request did, then back to ``person``'s page with ``message``."""
    get_session().commit()
    flash(message)
    return redirect(url_for("admin.user_page", user_id=person.id), 303)


@bp.get("/users")
def user_list():
    return _users_page()


@bp.get("/users/<int:user_id>")
def user_page(user_id: int):
    return _user_page(get_or_404(User, user_id))


@bp.post("/users/invite")
def invite_user():
    """A new user without a password, and their one-time link to choose one, shown once
    (the page then forgets the POST, so reloading it invites no one twice). Sending the
    link by email, when mail is configured, belongs here too."""
    form = request.form
    db = get_session()
    try:
        user, secret = accounts.invite(
            db, form.get("email", ""), form.get("name", ""), form.get("role", "rep"), utcnow()
        )
    except v.Refused as exc:
        return _refused(exc, "new", _users_page)
    db.commit()
    _mail_link(user, secret, "You are invited to QuickCRM", "choose your password")
    return _users_page(201, linked=user, secret=secret)


def _mail_link(user: User, secret: str, subject: str, what: str) -> None:
    """Also send a one-time link by email when mail is configured (docs/mail.md); the
    page shows it either way, for the admin to copy."""
    config = current_app.config
    if not mail.mail_configured(config):
        return
    link = url_for("auth.choose_password", token=secret, _external=True)
    mail.send_later(
        config,
        user.email,
        subject,
        f"Hello {user.name},\n\nOpen this link to {what} for QuickCRM:\n{link}\n\n"
        "It works once, for seven days.\n",
    )


@bp.post("/users/<int:user_id>/reset-password")
def reset_password(user_id: int):
    """Every session of the user ends, their password stops working, and a new one-time
    link to choose one is shown once."""
    user = get_or_404(User, user_id)
    db = get_session()
    if user.id == current_user.id:
        return _refused_on(
            user, v.Refused({"password": "Change your own password under Change password."})
        )
    secret = accounts.reset(db, user, utcnow())
    db.commit()
    _mail_link(user, secret, "Choose a new QuickCRM password", "choose a new password")
    return _user_page(user, secret=secret)


@bp.post("/users/<int:user_id>/role")
def change_role(user_id: int):
    user = get_or_404(User, user_id)
    try:
        users.change_role(get_session(), user, request.form.get("role", ""), by=current_user)
    except v.Refused as exc:
        return _refused_on(user, exc)
    return _done_with(user, f"{user.name} is now {user.role}.")


@bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id: int):
    user = get_or_404(User, user_id)
    try:
        users.deactivate(get_session(), user, by=current_user)
    except v.Refused as exc:
        return _refused_on(user, exc)
    return _done_with(user, f"Deactivated {user.name}: they can no longer sign in.")


@bp.post("/users/<int:user_id>/two-step/off")
def turn_off_two_step(user_id: int):
    """For a user who lost their phone: their two-step sign-in goes, and so do their
    sessions; they sign in with their password and may turn it on again."""
    user = get_or_404(User, user_id)
    try:
        two_step.disable(get_session(), user)
    except v.Refused as exc:
        return _refused_on(user, exc)
    return _done_with(
        user, f"Two-step sign-in is off for {user.name}; they are signed out everywhere."
    )


@bp.post("/users/<int:user_id>/hand-over")
def hand_over(user_id: int):
    """Give everything of a user (a rep who leaves) to another, in one step."""
    user = get_or_404(User, user_id)
    db = get_session()
    to = v.chosen(db, User, request.form.get("to"))
    try:
        if to is None:
            raise v.Refused({"to": "Choose who takes over."})
        moved = users.hand_over(db, user, to, by=current_user)
    except v.Refused as exc:
        return _refused_on(user, exc)
    counts = ", ".join(f"{count} {what}" for what, count in moved.items())
    return _done_with(user, f"Handed over from {user.name} to {to.name}: {counts}.")


@bp.post("/users/<int:user_id>/reactivate")
def reactivate_user(user_id: int):
    user = get_or_404(User, user_id)
    users.reactivate(get_session(), user)
    return _done_with(user, f"Reactivated {user.name}: they can sign in again.")


def _tokens_page(status: int = 200, errors: dict | None = None, created=None, secret: str = ""):
    db = get_session()
    response = render(
        "admin/tokens.html",
        ["content"],
        status=status,
        tokens=api_tokens.list_tokens(db),
        owners=[user for user in users.list_users(db) if user.active],
        errors=errors or {},
        form=request.form,
        created=created,
        secret=secret,
        default_rate_limit=api_tokens.rate_limit(current_app.config),
    )
    return *response, {"Cache-Control": "no-store"}


@bp.get("/tokens")
def tokens():
    return _tokens_page()


@bp.post("/tokens")
def create_token():
    """The new token's secret is in this answer alone (no-store), never in a cookie or a
    table: only its hash is kept. The page then forgets the POST (``data-shown-once``), so
    reloading it makes no second token."""
    db = get_session()
    form = api_tokens.ApiTokenForm.clean(db, request.form)
    if not form.ok:
        return _tokens_page(422, form.errors)
    token, secret = api_tokens.create_token(db, form, created_by=current_user._get_current_object())
    db.commit()
    return _tokens_page(201, created=token, secret=secret)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    token = get_or_404(ApiToken, token_id)
    api_tokens.revoke(get_session(), token)
    return _done(f"Revoked the token {token.name}: it no longer opens the API.", "admin.tokens")


# --- Team settings (docs/team.md) ---------------------------------------------------------


def _team_page(status: int = 200, form: teams.TeamForm | None = None):
    current = team()
    if form is None:
        week = "sunday" if current.week_start == teams.SUNDAY else "monday"
        form = teams.TeamForm(raw={
            "time_zone": current.time_zone, "currency": current.currency or "",
            "locale": current.locale, "week_start": week,
            "phone_region": current.phone_region or "",
        })  # fmt: skip
    return render(
        "admin/team.html",
        ["content"],
        status=status,
        form=form,
        choices=teams.choices(current.locale),
    )


@bp.get("/team")
def team_settings():
    return _team_page()


@bp.post("/team")
def save_team_settings():
    db = get_session()
    form = teams.TeamForm.clean(db, request.form)
    if not form.ok:
        return _team_page(422, form)
    teams.save(db, form)
    return _done("Team settings saved: every page uses them now.", "admin.team_settings")
