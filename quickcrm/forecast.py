"""The forecast: open value by expected close month, wins, overdue deals, the funnel and
the figures by source and by rep (coordinators and admins)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, request

from quickcrm.db import get_session
from quickcrm.domain import forecast
from quickcrm.domain import validation as v
from quickcrm.web import render, role_required, today

bp = Blueprint("forecast", __name__, url_prefix="/forecast")


def _period(errors: dict[str, str]) -> tuple[date, date]:
    """The funnel's period from ?start=&end= (ISO dates), by default this quarter so far."""
    default = (forecast.quarter_start(today()), today())
    values = []
    for name, fallback in zip(("start", "end"), default, strict=True):
        try:
            values.append(
                v.day(request.args.get(name), "Enter a date like 2026-11-01.") or fallback
            )
        except v.Invalid as exc:
            errors[name] = str(exc)
            values.append(fallback)
    start, end = values
    if start > end:
        errors["end"] = "The end must be on or after the start."
        start, end = default
    return start, end


@bp.get("")
@role_required("coordinator")
def index():
    db = get_session()
    errors: dict[str, str] = {}
    start, end = _period(errors)
    months = forecast.by_close_month(db, today())
    cohort = forecast.cohort(db, start, end)
    return render(
        "forecast/index.html",
        ["period_figures"],
        status=422 if errors else 200,
        months=months,
        top=max((m.total for m in months), default=0),
        won_month=forecast.won_this_month(db, today()),
        won_quarter=forecast.won_this_quarter(db, today()),
        overdue=forecast.overdue(db, today()),
        overdue_count=forecast.overdue_count(db, today()),
        start=start,
        end=end,
        errors=errors,
        funnel=cohort.funnel,
        sources=cohort.sources,
        reps=cohort.reps,
    )
