"""The web-to-lead API (``POST /api/leads``) as a website or a webhook uses it, and the
admin's API tokens page and command (docs/api.md)."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from quickcrm.domain import api_tokens, users
from quickcrm.models import Activity, ApiRequest, ApiToken, Lead, utcnow
from tests import factories
from tests.conftest import PASSWORD, Auth, csrf_token

URL = "/api/leads"
SECRET_RE = re.compile(r'value="(qcrm_[A-Za-z0-9_-]{43})"')


@pytest.fixture
def secret(db, owner) -> str:
    secret = factories.api_token(db, owner, "Website", source="website")[1]
    return secret


def with_token(secret: str, **headers) -> dict:
    return {"Authorization": f"Bearer {secret}", **headers}


def leads(db) -> list[Lead]:
    db.expire_all()
    return list(db.scalars(select(Lead).order_by(Lead.id)))


def assert_no_cookie(response):
    assert "Set-Cookie" not in response.headers, response.headers.get("Set-Cookie")


# --- 201 ----------------------------------------------------------------------------------


def test_a_json_lead_is_stored_for_the_tokens_owner_with_its_source(client, db, owner, secret):
    due = (utcnow().date() + timedelta(days=2)).isoformat()
    response = client.post(
        URL,
        json={
            "name": "Ann Smith",
            "company": "Acme",
            "email": "ann@acme.example",
            "phone": "+44 20 7946 0000",
            "note": "Wants a demo.\nCall after 3pm.",
            "temperature": "warm",
            "next_action_on": due,
        },
        headers=with_token(secret),
    )
    assert response.status_code == 201
    (lead,) = leads(db)
    assert response.json == {"id": lead.id, "url": f"http://localhost/leads/{lead.id}"}
    assert response.headers["Location"] == response.json["url"]
    assert_no_cookie(response)
    assert (lead.name, lead.company_name, lead.email, lead.temperature) == (
        "Ann Smith", "Acme", "ann@acme.example", "warm",
    )  # fmt: skip
    assert (lead.owner_id, lead.source, lead.status) == (owner.id, "website", "open")
    assert lead.note == "Wants a demo.\nCall after 3pm."
    assert lead.next_action_on.isoformat() == due
    assert db.scalar(select(Activity.assignee_id).where(Activity.lead_id == lead.id)) == owner.id


def test_a_token_whose_owner_was_deactivated_is_refused_with_a_message(
    client, db, owner, secret, make_user
):
    admin = make_user("admin@example.com", "admin", "Ada Admin")
    users.deactivate(db, owner, by=admin)
    db.commit()
    response = client.post(URL, json={"name": "Ann Smith"}, headers=with_token(secret))
    assert response.status_code == 401
    assert "deactivated" in response.json["error"] and "new token" in response.json["error"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert leads(db) == []


def test_a_form_encoded_lead_is_stored_too(client, db, secret):
    response = client.post(
        URL, data={"name": "Bob Form", "company": "Globex"}, headers=with_token(secret)
    )
    assert response.status_code == 201
    assert_no_cookie(response)
    (lead,) = leads(db)
    assert (lead.name, lead.company_name) == ("Bob Form", "Globex")
    assert response.json["id"] == lead.id


def test_without_a_token_source_the_lead_keeps_the_one_it_was_sent_with(client, db, owner):
    _, secret = factories.api_token(db, owner, "Zapier")
    client.post(URL, json={"name": "Cy", "source": "Trade fair list"}, headers=with_token(secret))
    assert leads(db)[0].source == "Trade fair list"


def test_a_signed_in_browser_needs_the_token_and_gets_no_cookie(app, db, owner, secret):
    browser = app.test_client()
    Auth(browser).login(owner.email, PASSWORD, remember=True)
    response = browser.post(URL, data={"name": "No Token"})
    assert response.status_code == 401
    assert_no_cookie(response)
    response = browser.post(URL, data={"name": "With Token"}, headers=with_token(secret))
    assert response.status_code == 201
    assert_no_cookie(response)
    assert [lead.name for lead in leads(db)] == ["With Token"]


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer qcrm_nope", "Basic dXNlcjpwYXNz", "Bearer {secret}x"],
)
def test_no_valid_token_is_a_401_asking_for_a_bearer_token(client, db, secret, authorization):
    headers = (
        {} if authorization is None else {"Authorization": authorization.format(secret=secret)}
    )
    response = client.post(URL, json={"name": "Ann"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in response.json["error"]
    assert_no_cookie(response)
    assert leads(db) == []


def test_a_revoked_token_is_a_401(client, db, secret):
    token = db.scalars(select(ApiToken)).one()
    api_tokens.revoke(db, token)
    db.commit()
    response = client.post(URL, json={"name": "Ann"}, headers=with_token(secret))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert leads(db) == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name"}),
        ({"name": "   "}, {"name"}),
        ({"name": "Ann", "email": "ann at acme"}, {"email"}),
        ({"name": "Ann", "temperature": "boiling"}, {"temperature"}),
        ({"name": "Ann", "next_action_on": "2026-02-30"}, {"next_action_on"}),
        ({"name": "Ann", "next_action_on": "0001-01-01"}, {"next_action_on"}),
        ({"name": "Ann", "company": "c" * 201}, {"company"}),
        ({"name": "x" * 10_000, "phone": "12"}, {"name", "phone"}),
        ({"name": {"first": "Ann"}}, {"name"}),
    ],
)
def test_bad_fields_are_a_422_with_a_message_per_field(client, db, secret, body, fields):
    for send in ({"json": body}, {"data": body}):
        if "data" in send and any(not isinstance(value, str) for value in body.values()):
            continue
        response = client.post(URL, headers=with_token(secret), **send)
        assert response.status_code == 422, send
        assert set(response.json["errors"]) == fields
        assert all(response.json["errors"].values())
    assert leads(db) == []


def test_a_nul_byte_is_refused_with_a_json_message(client, db, secret):
    for send in ({"json": {"name": "Ann\x00"}}, {"data": {"name": "Ann\x00"}}):
        response = client.post(URL, headers=with_token(secret), **send)
        assert response.status_code in (400, 422)
        assert response.is_json
    assert leads(db) == []


@pytest.mark.parametrize(
    "body", [b'{"name": "Ann"', b"[1, 2]", b"null", b'{"name": "\xff"}', b'{"name": "\\ud800"}']
)
def test_unreadable_json_is_a_400(client, db, secret, body):
    headers = with_token(secret, **{"Content-Type": "application/json"})
    response = client.post(URL, data=body, headers=headers)
    assert response.status_code == 400
    assert "JSON" in response.json["error"]
    assert leads(db) == []


def test_a_body_neither_json_nor_a_form_is_a_415(client, db, secret):
    response = client.post(
        URL, data="name=Ann", headers=with_token(secret, **{"Content-Type": "text/plain"})
    )
    assert response.status_code == 415
    assert response.json["error"]


def test_a_body_over_1_mb_is_a_413_in_json(app, client, db, secret):
    big = "x" * app.config["MAX_CONTENT_LENGTH"]
    for send in ({"json": {"name": "Ann", "note": big}}, {"data": {"name": "Ann", "note": big}}):
        response = client.post(URL, headers=with_token(secret), **send)
        assert response.status_code == 413
        assert "1 MB" in response.json["error"]
    assert leads(db) == []


def test_past_the_tokens_rate_limit_is_a_429_with_retry_after(client, db, owner):
    _, secret = factories.api_token(db, owner, "Busy site", rate_limit=2)
    statuses = [
        client.post(URL, json={"name": f"Lead {n}"}, headers=with_token(secret)).status_code
        for n in range(2)
    ]
    assert statuses == [201, 201]
    response = client.post(URL, json={"name": "One too many"}, headers=with_token(secret))
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "2 requests a minute" in response.json["error"]
    assert [lead.name for lead in leads(db)] == ["Lead 0", "Lead 1"]
    # Another token has a count of its own.
    _, other = factories.api_token(db, owner, "Quiet site", rate_limit=2)
    assert client.post(URL, json={"name": "Other"}, headers=with_token(other)).status_code == 201


def test_the_apps_rate_limit_applies_to_tokens_without_their_own(app, client, db, secret):
    app.config["API_RATE_LIMIT"] = 1
    assert client.post(URL, json={"name": "A"}, headers=with_token(secret)).status_code == 201
    response = client.post(URL, json={"name": "B"}, headers=with_token(secret))
    assert response.status_code == 429 and response.headers["Retry-After"]


# --- Idempotency-Key ----------------------------------------------------------------------


def test_the_same_key_again_gets_the_first_answer_and_stores_nothing(client, db, secret):
    headers = with_token(secret, **{"Idempotency-Key": "form-7f3a"})
    first = client.post(URL, json={"name": "Ann"}, headers=headers)
    again = client.post(URL, data={"name": "Ann (resent)"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [lead.name for lead in leads(db)] == ["Ann"]
    # A new key is a new lead.
    other = client.post(
        URL, json={"name": "Bob"}, headers=with_token(secret, **{"Idempotency-Key": "form-8"})
    )
    assert other.status_code == 201 and other.json["id"] != first.json["id"]


def test_purge_forgets_answers_older_than_a_week_and_keeps_the_others(client, db, secret, runner):
    for key in ("old", "recent"):
        headers = with_token(secret, **{"Idempotency-Key": key})
        assert client.post(URL, json={"name": key}, headers=headers).status_code == 201
    stored = {row.key: row for row in db.scalars(select(ApiRequest))}
    stored["old"].created_at = utcnow() - timedelta(days=8)
    stored["recent"].created_at = utcnow() - timedelta(days=6)
    db.commit()

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 stored API answers" in result.output
    assert db.scalars(select(ApiRequest.key)).all() == ["recent"]
    # The forgotten key stores a new lead; the kept one still replays.
    old = client.post(
        URL, json={"name": "old"}, headers=with_token(secret, **{"Idempotency-Key": "old"})
    )
    assert old.status_code == 201 and "Idempotent-Replayed" not in old.headers
    recent = client.post(
        URL, json={"name": "recent"}, headers=with_token(secret, **{"Idempotency-Key": "recent"})
    )
    assert recent.headers["Idempotent-Replayed"] == "true"
    assert len(leads(db)) == 3


def test_a_refused_attempt_does_not_use_up_its_key(client, db, secret):
    headers = with_token(secret, **{"Idempotency-Key": "retry-1"})
    refused = client.post(URL, json={"name": ""}, headers=headers)
    assert refused.status_code == 422
    fixed = client.post(URL, json={"name": "Ann"}, headers=headers)
    assert fixed.status_code == 201
    assert [lead.name for lead in leads(db)] == ["Ann"]


@pytest.mark.parametrize("key", ["k" * 201, "clé-1"])
def test_a_key_that_cannot_be_stored_is_a_422(client, db, secret, key):
    headers = with_token(secret, **{"Idempotency-Key": key})
    response = client.post(URL, json={"name": "Ann"}, headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["errors"]["idempotency_key"]
    assert leads(db) == []


@pytest.mark.commits  # threads, each with a connection of its own
def test_concurrent_posts_with_one_key_store_one_lead(app, db, secret):
    clients = [app.test_client() for _ in range(6)]
    start = threading.Barrier(len(clients))
    answers = []

    def post(client):
        start.wait()
        response = client.post(
            URL,
            json={"name": "Same Form"},
            headers=with_token(secret, **{"Idempotency-Key": "double-submit"}),
        )
        answers.append((response.status_code, response.get_data()))

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == len(clients)
    assert {status for status, _ in answers} == {201}
    assert len({body for _, body in answers}) == 1
    assert len(leads(db)) == 1
    assert db.scalar(select(func.count(ApiRequest.id))) == 1


# --- Admin → API tokens -------------------------------------------------------------------


def decode_cookie(value: str) -> str:
    """The readable payload of Flask's signed session cookie (base64, maybe zlib)."""
    import base64
    import zlib

    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(data) if compressed else data).decode("utf-8", "replace")


