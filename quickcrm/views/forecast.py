"""The forecast: open value by expected close month, wins, overdue deals, the funnel and
the figures by source and by rep (coordinators and admins)."""

from __future__ import annotations

from flask import Blueprint, request

from quickcrm.db import get_session
from quickcrm.domain import forecast
from quickcrm.web.formats import team, team_today
from quickcrm.web.guards import role_required
from quickcrm.web.render import render

bp = Blueprint("forecast", __name__, url_prefix="/forecast")


@bp.get("")
@role_required("coordinator")
def index():
    """The team's forecast: its months and quarters in the team's zone, whoever looks."""
    db = get_session()
    today, zone = team_today(), team().zone
    start, end, errors = forecast.period(request.args.get("start"), request.args.get("end"), today)
    months = forecast.by_close_month(db, today)
    cohort = forecast.cohort(db, start, end, zone)
    return render(
        "forecast/index.html",
        ["period_figures"],
        status=422 if errors else 200,
        months=months,
        top=max((m.total for m in months), default=0),
        won_month=forecast.won_this_month(db, today, zone),
        won_quarter=forecast.won_this_quarter(db, today, zone),
        overdue=forecast.overdue(db, today),
        overdue_count=forecast.overdue_count(db, today),
        by_category=forecast.by_category(db),
        potential=forecast.leads_potential(db),
        start=start,
        end=end,
        errors=errors,
        funnel=cohort.funnel,
        sources=cohort.sources,
        reps=cohort.reps,
    )
