"""The pipeline board, the list with filters, an opportunity's page; moving, won, lost."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from quickcrm.db import get_session
from quickcrm.domain import activities, companies, opportunities, stages, users
from quickcrm.domain import validation as v
from quickcrm.domain.money import weighted_value
from quickcrm.models import Opportunity
from quickcrm.web.guards import role_required
from quickcrm.web.log_activity import log_activity_on
from quickcrm.web.render import get_or_404, render, wants_page

bp = Blueprint("opportunities", __name__, url_prefix="/opportunities")

BOARD = "opportunities/board.html"
DETAIL = "opportunities/detail.html"


def _board(
    status: int = 200,
    errors: dict | None = None,
    failed_id: int | None = None,
    keep: Opportunity | None = None,
):
    db = get_session()
    return render(
        BOARD,
        ["board"],
        status=status,
        columns=opportunities.board(db, keep=keep),
        stages=opportunities.open_stages(db),
        reasons=stages.lost_reasons(db),
        errors=errors or {},
        failed_id=failed_id,
        may_act_on=opportunities.may_act_on,
    )


@bp.get("")
def index():
    return _board()


def _after(opportunity: Opportunity, message: str):
    """Commit the change, then back to where it was made: the board (htmx gets the board
    block)."""
    get_session().commit()
    if wants_page():
        flash(message)
        if request.form.get("next") == "detail":
            return redirect(url_for("opportunities.detail", opportunity_id=opportunity.id), 303)
        return redirect(url_for("opportunities.index"), 303)
    return _board(keep=opportunity)


def _actionable(opportunity_id: int) -> Opportunity:
    """The opportunity, if the signed-in user may move, win or lose it; else 404 / 403."""
    opportunity = get_or_404(Opportunity, opportunity_id)
    if not opportunities.may_act_on(current_user, opportunity):
        abort(403)
    return opportunity


@bp.post("/<int:opportunity_id>/stage")
def move(opportunity_id: int):
    opportunity = _actionable(opportunity_id)
    raw = request.form.get("stage_id", "")
    try:
        opportunities.move_to_stage(get_session(), opportunity, v.record_id(raw) or 0)
    except v.Refused as exc:
        return _board(422, exc.errors, opportunity.id, keep=opportunity)
    return _after(opportunity, f"{opportunity.title} moved to {opportunity.stage.name}.")


@bp.post("/<int:opportunity_id>/won")
def won(opportunity_id: int):
    opportunity = _actionable(opportunity_id)
    try:
        opportunities.win(get_session(), opportunity)
    except v.Refused as exc:
        return _board(422, exc.errors, opportunity.id, keep=opportunity)
    return _after(opportunity, f"Won — {opportunity.title}.")


@bp.post("/<int:opportunity_id>/lost")
def lost(opportunity_id: int):
    opportunity = _actionable(opportunity_id)
    try:
        opportunities.lose(get_session(), opportunity, request.form.get("lost_reason", ""))
    except v.Refused as exc:
        return _board(422, exc.errors, opportunity.id, keep=opportunity)
    return _after(opportunity, f"Lost — {opportunity.title} ({opportunity.lost_reason}).")


@bp.get("/list")
def listing():
    db = get_session()
    query = opportunities.OpportunityQuery.from_args(request.args)
    return render(
        "opportunities/list.html",
        ["results"],
        query=query,
        page=opportunities.opportunity_list(db, query),
        stages=stages.ordered_stages(db),
        owners=users.everyone_by_name(db),
    )


def _detail(
    opportunity: Opportunity,
    form: opportunities.OpportunityForm,
    status: int = 200,
    blocks: tuple[str, ...] = ("opportunity_form",),
    **extra,
):
    db = get_session()
    return render(
        DETAIL,
        list(blocks),
        status=status,
        opportunity=opportunity,
        weighted=weighted_value(opportunity),
        form=form,
        stages=stages.ordered_stages(db),
        owners=users.active_users(db),
        contacts=companies.contacts_at(db, opportunity.company_id),
        reasons=stages.lost_reasons(db),
        activities=activities.timeline(db, opportunity),
        may_act_on=opportunities.may_act_on,
        **extra,
    )


@bp.get("/<int:opportunity_id>")
def detail(opportunity_id: int):
    opportunity = get_or_404(Opportunity, opportunity_id)
    return _detail(opportunity, opportunities.OpportunityForm.of(opportunity))


@bp.post("/<int:opportunity_id>")
@role_required("coordinator")
def update(opportunity_id: int):
    db = get_session()
    opportunity = get_or_404(Opportunity, opportunity_id)
    form = opportunities.OpportunityForm.clean(db, request.form, company=opportunity.company)
    if form.ok:
        try:
            opportunities.update_opportunity(
                db, opportunity, form, request.form.get("lost_reason", "")
            )
        except v.Refused as exc:
            form.errors.update(exc.errors)
    if not form.ok:
        return _detail(opportunity, form, 422)
    db.commit()
    if wants_page():
        flash(f"Saved — {opportunity.title}.")
        return redirect(url_for("opportunities.detail", opportunity_id=opportunity.id), 303)
    # The form says Saved; the facts above it are refreshed out of band.
    form = opportunities.OpportunityForm.of(opportunity)
    blocks = ("opportunity_form", "opportunity_facts")
    return _detail(opportunity, form, blocks=blocks, saved=True, facts_oob=True)


@bp.post("/<int:opportunity_id>/activities")
def log_activity(opportunity_id: int):
    """Log a note, call, email, meeting or (repeating) task on the opportunity."""
    opportunity = get_or_404(Opportunity, opportunity_id)
    form = opportunities.OpportunityForm.of(opportunity)

    def timeline(status: int = 200, **extra):
        return _detail(opportunity, form, status, ("timeline",), **extra)

    return log_activity_on(
        opportunity,
        timeline,
        url_for("opportunities.detail", opportunity_id=opportunity.id),
    )