def test_an_admin_creates_a_token_that_is_shown_once_and_stored_hashed(client, db, admin, owner):
    page = client.get("/admin/tokens")
    assert page.status_code == 200
    assert "Token name" in page.get_data(as_text=True)
    response = client.post(
        "/admin/tokens",
        data={
            "token_name": "Website form",
            "source": "website",
            "owner": str(owner.id),
            "csrf_token": csrf_token(client, "/admin/tokens"),
        },
    )
    # The secret is in the POST's answer alone: not stored, not in the session cookie.
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "shown only this once" in html and "data-shown-once" in html
    secret = SECRET_RE.search(html).group(1)
    token = db.scalars(select(ApiToken)).one()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.name, token.source, token.owner_id) == ("Website form", "website", owner.id)
    assert token.created_by_id == admin.id
    cookie = client.get_cookie("session")
    assert cookie is None or secret not in decode_cookie(cookie.value)
    reloaded = client.get("/admin/tokens").get_data(as_text=True)
    assert secret not in reloaded
    assert db.scalar(select(func.count()).select_from(ApiToken)) == 1

    created = client.post(URL, data={"name": "From the site"}, headers=with_token(secret))
    assert created.status_code == 201
    (lead,) = leads(db)
    assert (lead.owner_id, lead.source) == (owner.id, "website")
    listing = client.get("/admin/tokens").get_data(as_text=True)
    assert "Website form" in listing and "Olive Owner" in listing
    assert "never" not in listing.split("Website form", 1)[1].split("</li>", 1)[0]


