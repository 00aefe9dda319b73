"""Web push (issue 27, docs/web-push.md): the morning list as one notification on each
phone a user turned *Notify me on this phone* on.

- The VAPID key pair the app signs its pushes with (RFC 8292) is made once and kept in
  ``app_key``, so every app server signs alike and a phone's subscription outlives a
  restart; its public half is the ``applicationServerKey`` the phone subscribes with.
- A subscription is what the browser's ``PushSubscription.toJSON()`` gives: the push
  service's https endpoint and the keys its payloads are encrypted with (RFC 8291). The
  endpoint's host must be a known push service (``PUSH_SERVICES``): the server posts to
  it every morning, and must not be made to post into the office network.
- ``send_due`` sends each user due a ``push`` reminder (quickcrm/domain/reminders.py: their
  clock passed their time today, one per day across servers) one notification: "3
  follow-ups today", the names, and the agenda to open. It holds only their own items.
  A push service's 404 or 410 means the phone unsubscribed: that subscription goes.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from quickcrm.domain import agenda, reminders
from quickcrm.domain import validation as v
from quickcrm.domain.team import Team
from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import AppKey, PushSubscription, User

KIND = "push"
VAPID_KEY = "vapid"
# Push services of the browsers that offer web push (Chrome and Android browsers, Firefox,
# Safari and iPhone home-screen apps, Edge): a host is one of them or below one.
PUSH_SERVICES = (
    "fcm.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
)


def services_from(raw: str | None) -> tuple[str, ...]:
    """The push services' hosts of a setting ("fcm.googleapis.com, push.apple.com"), or
    the browsers' own when it is empty."""
    hosts = tuple(h.strip().lower().strip(".") for h in (raw or "").split(",") if h.strip())
    return hosts or PUSH_SERVICES


ENDPOINT_MAX = 1000  # push_subscription.endpoint
DEVICE_MAX = 200
P256DH_BYTES = 65  # an uncompressed P-256 point: 0x04, x, y
AUTH_BYTES = 16
# The morning list is worth delivering while it may still go at all (reminders.LATE): a
# phone switched on at nine still gets it; one switched on at tea time does not.
TTL = int(reminders.LATE.total_seconds())
# What a push service has to answer in: (connect, read) seconds.
TIMEOUT = (5.0, 10.0)
NAMES_SHOWN = 3
GONE = (404, 410)


# --- The key ---------------------------------------------------------------------------


@owns_transaction("the VAPID key is made once: of two servers making it, one wins the key")
def vapid_key(session: Session) -> Vapid:
    """The app's VAPID key pair, made on first use and kept in ``app_key``; commits when it
    made it. Two servers making it at once: one INSERT wins the primary key, and both use
    the one stored."""
    row = session.get(AppKey, VAPID_KEY)
    if row is None:
        made = Vapid()
        made.generate_keys()
        table = AppKey.__table__
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(table)
            .values(name=VAPID_KEY, value=made.private_pem().decode())
            .on_conflict_do_nothing(index_elements=[table.c.name])
        )
        session.commit()
        row = session.get(AppKey, VAPID_KEY)
    return Vapid.from_pem(row.value.encode())


def application_server_key(key: Vapid) -> str:
    """The public key as ``pushManager.subscribe`` takes it: the uncompressed point,
    base64url without padding."""
    raw = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- Subscriptions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


