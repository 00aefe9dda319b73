"""The morning list on the phones that asked for it (quickcrm/domain/push.py), as a job of
the scheduler (quickcrm/services/scheduler.py)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from quickcrm.domain import push
from quickcrm.domain import scheduler as schedule
from quickcrm.domain import team as teams

NAME = "push"
# Every minute: a morning list set for 07:30 arrives at 07:30, not at 07:35; a run that
# finds nobody due is one small query.
EVERY = timedelta(minutes=1)
# Each phone's push service has push.TIMEOUT to answer; a server killed mid-run leaves its
# users' claims to reminders.STALE, not to this lease.
LEASE = timedelta(minutes=10)


def job(app: Flask) -> schedule.Job:
    return schedule.Job(
        name=NAME,
        title="Push reminders",
        when=schedule.Every(EVERY),
        function=_send(app),
        lease=LEASE,
    )


def _send(app: Flask):
    """The morning list on the phones (quickcrm/domain/push.py) as a scheduled job."""

    def push_reminders(run: schedule.Run) -> str:
        agenda_path = app.url_map.bind("").build("agenda.index")
        team = teams.load(
            run.session, teams.Defaults(time_zone=app.config.get("TIME_ZONE") or None)
        )
        http = push.PushHttp(app.config.get("PUSH_CA_FILE"))
        sender = push.Sender(
            contact=push.contact(
                run.session, app.config.get("PUSH_CONTACT"), app.config.get("MAIL_FROM")
            ),
            http=http,
        )
        with http:
            return push.send_due(run.session, run.now, team, sender, agenda_path).line()

    return push_reminders