def test_a_token_needs_a_name(client, db, admin):
    response = client.post(
        "/admin/tokens",
        data={"token_name": " ", "owner": str(admin.id), "csrf_token": csrf_token(client, "/")},
    )
    assert response.status_code == 422
    assert "Name the token" in response.get_data(as_text=True)
    assert not SECRET_RE.search(response.get_data(as_text=True))
    assert db.scalar(select(func.count(ApiToken.id))) == 0


def test_an_admin_revokes_a_token_and_it_stops_working(client, db, admin, secret):
    token = db.scalars(select(ApiToken)).one()
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "Revoke Website" in page
    response = client.post(
        f"/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Revoked the token Website" in page and "revoked" in page
    assert client.post(URL, json={"name": "Ann"}, headers=with_token(secret)).status_code == 401


def test_token_pages_need_csrf(client, db, admin):
    response = client.post("/admin/tokens", data={"token_name": "No CSRF", "owner": str(admin.id)})
    assert response.status_code == 400
    assert db.scalar(select(func.count(ApiToken.id))) == 0


@pytest.mark.parametrize("role", ["rep", "coordinator"])
def test_only_admins_manage_tokens(client, db, sign_in_as, secret, role):
    sign_in_as(role)
    token = db.scalars(select(ApiToken)).one()
    csrf = csrf_token(client, "/")
    assert client.get("/admin/tokens").status_code == 403
    data = {"token_name": "Mine", "csrf_token": csrf}
    assert client.post("/admin/tokens", data=data).status_code == 403
    assert client.post(f"/admin/tokens/{token.id}/revoke", data=data).status_code == 403
    db.expire_all()
    assert db.scalar(select(func.count(ApiToken.id))) == 1
    assert db.get(ApiToken, token.id).revoked_at is None


# --- flask --app wsgi create-api-token ----------------------------------------------------


def test_the_command_prints_a_working_token(runner, client, db, owner, make_user):
    make_user("ada@example.com", "admin", "Ada Admin")
    result = runner.invoke(
        args=["create-api-token", "Landing page", "--source", "landing", "--owner", owner.email]
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("qcrm_")
    token = db.scalars(select(ApiToken)).one()
    assert (token.name, token.source, token.owner_id) == ("Landing page", "landing", owner.id)
    assert client.post(URL, json={"name": "Ann"}, headers=with_token(secret)).status_code == 201
    result = runner.invoke(args=["create-api-token", "Default owner"])
    assert result.exit_code == 0, result.output
    newest = db.scalars(select(ApiToken).where(ApiToken.name == "Default owner")).one()
    assert newest.owner.email == "ada@example.com"


def test_the_command_refuses_an_unknown_owner(runner, db, make_user):
    result = runner.invoke(args=["create-api-token", "Site"])
    assert result.exit_code != 0 and "No active admin" in result.output
    result = runner.invoke(args=["create-api-token", "Site", "--owner", "who@example.com"])
    assert result.exit_code != 0 and "who@example.com" in result.output
    make_user("ada@example.com", "admin")
    result = runner.invoke(args=["create-api-token", " "])
    assert result.exit_code != 0 and "Name the token" in result.output
    assert db.scalar(select(func.count(ApiToken.id))) == 0
