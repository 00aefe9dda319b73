"""Fixtures shared by every layer: a real migrated database (SQLite file, or PostgreSQL
when QUICKCRM_TEST_DATABASE_URL points at one), the app, a client, signed-in users."""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from dataclasses import replace

import pytest
from flask import has_app_context
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from quickcrm import ROOT, create_app, migrate
from quickcrm.config import TestConfig
from quickcrm.db import make_engine
from quickcrm.domain.leads import list_leads
from quickcrm.domain.stages import ensure_default_lost_reasons, ensure_default_stages
from quickcrm.models import Base
from tests import factories
from tests.factories import PASSWORD
from tests.mailserver import SENDER, running_smtp


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A database migrated to the latest revision, once per test run."""
    url = os.environ.get("QUICKCRM_TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'quickcrm-test.sqlite3'}"
    )
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def shared_app(database_url, tmp_path_factory):
    """One app for the run: building one costs more than most tests (Werkzeug compiles a
    URL builder per route), and nothing of a request outlives it but the database."""
    app = create_app(config_for(database_url), instance_path=str(tmp_path_factory.mktemp("app")))
    yield app
    app.extensions["quickcrm.engine"].dispose()


@pytest.fixture
def app(request, database_url, tmp_path):
    """The shared app with its configuration as the test found it, everything the test
    wrote inside one transaction rolled back after it (``rolled_back``).

    A test marked ``commits`` — its writes must reach other connections: threads, the
    backup's own connection, a command's engine — really commits, and the tables it wrote
    to are emptied after it; one marked ``fresh_app`` (it adds routes) gets an app of its
    own, emptied after it too."""
    if request.node.get_closest_marker("fresh_app"):
        fresh = create_app(config_for(database_url), instance_path=str(tmp_path))
        yield fresh
        empty_database(fresh.extensions["quickcrm.engine"])
        fresh.extensions["quickcrm.engine"].dispose()
        return
    shared_app = request.getfixturevalue("shared_app")
    config = dict(shared_app.config)
    if request.node.get_closest_marker("commits"):
        yield shared_app
        empty_database(shared_app.extensions["quickcrm.engine"])
    else:
        with rolled_back(shared_app, request.getfixturevalue("savepoint_engine")):
            yield shared_app
    shared_app.config.clear()
    shared_app.config.update(config)


@pytest.fixture(scope="session")
def savepoint_engine(database_url):
    """The engine of the tests' rolled-back transactions. Not the app's: pysqlite's
    transactions are changed for SAVEPOINTs, and the app's engine keeps its own for the
    tests whose connections compete (SQLite answers a read turned write "locked")."""
    engine = make_engine(database_url)
    savepoints_work(engine)
    yield engine
    engine.dispose()


def savepoints_work(engine) -> None:
    """pysqlite opens transactions by itself and would break SAVEPOINTs: let SQLAlchemy
    emit BEGIN (the recipe of SQLAlchemy's SQLite dialect documentation)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")


@contextmanager
def rolled_back(app, engine):
    """Every session of ``app`` — the requests' and the test's ``db`` — on one connection
    of ``engine`` whose transaction is rolled back at the end: a session's commit only
    releases a SAVEPOINT (SQLAlchemy's "joining a session into an external transaction"
    recipe)."""
    real = app.extensions["quickcrm.sessionmaker"]
    with engine.connect() as connection:
        outer = connection.begin()
        app.extensions["quickcrm.sessionmaker"] = JoinedSessions(connection)
        try:
            yield
        finally:
            app.extensions["quickcrm.sessionmaker"] = real
            outer.rollback()


class JoinedSessions:
    """Makes sessions on one connection, each transaction of theirs a SAVEPOINT.

    SAVEPOINTs nest: a request's would sit inside whatever SAVEPOINT the test's own
    session still holds from its last read, and the test's ``db.rollback()`` (to read
    afresh) would then undo the request. So before a session is made, the sessions made
    outside a request that hold only what they read end their transaction — as the test's
    session would have, for its reads, on a connection of its own."""

    def __init__(self, connection):
        self.make = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        self.tests: list[Session] = []

    def __call__(self) -> Session:
        for session in reversed(self.tests):
            idle = not (session.new or session.dirty or session.deleted)
            if session.in_transaction() and idle:
                session.commit()
        session = self.make()
        if not has_app_context():
            self.tests.append(session)
        return session


def config_for(database_url: str) -> dict:
    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    return {**config, "DATABASE_URL": database_url}


def empty_database(engine, attempts: int = 5) -> None:
    """Remove every row, then put back what the migrations seed (the default stages and
    lost reasons), so each test starts alike.

    Only the tables a test wrote to are emptied (one query finds them), with DELETE: on
    PostgreSQL a TRUNCATE of every table cost half a second a test. Their id sequences
    start again at 1, as after a fresh migration.

    On PostgreSQL a request the browser sent just before the test ended may still be
    reading: the DELETE can deadlock with it, and PostgreSQL then aborts one of the two.
    Or it may still be writing: a row it commits after the probe below (a capture the page
    was syncing) makes a DELETE of the rows it refers to fail. The request finishes either
    way, so emptying is simply tried again, and the next probe sees its row.
    """
    tables = list(reversed(Base.metadata.sorted_tables))
    probe = " UNION ALL ".join(
        f'SELECT {i} FROM (SELECT 1 FROM "{table.name}" LIMIT 1) AS t{i}'
        for i, table in enumerate(tables)
    )
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                written = [tables[i] for (i,) in conn.execute(text(probe))]
                for table in sorted(written, key=tables.index):
                    conn.execute(text(f'DELETE FROM "{table.name}"'))
                if engine.dialect.name == "postgresql":
                    for table in written:
                        _restart_ids(conn, table)
            break
        except (OperationalError, IntegrityError) as error:
            late = "deadlock" in str(error) or "foreign key" in str(error).lower()
            if not late or attempt == attempts - 1:
                raise
    with Session(engine) as session:
        ensure_default_stages(session)
        ensure_default_lost_reasons(session)
        session.commit()


def _restart_ids(conn, table) -> None:
    if "id" in table.columns:
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, 'id'), 1, false)"),
            {"table": f'"{table.name}"'},
        )


