"""The app purges rows kept only for a while by itself: after a request's answer, at most
once an hour per process, and once an hour across every app server (the database lease)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from quickcrm.domain import housekeeping
from quickcrm.models import ApiRequest, Import, ImportChunk, OfflineAction, RateLimit, utcnow
from tests import factories

DAY = timedelta(days=1)


@pytest.fixture
def hourly(app, monkeypatch):
    """This app process as if it had just started: it has not asked for a run yet."""
    monkeypatch.setitem(app.extensions, "quickcrm.housekeeping", housekeeping.Hourly())
    app.config["HOUSEKEEPING_EVERY"] = timedelta(hours=1)
    return app.extensions["quickcrm.housekeeping"]


def old_and_recent_rows(db, user) -> None:
    token, _ = factories.api_token(db, user, "Website")
    now = utcnow()
    for age, tag in ((100 * DAY, "old"), (DAY, "recent")):
        db.add(OfflineAction(key=uuid.uuid4(), user_id=user.id, kind="note", created_at=now - age))
        db.add(ApiRequest(token_id=token.id, key=tag, status=201, body="{}", created_at=now - age))
        db.add(RateLimit(key=tag * 16, window_start=now - age, hits=1))
        upload = Import(
            kind="leads", status="mapping", filename=f"{tag}.csv", encoding="utf-8",
            delimiter=",", headers='["Name"]', total_rows=1, chunk_count=1,
            created_by_id=user.id, created_at=now - age, updated_at=now - age,
        )  # fmt: skip
        db.add(upload)
        db.flush()
        db.add(ImportChunk(import_id=upload.id, number=0, rows='[[2, "Ann"]]'))
    db.commit()


def left(db) -> dict[str, int]:
    db.expire_all()
    return {
        model.__tablename__: db.scalar(select(func.count()).select_from(model))
        for model in (OfflineAction, ApiRequest, Import, ImportChunk)
    } | {"rate_limit": db.scalar(select(func.count()).where(RateLimit.key != "lease:housekeeping"))}


def test_a_request_runs_the_hourly_purge_after_its_answer(client, db, make_user, hourly):
    old_and_recent_rows(db, make_user())
    with client.get("/login") as answer:  # the purge runs once the answer is sent (closed)
        assert answer.status_code == 200
    assert left(db) == {
        "offline_action": 1,
        "api_request": 1,
        "import": 1,
        "import_chunk": 1,
        "rate_limit": 1,
    }
    assert db.scalar(select(Import.filename)) == "recent.csv"
    assert db.get(RateLimit, housekeeping.LEASE_KEY) is not None


def test_within_the_hour_neither_this_process_nor_another_runs_it_again(
    app, client, db, make_user, hourly
):
    with client.get("/login"):
        pass
    old_and_recent_rows(db, make_user())
    with client.get("/login"):  # this process asked less than an hour ago
        pass
    assert left(db)["offline_action"] == 2
    # Another app server (a fresh process) asks: the database says this hour's run is taken.
    app.extensions["quickcrm.housekeeping"] = housekeeping.Hourly()
    with client.get("/login"):
        pass
    assert left(db)["offline_action"] == 2


def test_no_purge_when_switched_off(app, client, db, make_user, hourly):
    app.config["HOUSEKEEPING_EVERY"] = 0
    old_and_recent_rows(db, make_user())
    with client.get("/login"):
        pass
    assert left(db)["offline_action"] == 2
    assert db.get(RateLimit, housekeeping.LEASE_KEY) is None
