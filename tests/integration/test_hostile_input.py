"""Hostile and clumsy input, sent to every route of the URL map: never a 5xx, never a
half-written record (docs/security.md, "Bad input").

The routes come from ``app.url_map`` and the field names from the templates' ``name=``
attributes, so a new route or a new field is tried without anyone listing it here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import event, select, text

from quickcrm.models import Base, Lead, Opportunity
from tests import factories
from tests.conftest import csrf_token

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

# One sharp value per class of bad input.
SHARP = {
    "id past PostgreSQL's integer": "2147483648",
    "id past SQLite's integer": "9223372036854775808",
    "5,000 digits": "9" * 5000,
    "a digit int() refuses": "²",
    "negative": "-1",
    "zero": "0",
    "not a number": "NaN",
    "infinite": "1e999999",
    "NUL byte": "Ann\x00Smith",
    "grows under normalisation": "ﷺ" * 150,
    "10,000 characters": "x" * 10_000,
    "first day": "0001-01-01",
    "last day": "9999-12-31",
    "first moment far east": "0001-01-01T00:00:00+14:00",
    "last moment far west": "9999-12-31T23:59:59-14:00",
    "no such day": "2026-02-30",
    "last month": "9999-12",
    "money past the column": "999999999999.999",
    "script": '"><script>alert(1)</script>',
    "javascript link": "javascript://%0aalert(1)",
    "off-site path": "/\t/evil.example/",
}

# Raw JSON bodies a JSON route must refuse with a 4xx.
RAW_JSON = {
    "lone surrogate": b'{"uuid": "8f1c7f62-2d53-4a56-9b8e-2f8d0f3f2a11", "name": "\\ud800"}',
    "nested 2,000 levels": b'{"name": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    "not UTF-8": b'{"name": "\xff\xfe"}',
    "not an object": b"[1, 2, 3]",
}

# Sent nowhere: signing out would end the session the rest of the test uses.
SKIPPED_ENDPOINTS = {"auth.logout", "static"}
# Tables whose rows change by design on refused requests (rate-limit counters).
COUNTERS = {"feed_hit", "rate_limit", "login_attempt"}


def field_names() -> list[str]:
    """Every input name the templates use, plus what the JSON capture takes."""
    names = set()
    for path in TEMPLATES.rglob("*.html"):
        names.update(re.findall(r'name="([a-z_]+)"', path.read_text()))
    names.update({"uuid", "captured_at", "latitude", "longitude", "user", "after", "at"})
    names.discard("csrf_token")
    return sorted(names)


FIELDS = field_names()


@pytest.fixture
def world(db, admin, make_user):
    """One record of each kind, and the ids to put in each path parameter."""
    rep = make_user("other@example.com", "rep", "Otto Other")
    path = factories.one_of_each(db, rep, admin, admin, import_status="mapping")
    # System → Run now: a job no server has (running the real ones is their own tests').
    return path | {"job_name": "no-such-job"}


def rules(app, methods: set[str]):
    found = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED_ENDPOINTS and rule.methods & methods
    ]
    return sorted(found, key=lambda rule: rule.rule)


def url_for_rule(rule, values: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def snapshot(db) -> str:
    """A digest of every row of every table (the counters excepted)."""
    db.rollback()  # a fresh read: SQLite would go on reading its old snapshot
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        if table.name in COUNTERS:
            continue
        rows = db.execute(select(table).order_by(*table.primary_key.columns)).all()
        digest.update(repr((table.name, rows)).encode())
    return digest.hexdigest()


READS = ("SELECT", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "SET ", "SHOW")


class Tables:
    """Whether the app changed any table since the last look: the digest of every table,
    read again only after the app committed a transaction that sent something other than a
    read (reading every table after each of thousands of requests was most of this file's
    time)."""

    def __init__(self, app, db):
        self.db = db
        self.engine = app.extensions["quickcrm.engine"]
        self.wrote = 0
        self.listeners = [
            ("after_cursor_execute", self._executed),
            ("commit", self._committed),
            ("rollback", self._rolled_back),
        ]
        for name, listener in self.listeners:
            event.listen(self.engine, name, listener)
        self.digest = snapshot(db)

    def _executed(self, conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(READS):
            conn.info["wrote"] = True

    def _committed(self, conn) -> None:
        if conn.info.pop("wrote", False):
            self.wrote += 1

    def _rolled_back(self, conn) -> None:
        conn.info.pop("wrote", None)

    def changed(self) -> bool:
        if not self.wrote:
            return False
        self.wrote = 0
        before, self.digest = self.digest, snapshot(self.db)
        return before != self.digest

    def close(self) -> None:
        for name, listener in self.listeners:
            event.remove(self.engine, name, listener)


@pytest.fixture
def tables(app, db, world):
    watch = Tables(app, db)
    yield watch
    watch.close()


class Failures(list):
    """What went wrong across every request of a test, reported together at the end."""

    def send(self, what: str, request, *args, **kwargs):
        """``request(*args, **kwargs)``, noting a 5xx or an exception; ``None`` if failed."""
        try:
            response = request(*args, **kwargs)
        except Exception as exc:  # the test app propagates exceptions: note, go on
            self.append(f"{what}: {type(exc).__name__}: {str(exc)[:300]}")
            return None
        if response.status_code >= 500:
            self.append(f"{what}: {response.status_code}")
            return None
        return response

    def check(self) -> None:
        assert not self, f"{len(self)} failures:\n" + "\n".join(self[:40])


def post_routes(app):
    return rules(app, {"POST"})


def test_every_state_changing_route_is_tried(app):
    # The list below is read from the URL map: this only guards against an empty map.
    assert len(post_routes(app)) >= 20


@pytest.mark.parametrize("sharp", list(SHARP), ids=list(SHARP))
def test_sharp_values_in_every_field_of_every_post_route(app, client, tables, world, sharp):
    token = csrf_token(client, "/")
    value = SHARP[sharp]
    failures = Failures()
    for rule in post_routes(app):
        url = url_for_rule(rule, world)
        form = {name: value for name in FIELDS} | {"csrf_token": token}
        for headers in ({}, {"HX-Request": "true"}):
            what = f"POST {url} {headers or ''}"
            response = failures.send(what, client.post, url, data=form, headers=headers)
            refused = response is not None and 400 <= response.status_code < 500
            if tables.changed() and refused:
                failures.append(f"{what}: refused with {response.status_code} but written")
        body = {name: value for name in FIELDS}
        failures.send(
            f"POST {url} JSON", client.post, url, json=body, headers={"X-CSRFToken": token}
        )
        tables.changed()
    failures.check()


@pytest.mark.commits  # it downloads the exports, which stream from a session of their own
@pytest.mark.parametrize("sharp", list(SHARP), ids=list(SHARP))
def test_sharp_values_in_every_query_parameter_of_every_page(app, client, world, sharp):
    query = {name: SHARP[sharp] for name in FIELDS}
    failures = Failures()
    for rule in rules(app, {"GET"}):
        url = url_for_rule(rule, world)
        for headers in ({}, {"HX-Request": "true"}):
            failures.send(
                f"GET {url} {headers or ''}", client.get, url, query_string=query, headers=headers
            )
    failures.check()


@pytest.mark.parametrize("ident", ["0", "2147483648", "9223372036854775808", "9" * 400, "²"])
def test_ids_out_of_range_in_paths_are_not_found(app, client, world, ident):
    token = csrf_token(client, "/")
    failures = Failures()
    for rule in rules(app, {"GET", "POST"}):
        ids = [arg for arg in rule.arguments if arg.endswith("_id")]
        if not ids:
            continue
        url = url_for_rule(rule, world | {name: ident for name in ids})
        for method in {"GET", "POST"} & rule.methods:
            data = {"csrf_token": token} if method == "POST" else None
            response = failures.send(f"{method} {url}", client.open, url, method=method, data=data)
            if response is not None and response.status_code != 404:
                failures.append(f"{method} {url}: {response.status_code}, not 404")
    failures.check()


@pytest.mark.parametrize("body", list(RAW_JSON), ids=list(RAW_JSON))
def test_broken_json_bodies_are_refused(app, client, tables, world, body):
    token = csrf_token(client, "/")
    headers = {"X-CSRFToken": token, "Content-Type": "application/json"}
    failures = Failures()
    for rule in post_routes(app):
        url = url_for_rule(rule, world)
        response = failures.send(
            f"POST {url}", client.post, url, data=RAW_JSON[body], headers=headers
        )
        refused = response is not None and 400 <= response.status_code < 500
        if tables.changed() and refused:
            failures.append(f"POST {url}: refused with {response.status_code} but written")
    failures.check()


def test_a_capture_with_broken_json_gets_a_json_message(client, rep):
    token = csrf_token(client, "/")
    for body in RAW_JSON.values():
        response = client.post(
            "/captures",
            data=body,
            headers={"X-CSRFToken": token, "Content-Type": "application/json"},
        )
        assert response.status_code in (400, 422), body[:40]
        assert response.is_json and (response.json.get("error") or response.json.get("errors"))


def test_a_body_over_the_limit_is_refused_with_413(app, client, db, world):
    token = csrf_token(client, "/")
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    failures = Failures()
    for rule in post_routes(app):
        url = url_for_rule(rule, world)
        response = failures.send(
            f"POST {url}", client.post, url, data={"csrf_token": token, "note": big}
        )
        if response is not None and response.status_code != 413:
            failures.append(f"POST {url}: {response.status_code}, not 413")
    failures.check()
    response = client.post(
        "/captures",
        data=json.dumps({"name": big}),
        headers={"X-CSRFToken": token, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "1 MB" in response.json["error"]


def test_nul_bytes_in_a_capture_get_a_message_and_store_nothing(client, rep, db):
    token = csrf_token(client, "/")
    response = client.post("/", data={"name": "Ann\x00", "csrf_token": token})
    assert response.status_code in (400, 422)
    assert "character" in response.get_data(as_text=True)
    response = client.post(
        "/", data={"name": "Ann\x00", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400  # htmx shows the header's message (static/js/pages.js)
    assert "NUL" in unquote(response.headers["X-QuickCRM-Message"])
    assert db.scalar(select(Lead.id)) is None


def test_money_past_the_column_is_refused_with_a_message(client, db, world):
    token = csrf_token(client, "/")
    opportunity = db.get(Opportunity, world["opportunity_id"])
    response = client.post(
        f"/opportunities/{opportunity.id}",
        data={
            "csrf_token": token,
            "title": "Big",
            "value": "999999999999.999",
            "stage_id": str(opportunity.stage_id),
            "probability": "10",
        },
    )
    assert response.status_code == 422
    assert "999,999,999,999.99" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Opportunity, opportunity.id).value == Decimal("1000")


@pytest.mark.fresh_app
def test_an_error_after_a_database_failure_still_answers(app, client, make_user, auth):
    """The 500 page itself must not fail when the session's transaction is broken, and a
    JSON client gets JSON."""

    @app.get("/_broken")
    def broken():
        from quickcrm.db import get_session

        session = get_session()
        with contextlib.suppress(Exception):  # the transaction is now aborted on PostgreSQL
            session.execute(text("SELECT * FROM no_such_table"))
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    make_user()
    auth.login()
    response = client.get("/_broken")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    response = client.get("/_broken", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.is_json and response.json["error"]


@pytest.mark.fresh_app
def test_a_refusal_or_conflict_no_view_catches_is_answered_once(app, client, make_user, auth):
    """web/errors.py answers what a view lets through: 422 (or the refusal's own status,
    with Retry-After) and 409, as JSON to a JSON client and as the error page otherwise,
    with nothing the request wrote kept."""
    from quickcrm.db import get_session
    from quickcrm.domain import validation as v
    from quickcrm.models import Lead, User

    @app.post("/_refuse/<kind>")
    def refuse(kind: str):
        get_session().add(Lead(name="Half written", owner_id=get_session().scalar(select(User.id))))
        get_session().flush()
        if kind == "field":
            raise v.Refused({"name": "Enter a name."})
        if kind == "throttled":
            raise v.Refused("Too many.", status=429, retry_after=12)
        raise v.Conflict("Someone else converted it first.")

    app.config["WTF_CSRF_ENABLED"] = False
    make_user()
    auth.login()
    as_json = {"Accept": "application/json"}
    answer = client.post("/_refuse/field", headers=as_json)
    assert (answer.status_code, answer.json) == (422, {"errors": {"name": "Enter a name."}})
    answer = client.post("/_refuse/throttled", headers=as_json)
    assert (answer.status_code, answer.json) == (429, {"error": "Too many."})
    assert answer.headers["Retry-After"] == "12"
    answer = client.post("/_refuse/conflict", headers=as_json)
    assert (answer.status_code, answer.json) == (409, {"error": "Someone else converted it first."})
    page = client.post("/_refuse/conflict")
    assert page.status_code == 409 and "Someone else converted it first." in page.text
    assert unquote(page.headers["X-QuickCRM-Message"]) == "Someone else converted it first."
    with app.app_context():
        assert get_session().scalars(select(Lead)).all() == []