@pytest.fixture
def db(app):
    """A session of the test's own on the test database, for arranging and checking data
    (no app context is kept pushed: each request gets its own, as in production)."""
    with app.extensions["quickcrm.sessionmaker"]() as session:
        yield session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(db):
    """``factories.user`` on the test's session (``make_user(email, role, name)``)."""

    def make(email: str = "rep@example.com", role: str = "rep", name: str | None = None):
        return factories.user(db, email, role, name)

    return make


@pytest.fixture
def owner(make_user):
    """A rep who owns what a test makes (an API token's leads)."""
    return make_user("owner@example.com", "rep", "Olive Owner")


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a page hands out, read as a browser would read it."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email: str = "rep@example.com", password: str = PASSWORD, remember=False):
        data = {"email": email, "password": password, "csrf_token": csrf_token(self.client)}
        if remember:
            data["remember"] = "on"
        return self.client.post("/login", data=data)

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": csrf_token(self.client, "/")})


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def rep(make_user, auth):
    """A signed-in rep."""
    user = make_user("rep@example.com", "rep", "Rita Rep")
    auth.login("rep@example.com")
    return user


@pytest.fixture
def sign_in_as(make_user, auth):
    """Sign in a fresh user of ``role`` (email ``<role>@example.com``) and return them."""

    def sign_in(role: str = "rep", email: str | None = None, name: str | None = None):
        email = email or f"{role}@example.com"
        user = make_user(email, role, name or f"{role.capitalize()} User")
        auth.login(email)
        return user

    return sign_in


@pytest.fixture
def coordinator(sign_in_as):
    """A signed-in coordinator."""
    return sign_in_as("coordinator", name="Cora Coordinator")


@pytest.fixture
def admin(sign_in_as):
    """A signed-in admin."""
    return sign_in_as("admin", name="Ada Admin")


# --- scripts/test sets QUICKCRM_REQUIRE_BROWSER: browser tests may not be skipped there ---


