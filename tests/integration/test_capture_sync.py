"""Syncing queued captures: POST /captures is idempotent on the phone's UUID, keeps the
phone's time and place, answers JSON, and keeps CSRF and sign-in like every other post."""

from __future__ import annotations

import shutil
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import request
from sqlalchemy import func, select

from quickcrm import ROOT, create_app
from quickcrm.models import Activity, Lead
from quickcrm.views.shell import _service_worker_script
from tests.conftest import PASSWORD, Auth, config_for, csrf_token


def sync(client, token=None, **body):
    headers = {"X-CSRFToken": token or csrf_token(client, "/"), "Accept": "application/json"}
    return client.post("/captures", json=body, headers=headers)


def lead_count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Lead))


def test_a_capture_sent_twice_is_stored_once(client, rep, db):
    key = str(uuid.uuid4())
    first = sync(client, uuid=key, name="Maria Novak", temperature="hot", next_action_on="")
    again = sync(client, uuid=key, name="Maria Novak", temperature="hot")
    assert first.status_code == 201 and first.json["created"] is True
    assert again.status_code == 200 and again.json["created"] is False
    assert first.json["id"] == again.json["id"]
    assert first.json["url"] == f"/leads/{first.json['id']}"
    lead = db.scalars(select(Lead)).one()
    assert (str(lead.uuid), lead.name, lead.owner_id) == (key, "Maria Novak", rep.id)


def test_the_idempotency_key_header_is_enough(client, rep, db):
    key = str(uuid.uuid4())
    response = client.post(
        "/captures",
        json={"name": "Header Key"},
        headers={"X-CSRFToken": csrf_token(client, "/"), "Idempotency-Key": key},
    )
    assert response.status_code == 201
    assert str(db.scalars(select(Lead.uuid)).one()) == key


def test_the_phone_time_and_place_are_kept_and_shown(client, rep, db):
    made = datetime.now(UTC) - timedelta(hours=3)
    response = sync(
        client,
        uuid=str(uuid.uuid4()),
        name="In The Hall",
        next_action_on=(datetime.now(UTC).date() + timedelta(days=1)).isoformat(),
        captured_at=made.isoformat().replace("+00:00", "Z"),
        latitude=48.8566,
        longitude=2.3522,
    )
    assert response.status_code == 201
    lead = db.scalars(select(Lead)).one()
    assert abs(lead.captured_at - made) < timedelta(seconds=1)
    assert (lead.latitude, lead.longitude) == (48.8566, 2.3522)
    assert db.scalar(select(func.count()).select_from(Activity)) == 1
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "Captured at 48.85660, 2.35220" in page
    assert "Show on map" in page


def test_an_unbelievable_phone_clock_and_a_bad_place_do_not_refuse_a_capture(client, rep, db):
    before = datetime.now(UTC)
    response = sync(
        client,
        uuid=str(uuid.uuid4()),
        name="Wrong Clock",
        captured_at="2031-01-01T00:00:00Z",
        latitude=123,
        longitude="east",
    )
    assert response.status_code == 201
    lead = db.scalars(select(Lead)).one()
    assert before <= lead.captured_at <= datetime.now(UTC)
    assert (lead.latitude, lead.longitude) == (None, None)
    assert "Show on map" not in client.get(f"/leads/{lead.id}").get_data(as_text=True)


def test_bad_fields_answer_422_with_the_messages_and_store_nothing(client, rep, db):
    response = sync(client, uuid=str(uuid.uuid4()), name="", phone="12")
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"name", "phone"}
    assert "Enter a name" in response.json["errors"]["name"]
    missing_key = sync(client, name="No Key")
    assert missing_key.status_code == 422 and "uuid" in missing_key.json["errors"]
    not_json = client.post(
        "/captures", data="name=x", headers={"X-CSRFToken": csrf_token(client, "/")}
    )
    assert not_json.status_code == 400
    assert lead_count(db) == 0


def test_another_users_key_is_refused_without_telling_anything_about_their_lead(
    client, auth, make_user, db
):
    make_user("first@example.com", "rep", "First Rep")
    make_user("second@example.com", "rep", "Second Rep")
    key = str(uuid.uuid4())
    auth.login("first@example.com")
    assert sync(client, uuid=key, name="Secret Prospect").status_code == 201
    auth.logout()
    auth.login("second@example.com")
    response = sync(client, uuid=key, name="Someone Else")
    assert response.status_code == 409
    assert "Secret" not in response.get_data(as_text=True)
    assert "id" not in response.json
    assert db.scalars(select(Lead.name)).all() == ["Secret Prospect"]


