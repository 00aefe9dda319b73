"""Reminder emails (issue 27): the morning list and the coordinator's digest through a real
SMTP conversation (aiosmtpd on 127.0.0.1, tests/mailserver.py), parsed as a mail app reads
them; who gets what on whose clock (a frozen clock, two zones, a DST morning); exactly one
a day with two app instances and a server killed mid-send; a mail server down; the
one-click stop link; Account → Reminders."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from sqlalchemy import update

from quickcrm import create_app
from quickcrm.domain import meeting, reminder_settings, reminders
from quickcrm.models import Activity, ReminderSent, ScheduledJob, TeamSettings, User
from quickcrm.services import reminder_emails
from quickcrm.services import scheduler as jobs
from tests import factories
from tests.conftest import PASSWORD, Auth, config_for, csrf_token
from tests.mailserver import SENDER, free_port, running_smtp

PUBLIC = "https://crm.example.test"
# Monday 7 December 2026, 07:30 in London (GMT): 02:30 in New York.
MONDAY = date(2026, 12, 7)
LONDON_MORNING = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
NEW_YORK_MORNING = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)
LINK = re.compile(r'href="([^"]+)"')


@pytest.fixture
def mailing(mail_app, smtp_server):
    """The app sending to the test's SMTP server, known at its public address, with a
    team in London."""
    mail_app.config["PUBLIC_URL"] = PUBLIC
    return mail_app


@pytest.fixture
def team(db):
    db.add(TeamSettings(id=1, time_zone="Europe/London", locale="en-GB", week_start=0))
    db.commit()


def run(app, db, now: datetime) -> str:
    """One run of the job's function at ``now`` (the clock frozen there), its line; a run
    that failed in part gives its line too."""
    with time_machine.travel(now, tick=False):
        try:
            return reminder_emails.send_due(app, db, now)
        except reminder_emails.schedule.Failed as failed:
            return f"FAILED {failed}"


def received(server, to: str | None = None):
    return [r.message for r in server.messages if to is None or r.rcpt_tos == [to]]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def task(db, user, due_on, text="Call back", **fields) -> Activity:
    return factories.task(db, user, due_on, text, **fields)


@pytest.fixture
def rita(db, make_user, team):
    return make_user("rita@example.com", "rep", "Rita Rep")


# --- What a morning list holds ---------------------------------------------------------


def test_a_morning_list_arrives_with_its_items_links_and_stop_headers(
    mailing, smtp_server, db, rita
):
    lena = factories.lead(
        db, rita, "Lena Lead", company_name="Acme", phone="+44 20 7946 0000",
        note="\n  Met at the Leeds fair, wants a quote\nSecond line stays out",
    )  # fmt: skip
    acme = factories.company(db, "Acme Ltd")
    with time_machine.travel(LONDON_MORNING - timedelta(days=10), tick=False):
        late = task(db, rita, MONDAY - timedelta(days=7), "Send the brochure", lead=lena)
        today = task(db, rita, MONDAY, "Call back", lead=lena)
        tomorrow = task(db, rita, MONDAY + timedelta(days=1), "Visit", company=acme)
        task(db, rita, MONDAY + timedelta(days=2), "Not yet", lead=lena)
        task(db, rita, MONDAY, "Done already", lead=lena, done=True)

    assert run(mailing, db, LONDON_MORNING) == "Sent 1 morning list"

    [message] = received(smtp_server, "rita@example.com")
    assert message["Subject"] == "Monday 7 December: 1 overdue, 1 today, 1 tomorrow"
    assert message["From"] == SENDER
    assert message["To"] == "Rita Rep <rita@example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = text_of(message), html_of(message)
    assert "OVERDUE (1)" in text and "TODAY, MONDAY 7 DECEMBER (1)" in text
    assert "TOMORROW, TUESDAY 8 DECEMBER (1)" in text
    assert "Send the brochure — Lena Lead (Acme) (due Mon 30 Nov)" in text
    assert "“Met at the Leeds fair, wants a quote”" in text
    assert "Second line" not in text and "Not yet" not in text and "Done already" not in text
    assert f"{PUBLIC}/leads/{lena.id}" in text
    assert f"{PUBLIC}/companies/{acme.id}" in text
    assert f"Your agenda: {PUBLIC}/agenda" in text
    # The HTML says the same, every link absolute and to this app.
    assert "Met at the Leeds fair, wants a quote" in html and "Visit" in html
    links = LINK.findall(html)
    assert f"{PUBLIC}/leads/{lena.id}" in links and f"{PUBLIC}/companies/{acme.id}" in links
    assert 'href="tel:+442079460000">+44 20 7946 0000</a>' in html  # tap to call
    assert all(link.startswith(PUBLIC + "/") for link in links if not link.startswith("tel:"))
    # RFC 8058: the stop link in the header, POSTable in one click, and in the body.
    stop = re.fullmatch(r"<(https://crm\.example\.test/reminders/stop/[\w.-]+)>",
                        message["List-Unsubscribe"]).group(1)  # fmt: skip
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Stop these emails: {stop}" in text
    assert stop in links and ">Stop these emails</a>" in html
    assert f"{PUBLIC}/account/reminders" in text
    sent = db.get(ReminderSent, (rita.id, MONDAY, "email"))
    assert (sent.status, sent.attempts) == ("sent", 1)
    assert {late.id, today.id, tomorrow.id}  # made before the run


def test_dates_follow_the_teams_format(mailing, smtp_server, db, rita):
    db.get(TeamSettings, 1).locale = "de-DE"
    db.commit()
    task(db, rita, MONDAY - timedelta(days=1), "Anrufen", lead=factories.lead(db, rita, "Lena"))

    run(mailing, db, LONDON_MORNING)

    [message] = received(smtp_server)
    assert message["Subject"] == "Mo., 7. Dezember: 1 overdue"
    assert "(due So., 6. Dez.)" in text_of(message)


def test_nothing_due_sends_nothing_and_the_day_is_decided(mailing, smtp_server, db, rita):
    task(db, rita, MONDAY + timedelta(days=3), "Later", lead=factories.lead(db, rita, "Lena"))

    assert run(mailing, db, LONDON_MORNING) == "1 with nothing to send"
    assert run(mailing, db, LONDON_MORNING + timedelta(minutes=5)) == "Nothing due"

    assert smtp_server.messages == []
    assert db.get(ReminderSent, (rita.id, MONDAY, "email")).status == "skipped"


def test_a_reps_email_holds_only_their_own_items(mailing, smtp_server, db, rita, make_user):
    otto = make_user("otto@example.com", "rep", "Otto Other")
    boss = make_user("cora@example.com", "coordinator", "Cora Coordinator")
    task(db, rita, MONDAY, "Rita's call", lead=factories.lead(db, rita, "Rita's Lead"))
    task(db, otto, MONDAY, "Otto's call", lead=factories.lead(db, otto, "Otto's Lead"))
    # On Rita's lead, but Otto's to do: Otto's list, not Rita's.
    task(db, otto, MONDAY, "Otto on Rita's", lead=factories.lead(db, rita, "Shared Lead"))

    assert run(mailing, db, LONDON_MORNING) == "Sent 2 morning lists; 1 with nothing to send"

    [to_rita] = received(smtp_server, "rita@example.com")
    [to_otto] = received(smtp_server, "otto@example.com")
    assert received(smtp_server, boss.email) == []  # nothing of hers: no email
    rita_text = text_of(to_rita) + html_of(to_rita)
    assert "Rita's call" in rita_text and "Otto" not in rita_text and "Shared" not in rita_text
    otto_text = text_of(to_otto)
    assert "Otto's call" in otto_text and "Otto on Rita's" in otto_text
    assert "Rita's call" not in otto_text


def test_a_deactivated_user_or_one_who_turned_it_off_gets_nothing(
    mailing, smtp_server, db, rita, make_user
):
    quiet = make_user("quiet@example.com", "rep", "Quiet Rep")
    task(db, rita, MONDAY, "Call", lead=factories.lead(db, rita, "Lena"))
    task(db, quiet, MONDAY, "Call", lead=factories.lead(db, quiet, "Lena"))
    rita.active = False
    quiet.reminder_email = False
    db.commit()

    assert run(mailing, db, LONDON_MORNING) == "Nothing due"
    assert smtp_server.messages == []


# --- On whose clock --------------------------------------------------------------------


def test_each_user_gets_it_at_their_time_on_their_own_clock(
    mailing, smtp_server, db, rita, make_user
):
    nick = make_user("nick@example.com", "rep", "Nick New York")
    nick.time_zone = "America/New_York"
    rita.reminder_at = time(8, 0)
    db.commit()
    task(db, rita, MONDAY, "London call", lead=factories.lead(db, rita, "Lena"))
    # Nick's Monday starts five hours later: Sunday's item is overdue on his Monday.
    task(db, nick, MONDAY, "New York call", lead=factories.lead(db, nick, "Ned"))

    assert run(mailing, db, LONDON_MORNING) == "Nothing due"  # Rita: 08:00; Nick: 02:30
    assert run(mailing, db, LONDON_MORNING + timedelta(minutes=30)) == "Sent 1 morning list"
    assert [m["To"] for m in received(smtp_server)] == ["Rita Rep <rita@example.com>"]
    assert run(mailing, db, NEW_YORK_MORNING - timedelta(minutes=5)) == "Nothing due"
    assert run(mailing, db, NEW_YORK_MORNING) == "Sent 1 morning list"

    to_nick = received(smtp_server, "nick@example.com")[0]
    assert to_nick["Subject"] == "Monday 7 December: 1 today"
    assert db.get(ReminderSent, (nick.id, MONDAY, "email")).status == "sent"
    # Later the same day, nobody gets a second one.
    assert run(mailing, db, NEW_YORK_MORNING + timedelta(hours=1)) == "Nothing due"
    assert len(smtp_server.messages) == 2


def test_on_working_days_only_unless_the_user_chose_more(mailing, smtp_server, db, rita):
    sunday = datetime(2026, 12, 6, 7, 30, tzinfo=UTC)
    task(db, rita, date(2026, 12, 6), "Call", lead=factories.lead(db, rita, "Lena"))

    assert run(mailing, db, sunday) == "Nothing due"
    rita.reminder_days = "1234567"
    db.commit()
    assert run(mailing, db, sunday + timedelta(minutes=5)) == "Sent 1 morning list"


def test_the_morning_the_clocks_go_forward(mailing, smtp_server, db, rita, make_user):
    """Sunday 28 March 2027 in London: 01:00 GMT becomes 02:00 BST. Rita's 07:30 is 06:30
    UTC that day; Sam's 01:30 never happens on the clock, so his goes at 02:00 BST."""
    sam = make_user("sam@example.com", "rep", "Sam Small-Hours")
    day = date(2027, 3, 28)
    rita.reminder_days = sam.reminder_days = "1234567"
    sam.reminder_at = time(1, 30)
    db.commit()
    task(db, rita, day, "Sunday call", lead=factories.lead(db, rita, "Lena"))
    task(db, sam, day, "Night call", lead=factories.lead(db, sam, "Ned"))

    assert run(mailing, db, datetime(2027, 3, 28, 0, 55, tzinfo=UTC)) == "Nothing due"
    assert run(mailing, db, datetime(2027, 3, 28, 1, 0, tzinfo=UTC)) == "Sent 1 morning list"
    assert received(smtp_server)[0]["To"] == "Sam Small-Hours <sam@example.com>"
    assert run(mailing, db, datetime(2027, 3, 28, 6, 25, tzinfo=UTC)) == "Nothing due"
    assert run(mailing, db, datetime(2027, 3, 28, 6, 30, tzinfo=UTC)) == "Sent 1 morning list"
    assert received(smtp_server, "rita@example.com")[0]["Subject"] == "Sunday 28 March: 1 today"