def pytest_sessionfinish(session, exitstatus):
    if not os.environ.get("QUICKCRM_REQUIRE_BROWSER"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return

    def browser_reports(outcome: str) -> list:
        return [r for r in reporter.stats.get(outcome, []) if "tests/e2e/" in r.nodeid]

    skipped = browser_reports("skipped")
    ran = browser_reports("passed") + browser_reports("failed")
    # A run with no arguments is the whole suite: its browser tests must have run.
    whole_suite = not session.config.invocation_params.args
    if skipped or (whole_suite and not ran):
        reporter.write_line(
            f"Browser tests were skipped ({len(skipped)}) or did not run ({len(ran)} ran): "
            "this run does not count.",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def every_page(session, query, viewer, today) -> list[int]:
    """The ids of the leads list ``query`` shows ``viewer``, following its Next page cursor
    to the end."""
    seen, after = [], ""
    while True:
        page = list_leads(session, replace(query, after=after), viewer, today=today)
        seen += [lead.id for lead in page.leads]
        after = page.next_after
        if after is None:
            return seen


@pytest.fixture
def restore_target(database_url, tmp_path):
    """The URL of a second database, migrated and empty, of the same kind as the test
    database (a SQLite file, or a PostgreSQL database made for the test): where a backup of
    the test database is restored."""
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite":
        engine.dispose()
        url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    else:
        name = f"{engine.url.database}_restore"
        admin = engine.execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = engine.url.set(database=name).render_as_string(hide_password=False)
    target = make_engine(url)
    migrate.upgrade(target)
    target.dispose()
    yield url
    if engine.dialect.name == "postgresql":
        with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


# --- Mail: a real SMTP server on 127.0.0.1 (aiosmtpd, tests/mailserver.py) ---


@pytest.fixture
def smtp_server():
    """An SMTP server on 127.0.0.1 and a free port (``.hostname``, ``.port``, ``.url()``)
    keeping what it receives in ``.messages`` (envelope and parsed message); stopped after
    the test. ``smtp_server.handler.refuse_recipients = True`` makes it answer 550."""
    with running_smtp() as server:
        yield server
        # Mail the app sent on threads of its own is finished before the server stops (a
        # conversation cut by the stop would leave the server's socket to the collector).
        for thread in threading.enumerate():
            if thread.name == "quickcrm-mail":
                thread.join(timeout=15)


@pytest.fixture
def mail_app(app, smtp_server):
    """The app sending its mail to ``smtp_server`` (the ``app`` fixture puts its
    configuration back after the test)."""
    app.config.update(MAIL_URL=smtp_server.url(), MAIL_FROM=SENDER, MAIL_TIMEOUT=5)
    return app


@pytest.fixture(scope="session", autouse=True)
def static_files_as_edited():
    """WhiteNoise prefers a static file's .gz/.br copy: copies left by scripts/run or
    scripts/serve (the HTTPS tests run it, and it compresses the working tree's files, as
    for a team) would hide an edit made since from the browser tests. None before the run,
    none after it."""

    def remove_copies():
        for pattern in ("*.gz", "*.br"):
            for copy in (ROOT / "static").rglob(pattern):
                copy.unlink(missing_ok=True)

    remove_copies()
    yield
    remove_copies()


# What the OCR model reads on a card, with its known slips (words run together, a title
# glued, email and website on one line): the ``reads`` fixture's answer.
CARD_LINES = [
    ("BRIGHTWAVETECHNOLOGIESLTD", 40), ("Jane Doe", 60), ("Headof Sales", 30),
    ("Tel +44 20 7946 0958", 28), ("jane.doe@brightwave.co.ukwww.brightwave.co.uk", 28),
]  # fmt: skip


@pytest.fixture
def reads(monkeypatch):
    """The OCR process replaced: it answers CARD_LINES (or raises, when told to with
    ``reads.fail = True``); ``reads.got`` lists the photos it was sent."""
    from quickcrm.services import ocr

    got = []

    def read_lines(photo, **_):
        got.append(photo)
        if getattr(read_lines, "fail", False):
            raise ocr.CardUnreadable(ocr.UNREADABLE)
        return CARD_LINES

    monkeypatch.setattr(ocr, "read_lines", read_lines)
    read_lines.got = got
    return read_lines