def test_sync_needs_the_csrf_token_and_a_session(client, rep, db):
    no_token = client.post("/captures", json={"uuid": str(uuid.uuid4()), "name": "X"})
    assert no_token.status_code == 400
    token = csrf_token(client, "/")
    client.post("/logout", data={"csrf_token": token})
    signed_out = client.post(
        "/captures",
        json={"uuid": str(uuid.uuid4()), "name": "X"},
        headers={"X-CSRFToken": csrf_token(client, "/login")},
    )
    assert signed_out.status_code == 302
    assert "/login" in signed_out.headers["Location"]
    assert lead_count(db) == 0


def test_a_fresh_token_can_be_fetched_for_a_page_from_the_cache(client, rep, db):
    response = client.get("/captures/token")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = response.json["csrf_token"]
    assert sync(client, token=token, uuid=str(uuid.uuid4()), name="Fresh").status_code == 201


def test_the_capture_form_is_idempotent_on_its_uuid_too(client, rep, db):
    key = str(uuid.uuid4())
    for _ in range(2):
        response = client.post(
            "/",
            data={"name": "Double Tap", "uuid": key, "csrf_token": csrf_token(client, "/")},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        assert "Saved — <strong>Double Tap</strong>" in response.get_data(as_text=True)
    assert str(db.scalars(select(Lead.uuid)).one()) == key


@pytest.mark.commits  # threads, each with a connection of its own
def test_concurrent_identical_posts_store_exactly_one_lead(app, make_user, db):
    make_user("rep@example.com", "rep", "Rita Rep")
    clients = []
    for _ in range(8):
        client = app.test_client()
        Auth(client).login("rep@example.com", PASSWORD)
        clients.append((client, csrf_token(client, "/")))
    key = str(uuid.uuid4())
    start = threading.Barrier(len(clients))
    answers = []

    def post(client, token):
        start.wait()
        response = client.post(
            "/captures",
            json={"uuid": key, "name": "Same Card", "next_action_on": ""},
            headers={"X-CSRFToken": token},
        )
        answers.append((response.status_code, response.json["id"]))

    threads = [threading.Thread(target=post, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({lead_id for _, lead_id in answers}) == 1
    assert lead_count(db) == 1


def test_the_service_worker_is_public_versioned_and_lists_the_shell(client, rep):
    response = client.get("/sw.js")
    script = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    page = client.get("/").get_data(as_text=True)
    static = [part for part in page.split('"') if part.startswith("/static/")]
    for asset in ("app.css?v=", "/app.js", "/capture.js"):
        url = next(part for part in static if asset in part)
        assert url in script, asset
    assert '"page": "/"' in script
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/sw.js").get_data(as_text=True) == script


def test_a_changed_static_file_makes_a_new_service_worker_version(database_url, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(ROOT / "static", static)
    app = create_app(config_for(database_url), instance_path=str(tmp_path / "instance"))
    app.static_folder = str(static)

    def version() -> str:
        with app.test_request_context():
            return _service_worker_script().split('"version": "')[1].split('"')[0]

    before = version()
    (static / "app.css").write_text((static / "app.css").read_text() + "\n/* changed */\n")
    assert version() != before
    app.extensions["quickcrm.engine"].dispose()


@pytest.mark.commits  # an app of its own, with an engine of its own
@pytest.mark.parametrize("proxies, seen", [(0, "http://localhost"), (1, "https://crm.example")])
def test_behind_a_tls_proxy_the_app_knows_it_is_on_https(
    database_url, tmp_path, make_user, proxies, seen
):
    """QUICKCRM_TRUSTED_PROXIES=1 behind one TLS-terminating proxy: its forwarded headers
    are believed (and only then), so the app knows it is on HTTPS at the public host."""
    make_user("rep@example.com", "rep")
    config = {**config_for(database_url), "TRUSTED_PROXIES": proxies}
    app = create_app(config, instance_path=str(tmp_path / "proxied"))
    app.add_url_rule("/_seen", "seen", lambda: f"{request.scheme}://{request.host}")
    client = app.test_client()
    Auth(client).login("rep@example.com")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "crm.example"}
    assert client.get("/_seen", headers=forwarded).get_data(as_text=True) == seen
    app.extensions["quickcrm.engine"].dispose()
