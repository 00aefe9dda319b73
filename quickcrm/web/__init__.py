"""What every view shares (docs/architecture.md): rendering a page or its fragment
(``render``), guards (``guards``), how values are written (``formats``), static files
(``static``), the security headers (``security``), how a request is read before a view
(``inputs``), compressed answers (``compress``), error pages (``errors``) and logging an activity
from a record's page (``log_activity``)."""

from __future__ import annotations

from flask import Flask

from quickcrm import models
from quickcrm.web import formats, render, security, static


def init_app(app: Flask) -> None:
    static.init_app(app)
    app.jinja_env.globals["csrf_field"] = security.csrf_field
    app.jinja_env.globals["navigation"] = render.navigation
    app.jinja_env.filters["friendly_date"] = formats.friendly_date
    app.jinja_env.filters["day"] = formats.day
    app.jinja_env.filters["moment"] = formats.moment
    app.jinja_env.filters["month"] = formats.month
    app.jinja_env.filters["time_of_day"] = formats.time_of_day
    app.jinja_env.filters["local_moment"] = formats.local_moment
    app.jinja_env.filters["http_url"] = security.http_url
    app.jinja_env.filters["money"] = formats.amount
    # The word lists live once, in models.py; templates loop over them.
    app.jinja_env.globals.update(
        ACTIVITY_KINDS=models.ACTIVITY_KINDS,
        COMPANY_RATINGS=models.COMPANY_RATINGS,
        COMPANY_TYPES=models.COMPANY_TYPES,
        LEAD_STATUSES=models.LEAD_STATUSES,
        OUTCOMES=models.OUTCOMES,
        REPEAT_UNITS=models.REPEAT_UNITS,
        ROLES=models.ROLES,
        TEMPERATURES=models.TEMPERATURES,
    )

    @app.after_request
    def vary_on_htmx(response):
        # Pages answer a fragment to htmx and the whole page otherwise: caches must know.
        response.vary.add("HX-Request")
        security.add_security_headers(response.headers)
        return response
