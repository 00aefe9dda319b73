"""Web push (quickcrm/domain/push.py, docs/web-push.md): the morning list reaches each
phone a user subscribed, read back by a push service on 127.0.0.1 that checks the VAPID
signature and decrypts the payload with the phone's own keys (tests/pushservice.py).
Times are frozen; users live in two zones, across the clocks changing."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from quickcrm import create_app
from quickcrm.domain import push, reminders
from quickcrm.domain import team as teams
from quickcrm.domain import users as user_rules
from quickcrm.models import AppKey, PushSubscription, ReminderSent, User
from quickcrm.services import push_reminders, scheduler
from tests import factories
from tests.conftest import config_for, csrf_token
from tests.pushservice import PushService, b64url

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
# Monday 2 March 2026: London on GMT (UTC+0), New York on EST (UTC-5).
MONDAY = date(2026, 3, 2)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


@pytest.fixture
def service(tmp_path):
    running = PushService(tmp_path)
    yield running
    running.close()


def sender_for(service: PushService) -> push.Sender:
    http = push.PushHttp(str(service.cert))
    return push.Sender(contact="mailto:admin@example.com", http=http)


def subscribe(db, user: User, service: PushService, phone: str) -> None:
    subscription = push.read_subscription(service.phone(phone), ("127.0.0.1",))
    push.subscribe(db, user, subscription, "Chrome on Android")
    db.commit()


def send(db, service: PushService, now: datetime, zone: str = LONDON) -> push.Tally:
    team = teams.load(db, teams.Defaults(time_zone=zone))
    service.app_key = push.application_server_key(push.vapid_key(db))
    with time_machine.travel(now, tick=False):
        tally = push.send_due(db, now, team, sender_for(service), "/agenda")
    assert not service.problems
    return tally


def follow_up(db, user: User, name: str, due_on: date) -> None:
    lead = factories.lead(db, user, name)
    factories.task(db, user, due_on, "Call back", lead=lead)


def test_a_rep_gets_one_notification_of_their_own_follow_ups(db, make_user, service):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    otto = make_user("otto@example.com", "rep", "Otto Other")
    for name in ("Ann Lee", "Bob Stone", "Cy Young"):
        follow_up(db, rita, name, MONDAY)
    follow_up(db, rita, "Next Week", MONDAY + timedelta(days=3))
    follow_up(db, otto, "Otto's Secret", MONDAY)
    subscribe(db, rita, service, "rita-phone")

    assert send(db, service, utc(MONDAY, 7, 29)).users == 0  # before her 07:30
    tally = send(db, service, utc(MONDAY, 7, 30))

    [received] = service.received
    assert received.phone == "rita-phone"
    assert received.message["title"] == "3 follow-ups today"
    assert received.message["body"] == "Ann Lee, Bob Stone, Cy Young"
    assert received.message["url"] == "/agenda"
    assert "Otto" not in str(received.message) and "Next Week" not in str(received.message)
    assert received.headers["ttl"] == str(push.TTL)
    assert received.headers["urgency"] == "normal"
    assert received.claims["sub"] == "mailto:admin@example.com"
    assert tally.line() == "1 notification sent to 1 user"
    # The same minute again, and later that morning: nothing more that day.
    send(db, service, utc(MONDAY, 7, 30))
    send(db, service, utc(MONDAY, 9, 0))
    assert len(service.received) == 1
    row = db.scalars(select(ReminderSent).where(ReminderSent.kind == "push")).one()
    assert (row.status, row.message) == ("sent", "3 follow-ups today on 1 phone")
    assert db.scalars(select(PushSubscription)).one().last_sent_at == utc(MONDAY, 7, 30)


def test_overdue_follow_ups_count_as_today_and_are_named(db, make_user, service):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    follow_up(db, rita, "Late Larry", MONDAY - timedelta(days=2))
    subscribe(db, rita, service, "phone")
    send(db, service, utc(MONDAY, 8))
    assert service.received[0].message["title"] == "1 follow-up today"
    assert service.received[0].message["body"] == "Late Larry (1 overdue)"


def test_many_follow_ups_name_the_first_three_and_say_how_many_more(db, make_user, service):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    follow_up(db, rita, "Old One", MONDAY - timedelta(days=1))
    for name in ("Ann", "Bob", "Cy", "Di"):
        follow_up(db, rita, name, MONDAY)
    subscribe(db, rita, service, "phone")
    send(db, service, utc(MONDAY, 8))
    message = service.received[0].message
    assert message["title"] == "5 follow-ups today"
    assert message["body"] == "Old One, Ann, Bob and 2 more (1 overdue)"


def test_nothing_due_sends_nothing_and_is_decided_for_the_day(db, make_user, service):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    subscribe(db, rita, service, "phone")
    tally = send(db, service, utc(MONDAY, 8))
    assert service.received == []
    assert tally.line() == "0 notifications sent to 1 user; 1 with nothing due"
    row = db.scalars(select(ReminderSent)).one()
    assert (row.status, row.message) == ("skipped", "Nothing due")


def test_every_phone_of_the_user_gets_it_and_a_gone_one_is_removed(db, make_user, service):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    follow_up(db, rita, "Ann Lee", MONDAY)
    subscribe(db, rita, service, "phone")
    subscribe(db, rita, service, "tablet")
    subscribe(db, rita, service, "old-phone")
    service.phones["old-phone"].answer = 410
    tally = send(db, service, utc(MONDAY, 8))
    assert sorted(p.phone for p in service.received) == ["phone", "tablet"]
    assert service.refused == ["old-phone"]
    endpoints = db.scalars(select(PushSubscription.endpoint)).all()
    assert sorted(e.rsplit("/", 1)[1] for e in endpoints) == ["phone", "tablet"]
    assert tally.line() == "2 notifications sent to 1 user; 1 unsubscribed phone removed"


def test_a_404_removes_the_phone_and_with_no_phone_left_nothing_is_retried(db, make_user, service):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    follow_up(db, rita, "Ann Lee", MONDAY)
    subscribe(db, rita, service, "phone")
    service.phones["phone"].answer = 404
    send(db, service, utc(MONDAY, 8))
    assert db.scalars(select(PushSubscription)).all() == []
    assert db.scalars(select(ReminderSent.status)).one() == "skipped"


def test_a_failing_push_service_is_tried_again_at_the_next_run(db, make_user, service):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    follow_up(db, rita, "Ann Lee", MONDAY)
    subscribe(db, rita, service, "phone")
    service.phones["phone"].answer = 503
    tally = send(db, service, utc(MONDAY, 8))
    assert tally.failed == 1 and service.received == []
    row = db.scalars(select(ReminderSent)).one()
    assert (row.status, row.message) == ("failed", "Push service answered 503")
    assert db.scalars(select(PushSubscription)).one()  # kept: it may come back
    service.phones["phone"].answer = 201
    send(db, service, utc(MONDAY, 8, 1))
    assert len(service.received) == 1
    db.refresh(row)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_push_service_that_does_not_answer_is_a_failure_not_a_hang(db, make_user):
    """A push service that takes the connection and never answers: the timeout ends it."""
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    follow_up(db, rita, "Ann Lee", MONDAY)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    data = {
        "endpoint": f"https://127.0.0.1:{port}/push/x",
        "keys": {"p256dh": b64url(point), "auth": b64url(b"\x01" * 16)},
    }
    push.subscribe(db, rita, push.read_subscription(data, ("127.0.0.1",)), None)
    db.commit()
    team = teams.load(db, teams.Defaults(time_zone=LONDON))
    sender = push.Sender(contact="mailto:admin@example.com", timeout=(1.0, 1.0))
    try:
        tally = push.send_due(db, utc(MONDAY, 8), team, sender, "/agenda")
    finally:
        silent.close()
    assert tally.failed == 1
    assert db.scalars(select(ReminderSent.message)).one() == "Push service did not answer"


def test_a_deactivated_user_gets_nothing_and_loses_their_phones(db, make_user, service):
    admin = make_user("admin@example.com", "admin", "Ada Admin")
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    follow_up(db, rita, "Ann Lee", MONDAY)
    subscribe(db, rita, service, "phone")
    rita.active = False  # as a database edited by hand would have it: still nothing
    db.commit()
    assert send(db, service, utc(MONDAY, 8)).users == 0
    rita.active = True
    db.commit()
    user_rules.deactivate(db, rita, by=admin)
    db.commit()
    assert db.scalars(select(PushSubscription)).all() == []
    assert service.received == []


def test_each_user_at_their_own_time_in_their_own_zone_across_the_clocks_changing(
    db, make_user, service
):
    """Lena in London (the team's zone), Nick in New York, both at 07:30. The US clocks go
    forward on 8 March 2026, London's on 29 March: for three weeks the gap is 4 hours."""
    lena = make_user("lena@example.com", "rep", "Lena London")
    nick = make_user("nick@example.com", "rep", "Nick NewYork")
    nick.time_zone = NEW_YORK
    db.commit()
    for day in (MONDAY, date(2026, 3, 9), date(2026, 3, 30)):
        follow_up(db, lena, f"Lena's {day}", day)
        follow_up(db, nick, f"Nick's {day}", day)
    subscribe(db, lena, service, "lena")
    subscribe(db, nick, service, "nick")

    def who_at(moment: datetime) -> list[str]:
        before = len(service.received)
        send(db, service, moment)
        return [p.phone for p in service.received[before:]]

    # 2 March: London on GMT, New York on EST (UTC-5).
    assert who_at(utc(MONDAY, 7, 30)) == ["lena"]
    assert who_at(utc(MONDAY, 12, 29)) == []
    assert who_at(utc(MONDAY, 12, 30)) == ["nick"]
    # 9 March: New York on EDT (UTC-4), London still on GMT.
    monday = date(2026, 3, 9)
    assert who_at(utc(monday, 7, 30)) == ["lena"]
    assert who_at(utc(monday, 11, 29)) == []
    assert who_at(utc(monday, 11, 30)) == ["nick"]
    # 30 March: London on BST (UTC+1) too.
    monday = date(2026, 3, 30)
    assert who_at(utc(monday, 6, 29)) == []
    assert who_at(utc(monday, 6, 30)) == ["lena"]
    assert who_at(utc(monday, 11, 30)) == ["nick"]
    for pushed in service.received:
        assert pushed.message["body"].startswith("Lena" if pushed.phone == "lena" else "Nick")


def test_the_weekend_and_a_late_server_send_nothing(db, make_user, service):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    saturday = MONDAY - timedelta(days=2)
    follow_up(db, rita, "Ann Lee", saturday)
    subscribe(db, rita, service, "phone")
    assert send(db, service, utc(saturday, 8)).users == 0  # reminder days: Mon–Fri
    # A server down all Monday morning does not send the morning list at tea time.
    assert send(db, service, utc(MONDAY, 7, 30) + reminders.LATE).users == 0
    assert service.received == []


def test_the_vapid_key_is_made_once_and_kept(db):
    first = push.application_server_key(push.vapid_key(db))
    again = push.application_server_key(push.vapid_key(db))
    assert first == again
    assert len(push._key(first, push.P256DH_BYTES, "p256dh")) == len(first)
    assert db.get(AppKey, push.VAPID_KEY).value.startswith("-----BEGIN PRIVATE KEY-----")


# --- Two app servers at the same moment ------------------------------------------------


@pytest.fixture
def second_app(app, database_url, tmp_path):
    other = create_app(config_for(database_url), instance_path=str(tmp_path / "second"))
    yield other
    other.extensions["quickcrm.engine"].dispose()


@pytest.mark.commits
def test_two_servers_running_the_job_at_the_same_moment_send_once(
    app, second_app, db, make_user, service
):
    rita = make_user("rita@example.com", "rep", "Rita Rep")
    otto = make_user("otto@example.com", "rep", "Otto Other")
    for user in (rita, otto):
        follow_up(db, user, "Ann Lee", MONDAY)
    subscribe(db, rita, service, "rita")
    subscribe(db, otto, service, "otto-phone")
    subscribe(db, otto, service, "otto-tablet")
    service.app_key = push.application_server_key(push.vapid_key(db))
    now = utc(MONDAY, 7, 31)
    for server in (app, second_app):
        server.config.update(PUSH_CA_FILE=str(service.cert), TIME_ZONE=LONDON)
    # The servers have been checking all morning: the job is due once a minute.
    scheduler.run_due(app, now=now - timedelta(minutes=2), only=push_reminders.NAME)
    start = threading.Barrier(2)
    outcomes = []

    def run(server):
        start.wait()
        with time_machine.travel(now, tick=False):
            outcomes.extend(scheduler.run_due(server, now=now, only=push_reminders.NAME))

    threads = [threading.Thread(target=run, args=(s,)) for s in (app, second_app)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not service.problems
    assert sorted(p.phone for p in service.received) == ["otto-phone", "otto-tablet", "rita"]
    ran = [o for o in outcomes if o.ran]
    assert [o.message for o in ran] == ["3 notifications sent to 2 users"]


@pytest.mark.commits
def test_two_servers_sending_at_once_without_the_jobs_lease_still_send_once(
    app, second_app, db, make_user, service
):
    """The job's lease aside (a run that outlived it beside the next), each user's claim
    for the day is what keeps a second notification away."""
    users = [make_user(f"rep{i}@example.com", "rep", f"Rep {i}") for i in range(6)]
    for user in users:
        follow_up(db, user, "Ann Lee", MONDAY)
        subscribe(db, user, service, f"phone-{user.id}")
    service.app_key = push.application_server_key(push.vapid_key(db))
    now = utc(MONDAY, 7, 31)
    start = threading.Barrier(2)
    tallies = []

    def run(server):
        with server.extensions["quickcrm.sessionmaker"]() as session:
            team = teams.load(session, teams.Defaults(time_zone=LONDON))
            start.wait()
            tallies.append(push.send_due(session, now, team, sender_for(service), "/agenda"))

    with time_machine.travel(now, tick=False):
        threads = [threading.Thread(target=run, args=(s,)) for s in (app, second_app)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not service.problems
    assert sorted(p.phone for p in service.received) == sorted(f"phone-{u.id}" for u in users)
    assert sum(t.sent for t in tallies) == len(users)


@pytest.mark.commits
def test_two_servers_making_the_key_at_once_keep_one(app, second_app):
    start = threading.Barrier(2)
    keys = []

    def make(server):
        with server.extensions["quickcrm.sessionmaker"]() as session:
            start.wait()
            keys.append(push.application_server_key(push.vapid_key(session)))

    threads = [threading.Thread(target=make, args=(s,)) for s in (app, second_app)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 2 and keys[0] == keys[1]


def test_the_job_is_on_the_system_page_every_minute(app, client, admin):
    [job] = [j for j in scheduler.jobs(app) if j.name == push_reminders.NAME]
    assert (job.title, job.when.describe()) == ("Push reminders", "every minute")
    page = client.get("/admin/system").get_data(as_text=True)
    assert "Push reminders" in page


# --- The routes ------------------------------------------------------------------------


@pytest.fixture
def local_service(app, service):
    app.config["PUSH_SERVICES"] = "127.0.0.1"
    return service


def post_json(client, url: str, body, token: str | None):
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(url, json=body, headers=headers)


def test_the_key_is_the_application_server_key(client, rep, db):
    answer = client.get("/account/notifications/key")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    key = answer.json["key"]
    assert key == push.application_server_key(push.vapid_key(db))
    assert client.get("/account/notifications/key").json["key"] == key


def test_subscribing_keeps_the_phone_for_the_signed_in_user(client, rep, db, local_service):
    token = csrf_token(client, "/account/notifications")
    data = local_service.phone("phone")
    answer = post_json(client, "/account/notifications/subscribe", data, token)
    assert answer.status_code == 201
    row = db.scalars(select(PushSubscription)).one()
    assert (row.user_id, row.endpoint) == (rep.id, data["endpoint"])
    assert row.p256dh == data["keys"]["p256dh"] and row.auth == data["keys"]["auth"]
    # Again, with new keys: the one row, updated.
    data["keys"] = local_service.phone("phone")["keys"]
    assert post_json(client, "/account/notifications/subscribe", data, token).status_code == 201
    db.expire_all()
    assert db.scalars(select(PushSubscription)).one().auth == data["keys"]["auth"]


def test_a_phone_subscribed_again_by_someone_else_is_theirs(
    app, client, rep, db, make_user, local_service
):
    data = local_service.phone("shared")
    otto = make_user("otto@example.com", "rep", "Otto Other")
    push.subscribe(db, otto, push.read_subscription(data, ("127.0.0.1",)), None)
    db.commit()
    token = csrf_token(client, "/account/notifications")
    assert post_json(client, "/account/notifications/subscribe", data, token).status_code == 201
    db.expire_all()
    assert db.scalars(select(PushSubscription.user_id)).one() == rep.id


def test_unsubscribing_forgets_only_your_own_phone(client, rep, db, make_user, local_service):
    otto = make_user("otto@example.com", "rep", "Otto Other")
    mine, theirs = local_service.phone("mine"), local_service.phone("theirs")
    push.subscribe(db, rep, push.read_subscription(mine, ("127.0.0.1",)), None)
    push.subscribe(db, otto, push.read_subscription(theirs, ("127.0.0.1",)), None)
    db.commit()
    token = csrf_token(client, "/account/notifications")
    url = "/account/notifications/unsubscribe"
    answer = post_json(client, url, {"endpoint": theirs["endpoint"]}, token)
    assert answer.json == {"on": False, "removed": False}
    answer = post_json(client, url, {"endpoint": mine["endpoint"]}, token)
    assert answer.json == {"on": False, "removed": True}
    db.expire_all()
    assert db.scalars(select(PushSubscription.user_id)).all() == [otto.id]


def test_posts_without_the_csrf_token_are_refused(client, rep, db, local_service):
    data = local_service.phone("phone")
    answer = post_json(client, "/account/notifications/subscribe", data, None)
    assert answer.status_code == 400
    answer = post_json(client, "/account/notifications/unsubscribe", data, None)
    assert answer.status_code == 400
    assert db.scalars(select(PushSubscription)).all() == []


def _broken(service: PushService) -> dict[str, dict]:
    good = service.phone("good")
    keys = good["keys"]
    short = push.P256DH_BYTES - 1
    return {
        "http endpoint": good | {"endpoint": good["endpoint"].replace("https:", "http:")},
        "not a push service": good | {"endpoint": "https://intranet.example/admin"},
        "a push service's name inside another": good
        | {"endpoint": "https://fcm.googleapis.com.evil.example/x"},
        "credentials in the address": good
        | {"endpoint": good["endpoint"].replace("https://", "https://u:p@")},
        "port out of range": good | {"endpoint": "https://127.0.0.1:99999/push/good"},
        "control character": good | {"endpoint": good["endpoint"] + "\n"},
        "NUL": good | {"endpoint": good["endpoint"] + "\x00"},
        "endpoint too long": good | {"endpoint": good["endpoint"] + "/" + "x" * 1000},
        "no endpoint": {"keys": keys},
        "endpoint not text": good | {"endpoint": 7},
        "no keys": {"endpoint": good["endpoint"]},
        "keys not an object": good | {"keys": "x"},
        "p256dh not base64": good | {"keys": keys | {"p256dh": "!" * 87}},
        "p256dh too short": good | {"keys": keys | {"p256dh": keys["p256dh"][:-4]}},
        "p256dh compressed point": good | {"keys": keys | {"p256dh": "Aw" + keys["p256dh"][2:]}},
        "p256dh of the wrong size": good | {"keys": keys | {"p256dh": "B" + "A" * (short * 2)}},
        "auth of 17 bytes": good | {"keys": keys | {"auth": keys["auth"] + "AA"}},
        "auth not text": good | {"keys": keys | {"auth": 123}},
        "not an object": [good],
    }


def test_a_subscription_that_is_not_one_is_refused_and_nothing_kept(client, rep, db, local_service):
    token = csrf_token(client, "/account/notifications")
    for what, body in _broken(local_service).items():
        answer = post_json(client, "/account/notifications/subscribe", body, token)
        assert answer.status_code == 422, what
        assert answer.json["error"], what
    assert db.scalars(select(PushSubscription)).all() == []


def test_the_browsers_push_services_are_the_default(client, rep, db):
    token = csrf_token(client, "/account/notifications")
    for host in (
        "fcm.googleapis.com",
        "updates.push.services.mozilla.com",
        "web.push.apple.com",
        "wns2-bl2p.notify.windows.com",
    ):
        body = {
            "endpoint": f"https://{host}/push/abc",
            "keys": {"p256dh": b64url(b"\x04" + b"\x01" * 64), "auth": b64url(b"\x02" * 16)},
        }
        answer = post_json(client, "/account/notifications/subscribe", body, token)
        assert answer.status_code == 201, host
    body["endpoint"] = "https://127.0.0.1/push/abc"
    answer = post_json(client, "/account/notifications/subscribe", body, token)
    assert answer.status_code == 422
    assert "127.0.0.1" in answer.json["error"]


def test_the_contact_push_services_see(db, make_user):
    assert push.contact(db, "ops@example.com", None) == "mailto:ops@example.com"
    assert push.contact(db, "https://crm.example.com", None) == "https://crm.example.com"
    assert push.contact(db, None, "QuickCRM <crm@example.com>") == "mailto:crm@example.com"
    make_user("rita@example.com", "rep", "Rita Rep")
    make_user("ada@example.com", "admin", "Ada Admin")
    assert push.contact(db, None, None) == "mailto:ada@example.com"


def test_the_push_services_setting():
    assert push.services_from(None) == push.PUSH_SERVICES
    assert push.services_from(" Push.Example.com., ,127.0.0.1") == ("push.example.com", "127.0.0.1")


def test_the_page_shows_the_section_with_its_buttons(client, rep):
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "Notify me on this phone" in page and "Stop notifications on this phone" in page
    assert "07:30" in page
    assert "/account/notifications" in client.get("/account").get_data(as_text=True)