def _key(value: object, size: int, what: str) -> str:
    message = f"The subscription's {what} key is not one a browser makes."
    if not isinstance(value, str) or len(value) > 2 * size or not value.isascii():
        raise v.Refused({"keys": message})
    text = value.strip().rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise v.Refused({"keys": message}) from None
    if len(raw) != size or (size == P256DH_BYTES and raw[0] != 4):
        raise v.Refused({"keys": message})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def read_subscription(data: object, services: tuple[str, ...] = PUSH_SERVICES) -> Subscription:
    """The subscription in ``data`` (``PushSubscription.toJSON()``: endpoint, keys.p256dh,
    keys.auth), checked: an https endpoint of a known push service, keys of the sizes
    RFC 8291 gives. Refused otherwise."""
    if not isinstance(data, dict):
        raise v.Refused({"endpoint": "Send the subscription as a JSON object."})
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > ENDPOINT_MAX:
        raise v.Refused({"endpoint": "The subscription has no push service address."})
    if not v.storable(endpoint) or not endpoint.isascii() or not endpoint.isprintable():
        raise v.Refused({"endpoint": "The push service address is not a web address."})
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError:
        raise v.Refused({"endpoint": "The push service address is not a web address."}) from None
    if parts.scheme != "https" or not host or parts.username or parts.password:
        raise v.Refused({"endpoint": "The push service address must be an https address."})
    if not any(host == s or host.endswith(f".{s}") for s in services):
        raise v.Refused(
            {"endpoint": f"QuickCRM does not send to this browser's push service ({host})."}
        )
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise v.Refused({"keys": "The subscription has no keys."})
    return Subscription(
        endpoint=endpoint,
        p256dh=_key(keys.get("p256dh"), P256DH_BYTES, "p256dh"),
        auth=_key(keys.get("auth"), AUTH_BYTES, "auth"),
    )


def device_name(user_agent: str | None) -> str | None:
    """What the phone calls itself, short, for the user to tell their phones apart."""
    text = " ".join((user_agent or "").split())
    if not text or not v.storable(text):
        return None
    return text[:DEVICE_MAX]


def subscribe(session: Session, user: User, subscription: Subscription, device: str | None) -> None:
    """Keep ``subscription`` for ``user``: a new one, or the same endpoint again (new keys,
    or another user signed in on that phone: it is theirs now). One statement, so two
    taps racing store one row; flushed, the caller commits."""
    table = PushSubscription.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {
        "user_id": user.id,
        "p256dh": subscription.p256dh,
        "auth": subscription.auth,
        "device": device,
    }
    statement = insert(table).values(endpoint=subscription.endpoint, **values)
    session.execute(statement.on_conflict_do_update(index_elements=[table.c.endpoint], set_=values))
    session.flush()


def unsubscribe(session: Session, user: User, endpoint: object) -> bool:
    """Forget the phone at ``endpoint`` if it is ``user``'s (another user's is left alone);
    True when one went. Flushed, the caller commits."""
    if not isinstance(endpoint, str) or len(endpoint) > ENDPOINT_MAX or not v.storable(endpoint):
        return False
    gone = session.execute(
        delete(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.user_id == user.id
        )
    )
    session.flush()
    return bool(gone.rowcount)


def forget_user(session: Session, user: User) -> None:
    """Every phone of ``user`` (deactivated: they get nothing); flushed."""
    session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id))
    session.flush()


# --- What is sent ----------------------------------------------------------------------


def message(session: Session, user: User, today: date, url: str) -> dict | None:
    """The morning notification for ``user`` on their ``today``: their own follow-ups due
    today or overdue, counted together (overdue ones are today's work too), the first
    names, and the agenda to open; None when there is nothing to do."""
    count = agenda.due_count(session, user.id, today)
    if not count:
        return None
    found = agenda.agenda(session, user.id, today, limit=NAMES_SHOWN)
    names = list(dict.fromkeys(e.who for e in [*found.overdue, *found.today]))[:NAMES_SHOWN]
    rest = count - len(names)
    body = ", ".join(names)
    if rest > 0:
        body += f" and {rest} more"
    if found.overdue.total:
        body += f" ({found.overdue.total} overdue)"
    title = f"{count} follow-up{'' if count == 1 else 's'} today"
    return {"title": title, "body": body, "url": url, "tag": "quickcrm-agenda"}


class PushHttp(requests.Session):
    """The requests session pushes leave through (synchronous; pywebpush posts with it),
    trusting the system's authorities or those of ``ca_file``. requests lets
    REQUESTS_CA_BUNDLE override a session's own ``verify``; a request's wins, so each
    request carries it."""

    def __init__(self, ca_file: str | None = None) -> None:
        super().__init__()
        if ca_file:
            self.verify = ca_file

    def request(self, method, url, **kwargs):
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, **kwargs)


@dataclass
class Sender:
    """How pushes leave: the VAPID contact (``mailto:`` or https, RFC 8292), the requests
    session (synchronous; its ``verify``: the system's authorities, or a PEM file of them)
    and the timeout."""

    contact: str
    http: requests.Session = field(default_factory=PushHttp)
    timeout: tuple[float, float] = TIMEOUT


