"""The reminder emails (issue 27, README "Reminders", docs/mail.md): each user's morning
list at the time they chose, and Monday's digest for the coordinators who asked for it —
a scheduled job of the app servers ("Reminder emails", every five minutes).

Each run asks who is due (``quickcrm/domain/reminders.py``: on their own clock, on their
days, not sent yet today), takes each one's (user, day, kind) row before sending
(``claim``: one server wins it, whatever the others do), composes the message (plain text
and simple HTML from templates/mail/, the team's date format, the user's day), sends it
and records how it went (``mark``). Nothing to say: no email, marked *skipped*. The mail
server down or silent: that one is marked *failed* and the rest wait, all tried again at
the next run, and the run is recorded as failed on Admin → System with the reason.

Links in a message are absolute: the app's public address is ``QUICKCRM_PUBLIC_URL`` (set
by scripts/serve), else ``QUICKCRM_BASE_URL``, else ``SERVER_NAME``. Without one no
reminder is sent (a message whose links lead nowhere is worse than none) and the System
page says why."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import formataddr
from urllib.parse import urlsplit

from babel.dates import format_skeleton
from flask import Flask
from sqlalchemy.orm import Session

from quickcrm.domain import reminder_settings, reminders
from quickcrm.domain import scheduler as schedule
from quickcrm.domain import team as teams
from quickcrm.domain.digest import Digest, digest
from quickcrm.domain.morning_list import MorningList, morning_list
from quickcrm.models import User, utcnow
from quickcrm.services import mail

NAME = "reminder_emails"
# Every five minutes: a reminder goes within five minutes of the time its user chose, a
# mail server that was down is tried again five minutes later (not every minute for hours),
# and the System page's line stays up long enough to be read.
EVERY = timedelta(minutes=5)
# Longer than a run can take: each message waits at most MAIL_TIMEOUT a step, and a run
# stops at the first sign of the server failing.
LEASE = timedelta(minutes=15)
NAMES = {"email": ("morning list", "morning lists"), "digest": ("digest", "digests")}


def job(app: Flask) -> schedule.Job:
    return schedule.Job(
        name=NAME,
        title="Reminder emails",
        when=schedule.Every(EVERY),
        function=lambda run: send_due(app, run.session, run.now),
        lease=LEASE,
    )


def public_url(config) -> str | None:
    """The address the links in a message start with ("https://crm.example.com"), or None
    when the app does not know it."""
    for raw in (config.get("PUBLIC_URL"), config.get("BASE_URL")):
        url = (raw or "").strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            return url
    server = (config.get("SERVER_NAME") or "").strip()
    if server:
        return f"{config.get('PREFERRED_URL_SCHEME') or 'https'}://{server}"
    return None


def tel(phone: str) -> str:
    """A phone number as a tel: link takes it: "+44 20 7946 0000" → "+442079460000";
    empty when nothing of it can be dialled."""
    digits = re.sub(r"[^\d]", "", phone)
    return ("+" if phone.strip().startswith("+") else "") + digits if digits else ""


class Links:
    """Absolute URLs of the app's pages under its public address, built from the URL map
    outside any request: ``links("leads.detail", lead_id=3)``."""

    def __init__(self, app: Flask, base: str):
        parts = urlsplit(base)
        self._adapter = app.url_map.bind(
            parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
        )

    def __call__(self, endpoint: str, **values) -> str:
        return self._adapter.build(endpoint, values, force_external=True)


@dataclass
class Email:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


@dataclass
class Tally:
    """What a run did, for its one line on the System page."""

    sent: Counter = field(default_factory=Counter)
    skipped: int = 0
    failed: int = 0
    waiting: int = 0
    reasons: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = []
        if self.sent:
            counts = [f"{n} {NAMES[kind][n != 1]}" for kind, n in sorted(self.sent.items()) if n]
            parts.append("Sent " + " and ".join(counts))
        if self.skipped:
            parts.append(f"{self.skipped} with nothing to send")
        if self.failed:
            parts.append(f"{self.failed} failed, tried again at the next run: {self.reasons[0]}")
        if self.waiting:
            parts.append(f"{self.waiting} wait for the mail server")
        return "; ".join(parts) or "Nothing due"


def send_due(
    app: Flask, session: Session, now: datetime, clock: Callable[[], datetime] = utcnow
) -> str:
    """Send every reminder email due at ``now``; the run's line. Raises
    ``schedule.Failed`` (with the line) when one did not go."""
    config = app.config
    if not mail.mail_configured(config):
        return "Mail is not set up (QUICKCRM_MAIL_URL, QUICKCRM_MAIL_FROM): no reminder emails"
    base = public_url(config)
    if base is None:
        raise schedule.Failed(
            "No reminder emails: the app's public address is unknown, for their links — "
            "set QUICKCRM_PUBLIC_URL (docs/mail.md)"
        )
    team = teams.load(session, teams.Defaults(time_zone=config.get("TIME_ZONE") or None))
    composer = Composer(app, Links(app, base), team)
    tally = Tally()
    server_down = False
    for kind in ("email", "digest"):
        for due in reminders.due(session, kind, now, team):
            if server_down:
                tally.waiting += 1
                continue
            user_id, day = due.user.id, due.day
            if not reminders.claim(session, user_id, day, kind, clock()):
                continue  # sent, or being sent by another server
            try:
                email = composer.compose(session, kind, due, now)
            except Exception as error:  # a bug must not stop the others' reminders
                session.rollback()
                app.logger.exception("Composing the %s reminder of user %s failed", kind, user_id)
                reason = f"{type(error).__name__}: {error}"
                reminders.mark(session, user_id, day, kind, "failed", clock(), reason)
                tally.failed += 1
                tally.reasons.append(reason)
                continue
            if email is None:
                reminders.mark(session, user_id, day, kind, "skipped", clock(), "Nothing due")
                tally.skipped += 1
                continue
            to = formataddr((due.user.name, due.user.email))
            failure = mail.attempt(config, to, email.subject, email.text, email.html, email.headers)
            if failure is None:
                reminders.mark(session, user_id, day, kind, "sent", clock(), email.subject)
                tally.sent[kind] += 1
            else:
                reminders.mark(session, user_id, day, kind, "failed", clock(), failure.reason)
                tally.failed += 1
                tally.reasons.append(failure.reason)
                server_down = failure.server
    line = tally.line()
    if tally.failed:
        raise schedule.Failed(line)
    return line


class Composer:
    """Writes the messages of one run: the team's formats, the links under the public
    address, the templates of templates/mail/."""

    def __init__(self, app: Flask, links: Links, team: teams.Team):
        self.app = app
        self.links = links
        self.team = team
        self._digest: Digest | None = None

    def compose(
        self, session: Session, kind: str, due: reminders.Due, now: datetime
    ) -> Email | None:
        """The message ``due.user`` gets, or None when there is nothing to tell."""
        if kind == "email":
            found = morning_list(session, due.user, due.day)
            return None if found.empty else self.morning(found)
        if self._digest is None:  # the same for every coordinator of the run
            self._digest = digest(session, now, self.team)
        return None if self._digest.empty else self.digest(due.user, self._digest)

    # --- formats: the team's language and order, the user's day ---

    def short_day(self, day: date) -> str:
        """ "Mon 30 Nov" (with the year when it is not this one's)."""
        return format_skeleton("MMMEd", day, locale=self.team.babel_locale)

    def long_day(self, day: date) -> str:
        """ "Monday 7 December"."""
        return format_skeleton("MMMMEEEEd", day, locale=self.team.babel_locale)

    def _stop(self, user: User, kind: str) -> str:
        token = reminder_settings.stop_token(self.app.config["SECRET_KEY"], user, kind)
        return self.links("reminders.stop", token=token)

    def _render(self, name: str, **context) -> tuple[str, str]:
        context |= {
            "link": self.links,
            "short_day": self.short_day,
            "long_day": self.long_day,
            "tel": tel,
        }
        with self.app.app_context():
            env = self.app.jinja_env
            text = env.get_template(f"mail/{name}.txt").render(**context)
            html = env.get_template(f"mail/{name}.html").render(**context)
        return text, html

    def _headers(self, stop: str) -> dict[str, str]:
        return {
            # RFC 8058: the mail provider's own *Unsubscribe* button POSTs to the link.
            "List-Unsubscribe": f"<{stop}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # RFC 3834: sent by a machine, so out-of-office replies stay away.
            "Auto-Submitted": "auto-generated",
        }

    def morning(self, found: MorningList) -> Email:
        counts = [
            f"{section.total} {label}"
            for section, label in zip(found.sections, ("overdue", "today", "tomorrow"), strict=True)
            if section.total
        ]
        subject = f"{self.long_day(found.day)}: {', '.join(counts)}"
        stop = self._stop(found.user, "email")
        text, html = self._render(
            "morning_list",
            found=found,
            subject=subject,
            stop=stop,
            tomorrow=found.day + timedelta(days=1),
        )
        return Email(subject, text, html, self._headers(stop))

    def digest(self, user: User, found: Digest) -> Email:
        since = self.short_day(found.since_day)
        counts = []
        if found.new_lead_count:
            counts.append(
                f"{found.new_lead_count} new lead{'s' if found.new_lead_count != 1 else ''}"
            )
        if found.hot_without_action_total:
            counts.append(f"{found.hot_without_action_total} hot without a next action")
        deals = len(found.moved) + len(found.won) + len(found.lost)
        if deals:
            counts.append(f"{deals} deal{'s' if deals != 1 else ''} moved")
        subject = f"Since {since}: {', '.join(counts)}"
        stop = self._stop(user, "digest")
        text, html = self._render(
            "digest", found=found, user=user, subject=subject, since=since, stop=stop
        )
        return Email(subject, text, html, self._headers(stop))