def test_the_night_the_clocks_go_back_sends_once(mailing, smtp_server, db, rita):
    """Sunday 25 October 2026 in London: 01:30 happens twice (BST, then GMT)."""
    rita.reminder_days, rita.reminder_at = "1234567", time(1, 30)
    db.commit()
    task(db, rita, date(2026, 10, 25), "Call", lead=factories.lead(db, rita, "Lena"))

    assert run(mailing, db, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == "Sent 1 morning list"
    assert run(mailing, db, datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == "Nothing due"
    assert len(smtp_server.messages) == 1


# --- Exactly once ----------------------------------------------------------------------


@pytest.mark.commits  # two app instances: each its own engine and connections
def test_two_app_instances_running_the_job_at_the_same_moment_send_once(
    app, db, smtp_server, tmp_path, make_user, team
):
    users = [make_user(f"rep{n}@example.com", "rep", f"Rep {n}") for n in range(3)]
    for user in users:
        task(db, user, MONDAY, "Call", lead=factories.lead(db, user, f"Lead of {user.name}"))
    settings = {"MAIL_URL": smtp_server.url(), "MAIL_FROM": SENDER, "PUBLIC_URL": PUBLIC}
    app.config.update(settings)
    other = create_app(config_for(app.config["DATABASE_URL"]) | settings, str(tmp_path))
    try:
        # Both servers know the job (its row) before its slot.
        jobs.run_due(app, now=LONDON_MORNING - timedelta(minutes=5), only=reminder_emails.NAME)
        with time_machine.travel(LONDON_MORNING, tick=False):
            first = jobs.run_due(app, now=LONDON_MORNING, only=reminder_emails.NAME)
            second = jobs.run_due(other, now=LONDON_MORNING, only=reminder_emails.NAME)
            # The job's lease ended early (a server killed): the per-user rows still hold.
            with other.extensions["quickcrm.sessionmaker"]() as session:
                session.execute(update(ScheduledJob).values(next_run_at=LONDON_MORNING))
                session.commit()
                direct = reminder_emails.send_due(other, session, LONDON_MORNING)
    finally:
        other.extensions["quickcrm.engine"].dispose()

    assert [o.ran for o in first] == [True] and first[0].message == "Sent 3 morning lists"
    assert [o.ran for o in second] == [False]
    assert direct == "Nothing due"
    assert sorted(r.rcpt_tos[0] for r in smtp_server.messages) == [u.email for u in users]


def test_a_sending_row_of_a_killed_server_is_sent_again_only_after_it_is_stale(
    mailing, smtp_server, db, rita
):
    task(db, rita, MONDAY, "Call", lead=factories.lead(db, rita, "Lena"))
    # A server claimed Rita's list at 07:30 and was killed before it recorded the sending.
    assert reminders.claim(db, rita.id, MONDAY, "email", LONDON_MORNING)

    assert run(mailing, db, LONDON_MORNING + timedelta(minutes=5)) == "Nothing due"
    assert run(mailing, db, LONDON_MORNING + reminders.STALE - timedelta(minutes=1)) == (
        "Nothing due"
    )
    assert smtp_server.messages == []
    assert run(mailing, db, LONDON_MORNING + reminders.STALE) == "Sent 1 morning list"
    assert len(smtp_server.messages) == 1
    sent = db.get(ReminderSent, (rita.id, MONDAY, "email"))
    assert (sent.status, sent.attempts) == ("sent", 2)


# --- When mail fails -------------------------------------------------------------------


@pytest.fixture
def admin_client(app, make_user):
    make_user("ada@example.com", "admin", "Ada Admin")
    client = app.test_client()
    Auth(client).login("ada@example.com", PASSWORD)
    return client


def system_page(client) -> str:
    page = client.get("/admin/system")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_a_mail_server_that_is_down_fails_the_run_and_the_next_run_sends(
    app, db, rita, make_user, admin_client
):
    otto = make_user("otto@example.com", "rep", "Otto Other")
    for user in (rita, otto):
        task(db, user, MONDAY, "Call", lead=factories.lead(db, user, "Lena"))
    app.config.update(
        MAIL_URL=f"smtp://127.0.0.1:{free_port()}", MAIL_FROM=SENDER, PUBLIC_URL=PUBLIC
    )
    jobs.run_due(app, now=LONDON_MORNING - timedelta(minutes=5), only=reminder_emails.NAME)

    with time_machine.travel(LONDON_MORNING, tick=False):
        [outcome] = jobs.run_due(app, now=LONDON_MORNING, only=reminder_emails.NAME)
        page = system_page(admin_client)
    assert outcome.result == "failed"
    assert outcome.message.startswith(
        "1 failed, tried again at the next run: ConnectionRefusedError"
    )
    # Rita's failed; Otto and Ada (due too, with nothing to do) wait for the next run.
    assert outcome.message.endswith("; 2 wait for the mail server")
    assert "Reminder emails" in page and "1 failed, tried again at the next run" in page
    assert "Reminders not sent" in page
    assert re.search(r"<strong>Rita Rep</strong> · morning list of 7 Dec 2026 · 1 try", page)
    assert db.get(ReminderSent, (rita.id, MONDAY, "email")).status == "failed"
    assert db.get(ReminderSent, (otto.id, MONDAY, "email")) is None
    for path in ("/account/reminders", "/"):  # nothing else minds
        assert admin_client.get(path).status_code == 200

    later = LONDON_MORNING + timedelta(minutes=5)
    with running_smtp() as server, time_machine.travel(later, tick=False):
        app.config["MAIL_URL"] = server.url()
        [outcome] = jobs.run_due(app, now=later, only=reminder_emails.NAME)
        assert sorted(r.rcpt_tos[0] for r in server.messages) == [
            "otto@example.com",
            "rita@example.com",
        ]
    assert (outcome.result, outcome.message) == (
        "ok",
        "Sent 2 morning lists; 1 with nothing to send",
    )
    db.expire_all()
    assert db.get(ReminderSent, (rita.id, MONDAY, "email")).attempts == 2
    page = system_page(admin_client)
    assert "Sent 2 morning lists" in page and "Reminders not sent" not in page


def test_a_refused_recipient_does_not_hold_up_the_others(mailing, smtp_server, db, rita):
    task(db, rita, MONDAY, "Call", lead=factories.lead(db, rita, "Lena"))
    smtp_server.handler.refuse_recipients = True

    line = run(mailing, db, LONDON_MORNING)

    assert line.startswith("FAILED 1 failed, tried again at the next run: SMTPRecipientsRefused")
    assert "wait for the mail server" not in line


def test_without_mail_or_a_public_address_nothing_is_sent_and_the_line_says_why(
    app, db, rita, smtp_server
):
    task(db, rita, MONDAY, "Call", lead=factories.lead(db, rita, "Lena"))
    assert run(app, db, LONDON_MORNING).startswith("Mail is not set up")
    app.config.update(MAIL_URL=smtp_server.url(), MAIL_FROM=SENDER, PUBLIC_URL=None)
    assert "public address is unknown" in run(app, db, LONDON_MORNING)
    assert smtp_server.messages == []
    assert db.get(ReminderSent, (rita.id, MONDAY, "email")) is None  # tried when it is set


@pytest.mark.parametrize(
    ("config", "url"),
    [
        ({"PUBLIC_URL": "https://crm.example.com/"}, "https://crm.example.com"),
        ({"PUBLIC_URL": "https://example.com/crm"}, "https://example.com/crm"),
        ({"PUBLIC_URL": "not a url", "BASE_URL": "http://10.0.0.5:8000"}, "http://10.0.0.5:8000"),
        ({"SERVER_NAME": "crm.example.org"}, "https://crm.example.org"),
        ({}, None),
    ],
)
def test_the_public_address_links_start_with(config, url):
    assert reminder_emails.public_url(config) == url


def test_links_under_a_path_keep_it(app):
    links = reminder_emails.Links(app, "https://example.com/crm")
    assert links("leads.detail", lead_id=3) == "https://example.com/crm/leads/3"


# --- The coordinator's digest ----------------------------------------------------------


def test_the_monday_digest_tells_a_coordinator_what_changed_since_the_meeting(
    mailing, smtp_server, db, rita, make_user
):
    cora = make_user("cora@example.com", "coordinator", "Cora Coordinator")
    cora.digest = True
    rita.digest = True  # a rep's setting does nothing: the digest is a coordinator's
    rita.reminder_email = cora.reminder_email = False
    db.commit()
    acme = factories.company(db, "Acme")
    deal = factories.opportunity(db, acme, "Acme deal", "5000", "New")
    with time_machine.travel(LONDON_MORNING - timedelta(days=8), tick=False):
        factories.lead(db, rita, "Before the meeting", source="Fair")
    with time_machine.travel(LONDON_MORNING - timedelta(days=7), tick=False):
        meeting.take_snapshot(db, cora)
        db.commit()
    with time_machine.travel(LONDON_MORNING - timedelta(days=3), tick=False):
        factories.lead(db, rita, "Fair one", source="Fair")
        factories.lead(db, rita, "Fair two", source="Fair")
        hot = factories.lead(db, rita, "Hot Hannah", source="Website", temperature="hot")
        busy = factories.lead(db, rita, "Hot but planned", temperature="hot")
        task(db, rita, MONDAY + timedelta(days=2), "Call", lead=busy)
    deal.stage = factories.stage(db, "Proposal")
    db.commit()

    assert run(mailing, db, LONDON_MORNING) == "Sent 1 digest"

    [message] = received(smtp_server)
    assert message["To"] == "Cora Coordinator <cora@example.com>"
    # (A subject this long is folded before its first word: Python reads that space.)
    assert message["Subject"].strip() == (
        "Since Mon 30 Nov: 4 new leads, 1 hot without a next action, 1 deal moved"
    )
    text, html = text_of(message), html_of(message)
    assert "Since the last meeting (Mon 30 Nov):" in text
    assert "- Rita Rep · Fair: 2" in text and "- Rita Rep · Website: 1" in text
    assert "- Rita Rep · no source: 1" in text and "Before the meeting" not in text
    assert f"- Hot Hannah: {PUBLIC}/leads/{hot.id}" in text and "Hot but planned" not in text
    assert "- Acme deal (Acme): New → Proposal" in text
    assert f"The meeting page: {PUBLIC}/meeting" in text
    assert f"{PUBLIC}/meeting" in LINK.findall(html)
    assert f"{PUBLIC}/opportunities/{deal.id}" in LINK.findall(html)
    stop = message["List-Unsubscribe"].strip("<>")
    assert f"Stop these emails: {stop}" in text
    # Tuesday: no digest.
    assert run(mailing, db, LONDON_MORNING + timedelta(days=1)) == "Nothing due"


def test_no_digest_when_nothing_changed(mailing, smtp_server, db, make_user, team):
    cora = make_user("cora@example.com", "coordinator", "Cora Coordinator")
    cora.digest, cora.reminder_email = True, False
    db.commit()
    assert run(mailing, db, LONDON_MORNING) == "1 with nothing to send"
    assert smtp_server.messages == []


# --- The stop link ---------------------------------------------------------------------


def stop_path(app, user, kind="email") -> str:
    return "/reminders/stop/" + reminder_settings.stop_token(app.config["SECRET_KEY"], user, kind)


def test_the_stop_link_shows_a_button_and_its_get_changes_nothing(app, client, db, rita):
    path = stop_path(app, rita)
    for _ in range(2):  # a mail scanner opens it, then the rep
        page = client.get(path)
        assert page.status_code == 200
        assert page.headers["Cache-Control"] == "no-store"
        assert "Stop these emails</button>" in page.text and "r…@example.com" in page.text
    db.expire_all()
    assert db.get(User, rita.id).reminder_email is True


def test_the_stop_button_turns_off_that_email_alone_without_signing_in(app, client, db, rita):
    rita.digest = True
    db.commit()
    before = {c.name: getattr(rita, c.name) for c in User.__table__.columns}

    page = client.post(stop_path(app, rita))  # no session, no CSRF token

    assert page.status_code == 200
    assert "Your morning list emails are stopped." in page.text
    db.expire_all()
    after = {c.name: getattr(db.get(User, rita.id), c.name) for c in User.__table__.columns}
    assert after == before | {"reminder_email": False, "updated_at": after["updated_at"]}
    assert client.get("/agenda").status_code == 302  # and it signed nobody in


def test_the_mail_providers_one_click_post_works(app, client, db, rita, make_user):
    cora = make_user("cora@example.com", "coordinator", "Cora Coordinator")
    cora.digest = True
    db.commit()
    answer = client.post(
        stop_path(app, cora, "digest"),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 200
    db.expire_all()
    assert db.get(User, cora.id).digest is False
    assert db.get(User, cora.id).reminder_email is True


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "WzEsImVtYWlsIl0.tampered",
        "x" * 300,
        "WzEsImVtYWlsIl0",  # the payload without its signature
    ],
)
def test_a_stop_link_that_is_not_ours_is_not_found(app, client, db, rita, token):
    for method in ("GET", "POST"):
        answer = client.open(f"/reminders/stop/{token}", method=method)
        assert answer.status_code == 404
        assert "This stop link is not one QuickCRM made" in answer.text
    db.expire_all()
    assert db.get(User, rita.id).reminder_email is True


def test_a_token_signed_for_another_purpose_or_of_a_gone_user_is_not_found(app, client, db):
    from itsdangerous import URLSafeSerializer

    key = app.config["SECRET_KEY"]
    other_salt = URLSafeSerializer(key, salt="something else").dumps([1, "email"])
    nobody = URLSafeSerializer(key, salt=reminder_settings.STOP_SALT).dumps([999999, "email"])
    odd_kind = URLSafeSerializer(key, salt=reminder_settings.STOP_SALT).dumps([1, "push"])
    for token in (other_salt, nobody, odd_kind):
        assert client.post(f"/reminders/stop/{token}").status_code == 404


# --- Account → Reminders ---------------------------------------------------------------


def test_the_settings_save_and_show(client, db, rep):
    page = client.get("/account/reminders")
    assert page.status_code == 200
    text = page.text
    assert 'name="reminder_email" type="checkbox"' in text and 'value="07:30"' in text
    assert "Mail is not set up on this server: ask your admin." in text
    assert "Monday digest" not in text  # a rep's page has no digest
    assert re.findall(r'name="day" type="checkbox" value="(\d)" checked', text) == list("12345")
    assert client.get("/account").text.count(">Reminders</a>") == 1

    token = csrf_token(client, "/account/reminders")
    saved = client.post(
        "/account/reminders",
        data={"csrf_token": token, "reminder_at": "06:45", "day": ["1", "3", "6"],
              "digest": "on"},
    )  # fmt: skip
    assert saved.status_code == 303
    db.expire_all()
    user = db.get(User, rep.id)
    assert (user.reminder_email, user.reminder_at, user.reminder_days, user.digest) == (
        False,
        time(6, 45),
        "136",
        False,  # a rep cannot ask for the digest
    )


def test_a_coordinator_turns_the_digest_on(client, db, coordinator):
    token = csrf_token(client, "/account/reminders")
    assert "Monday digest" in client.get("/account/reminders").text
    data = {"csrf_token": token, "reminder_email": "on", "reminder_at": "07:30", "day": "1",
            "digest": "on"}  # fmt: skip
    assert client.post("/account/reminders", data=data).status_code == 303
    db.expire_all()
    assert db.get(User, coordinator.id).digest is True


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reminder_email": "on", "reminder_at": "25:00", "day": "1"}, "reminder_at",
         "Enter a time like 07:30."),
        ({"reminder_email": "on", "reminder_at": "07:30"}, "days",
         "Choose at least one day, or turn the morning list off."),
        ({"reminder_at": "07:30", "day": ["1", "8"]}, "days",
         "Choose days of the week from the list."),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_next_to_their_field(client, db, rep, data, field, message):
    token = csrf_token(client, "/account/reminders")
    for headers in ({}, {"HX-Request": "true"}):
        answer = client.post(
            "/account/reminders", data=data | {"csrf_token": token}, headers=headers
        )
        assert answer.status_code == 422
        assert f'id="{field}-error">{message}</p>' in answer.text
    db.expire_all()
    assert db.get(User, rep.id).reminder_at == time(7, 30)