@dataclass
class Tally:
    users: int = 0
    sent: int = 0
    gone: int = 0
    failed: int = 0
    nothing: int = 0

    def line(self) -> str:
        if not self.users:
            return "Nobody due"
        parts = [f"{self.sent} notification{'' if self.sent == 1 else 's'} sent"]
        parts.append(f"to {self.users} user{'' if self.users == 1 else 's'}")
        line = " ".join(parts)
        extra = [
            f"{self.nothing} with nothing due" if self.nothing else "",
            f"{self.gone} unsubscribed phone{'' if self.gone == 1 else 's'} removed"
            if self.gone
            else "",
            f"{self.failed} failed (tried again next run)" if self.failed else "",
        ]
        return "; ".join([line, *[e for e in extra if e]])


def push_one(key: Vapid, sender: Sender, row: PushSubscription, body: dict) -> int | None:
    """Send ``body`` to one subscription: None when the push service took it, else the
    status it answered (0: no answer)."""
    origin = urlsplit(row.endpoint)
    claims = {
        "sub": sender.contact,
        "aud": f"{origin.scheme}://{origin.netloc}",
        "exp": int(time.time()) + 3600,
    }
    try:
        webpush(
            {"endpoint": row.endpoint, "keys": {"p256dh": row.p256dh, "auth": row.auth}},
            data=json.dumps(body),
            vapid_private_key=key,
            vapid_claims=claims,
            ttl=TTL,
            headers={"Urgency": "normal", "Topic": "agenda"},
            timeout=sender.timeout,
            requests_session=sender.http,
        )
    except WebPushException as exc:
        return exc.response.status_code if exc.response is not None else 0
    except requests.RequestException:
        return 0
    return None


def send_due(session: Session, now: datetime, team: Team, sender: Sender, url: str) -> Tally:
    """Send each user due the morning push (``reminders.due``) one notification on every
    phone they subscribed; each user claimed first (``reminders.claim``), so two servers
    send once. Commits as it goes."""
    tally = Tally()
    key = None
    for due in reminders.due(session, KIND, now, team):
        user = due.user
        if not reminders.claim(session, user.id, due.day, KIND, now):
            continue
        tally.users += 1
        body = message(session, user, due.day, url)
        if body is None:
            tally.nothing += 1
            reminders.mark(session, user.id, due.day, KIND, "skipped", now, "Nothing due")
            continue
        key = key or vapid_key(session)
        phones = session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user.id)
            .order_by(PushSubscription.id)
        ).all()
        sent, gone, failures = 0, 0, []
        for row in phones:
            status = push_one(key, sender, row, body)
            if status is None:
                sent += 1
                session.execute(
                    update(PushSubscription)
                    .where(PushSubscription.id == row.id)
                    .values(last_sent_at=now)
                )
            elif status in GONE:
                gone += 1
                session.execute(delete(PushSubscription).where(PushSubscription.id == row.id))
            else:
                failures.append(f"answered {status}" if status else "did not answer")
        tally.sent += sent
        tally.gone += gone
        if sent:
            status, line = "sent", f"{body['title']} on {sent} phone{'' if sent == 1 else 's'}"
        elif failures:
            status, line = "failed", f"Push service {', '.join(failures)}"
            tally.failed += 1
        else:
            status, line = "skipped", "Every phone had unsubscribed"
        # The subscription changes and the mark go in one commit.
        reminders.mark(session, user.id, due.day, KIND, status, now, line)
    return tally


def contact(session: Session, configured: str | None, mail_from: str | None) -> str:
    """The VAPID ``sub`` (RFC 8292): who a push service writes to about this server —
    QUICKCRM_PUSH_CONTACT, else the mail sender, else the first admin's address."""
    if configured:
        return (
            configured if configured.startswith(("mailto:", "https:")) else f"mailto:{configured}"
        )
    address = None
    if mail_from:
        address = mail_from.rsplit("<", 1)[-1].rstrip(">").strip() or None
    if address is None:
        address = session.scalar(
            select(User.email)
            .where(User.role == "admin", User.active.is_(True))
            .order_by(User.id)
            .limit(1)
        )
    return f"mailto:{address or 'admin@localhost'}"
