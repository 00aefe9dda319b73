"""Periodic work inside the app servers, so a deployment needs no cron and no daemon: after
an answer has gone, at most once an interval per process, one app server (a lease in the
database, ``domain/housekeeping.py``) purges the rows kept only for a while (docs/import.md,
"Purge"). ``QUICKCRM_HOUSEKEEPING_EVERY`` (seconds, 0: never)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from quickcrm import models
from quickcrm.domain import housekeeping


def init_app(app: Flask) -> None:
    app.extensions["quickcrm.housekeeping"] = housekeeping.Hourly()

    @app.after_request
    def purge_now_and_then(response):
        every = app.config["HOUSEKEEPING_EVERY"]
        if not isinstance(every, timedelta):
            every = timedelta(seconds=float(every or 0))
        if every > timedelta(0) and app.extensions["quickcrm.housekeeping"].due(every):
            response.call_on_close(lambda: _purge(app, every))
        return response


def _purge(app: Flask, every: timedelta) -> None:
    try:
        with app.extensions["quickcrm.sessionmaker"]() as session:
            counts = housekeeping.purge(session, models.utcnow(), every=every)
    except Exception:  # the next hour tries again; the answer has gone already
        app.logger.exception("Housekeeping failed")
        return
    if any(counts.values()):
        app.logger.info("Housekeeping purged %s", counts)