def test_a_nul_byte_is_refused_before_the_form(client, db, rep):
    token = csrf_token(client, "/account/reminders")
    data = {"csrf_token": token, "reminder_at": "06:00\x00", "day": "1"}
    assert client.post("/account/reminders", data=data).status_code == 400
    db.expire_all()
    assert db.get(User, rep.id).reminder_at == time(7, 30)


def test_the_settings_need_the_csrf_token(client, db, rep):
    answer = client.post("/account/reminders", data={"reminder_at": "06:00", "day": "1"})
    assert answer.status_code == 400
    db.expire_all()
    assert db.get(User, rep.id).reminder_at == time(7, 30)


def test_with_mail_set_up_the_page_does_not_warn(mailing, client, rep):
    assert "Mail is not set up" not in client.get("/account/reminders").text


def test_the_days_follow_the_teams_week(client, db, rep):
    db.add(TeamSettings(id=1, time_zone="America/New_York", locale="en-US", week_start=6))
    db.commit()
    text = client.get("/account/reminders").text
    assert re.findall(r'name="day" type="checkbox" value="(\d)"', text) == list("7123456")
    assert "On your clock (America/New York)" in text


def test_a_job_left_over_needs_no_link_of_a_request(mailing, smtp_server, db, rita):
    """The job runs on the scheduler's thread, outside any request: its links come from
    the public address, never from a request's Host header."""
    task(db, rita, MONDAY, "Call", lead=factories.lead(db, rita, "Lena"))
    run(mailing, db, LONDON_MORNING)
    links = LINK.findall(html_of(received(smtp_server)[0]))
    hosts = {urlsplit(link).netloc for link in links if not link.startswith("tel:")}
    assert hosts == {"crm.example.test"}
