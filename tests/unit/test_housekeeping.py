"""Rows kept only for a while are purged past their age, a bounded batch an hour
(quickcrm/domain/housekeeping.py); the hourly job on one server at a time is the
scheduler's (tests/unit/test_scheduler.py, tests/integration/test_housekeeping.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from quickcrm.domain import housekeeping, ratelimit
from quickcrm.domain.scheduler import Run
from quickcrm.models import (
    ApiRequest,
    Import,
    ImportChunk,
    ImportKey,
    ImportRefusal,
    OfflineAction,
    RateLimit,
)
from tests import factories

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def offline_action(db, user, age: timedelta) -> OfflineAction:
    action = OfflineAction(key=uuid.uuid4(), user_id=user.id, kind="done", created_at=NOW - age)
    db.add(action)
    db.commit()
    return action


def api_answer(db, token, key: str, age: timedelta) -> ApiRequest:
    answer = ApiRequest(token_id=token.id, key=key, status=201, body="{}", created_at=NOW - age)
    db.add(answer)
    db.commit()
    return answer


def rate_limit(db, key: str, age: timedelta) -> None:
    db.add(RateLimit(key=key, window_start=NOW - age, hits=3))
    db.commit()


def upload(db, user, status: str, age: timedelta, chunks: int = 2, keys: int = 0) -> int:
    """An import in ``status``, last touched ``age`` ago, holding ``chunks`` chunks of rows
    and ``keys`` duplicate keys."""
    made = Import(
        kind="leads", status=status, filename="fair.csv", encoding="utf-8", delimiter=",",
        headers='["Name"]', total_rows=chunks, chunk_count=chunks, created_by_id=user.id,
        owner_id=user.id, created_at=NOW - age, updated_at=NOW - age,
    )  # fmt: skip
    db.add(made)
    db.flush()
    db.add_all(ImportChunk(import_id=made.id, number=n, rows='[[2, "Ann"]]') for n in range(chunks))
    db.add_all(ImportKey(import_id=made.id, key=f"e:{n}@example.com") for n in range(keys))
    db.commit()
    # The ORM must not set updated_at to now on a later flush: read it back as stored.
    db.expire(made)
    return made.id


def chunks_of(db, import_id: int) -> int:
    return db.scalar(select(func.count()).where(ImportChunk.import_id == import_id))


@pytest.fixture
def rep(make_user):
    return make_user("rep@example.com", "rep", "Rita Rep")


@pytest.fixture
def token(db, rep):
    return factories.api_token(db, rep, "Website")[0]


def test_offline_action_keys_are_kept_90_days(db, rep):
    offline_action(db, rep, 90 * DAY + HOUR)
    kept = offline_action(db, rep, 89 * DAY).key
    assert housekeeping.purge(db, NOW)["offline_action"] == 1
    assert db.scalars(select(OfflineAction.key)).all() == [kept]


def test_api_answers_are_kept_7_days(db, token):
    api_answer(db, token, "old", 7 * DAY + HOUR)
    api_answer(db, token, "recent", 6 * DAY)
    assert housekeeping.purge(db, NOW)["api_request"] == 1
    assert db.scalars(select(ApiRequest.key)).all() == ["recent"]


def test_rate_limit_rows_go_3_days_after_their_window_started(db):
    # The longest window a limit may have is 2 days: a row older than that counts nothing.
    assert housekeeping.RATE_LIMITS_KEPT > ratelimit.RETENTION
    rate_limit(db, "f" * 64, 3 * DAY + HOUR)
    rate_limit(db, "a" * 64, 2 * DAY + HOUR)
    assert housekeeping.purge(db, NOW)["rate_limit"] == 1
    assert set(db.scalars(select(RateLimit.key))) == {"a" * 64}


def test_an_upload_never_started_goes_whole_after_7_days(db, rep):
    abandoned = upload(db, rep, "mapping", 7 * DAY + HOUR, chunks=3)
    recent = upload(db, rep, "mapping", 6 * DAY, chunks=3)
    counts = housekeeping.purge(db, NOW)
    assert (counts["import"], counts["import_chunk"]) == (1, 3)
    assert db.get(Import, abandoned) is None and chunks_of(db, abandoned) == 0
    assert db.get(Import, recent) is not None and chunks_of(db, recent) == 3


def test_a_started_import_keeps_what_it_needs_whatever_its_age(db, rep):
    """A running import goes on from its chunks and keys; a finished one keeps its row and
    its refused rows (the report, and undo, need them) — only spent rows go."""
    running = upload(db, rep, "running", 300 * DAY, chunks=2, keys=2)
    done = upload(db, rep, "done", 300 * DAY, chunks=2, keys=2)  # left over: spent
    undone = upload(db, rep, "undone", 300 * DAY, chunks=1, keys=1)
    db.add(ImportRefusal(import_id=done, line=3, reason="No name", cells='[""]'))
    db.commit()
    counts = housekeeping.purge(db, NOW)
    assert (counts["import"], counts["import_chunk"], counts["import_key"]) == (0, 3, 3)
    assert {db.get(Import, i).status for i in (running, done, undone)} == {
        "running",
        "done",
        "undone",
    }
    assert chunks_of(db, running) == 2
    assert db.scalar(select(func.count()).where(ImportKey.import_id == running)) == 2
    assert count(db, ImportChunk) == count(db, ImportKey) == 2
    assert count(db, ImportRefusal) == 1


def test_each_run_deletes_at_most_a_batch_per_table_and_the_next_hour_goes_on(db, rep, token):
    for n in range(5):
        offline_action(db, rep, 100 * DAY)
        api_answer(db, token, f"key-{n}", 30 * DAY)
        rate_limit(db, f"{n}" * 64, 30 * DAY)
    first = housekeeping.purge(db, NOW, batch=3)
    assert {table: first[table] for table in ("offline_action", "api_request", "rate_limit")} == {
        "offline_action": 3,
        "api_request": 3,
        "rate_limit": 3,
    }
    assert (count(db, OfflineAction), count(db, ApiRequest), count(db, RateLimit)) == (2, 2, 2)
    second = housekeeping.purge(db, NOW + HOUR, batch=3)
    assert (second["offline_action"], second["api_request"], second["rate_limit"]) == (2, 2, 2)
    assert (count(db, OfflineAction), count(db, ApiRequest), count(db, RateLimit)) == (0, 0, 0)


def test_abandoned_uploads_go_whole_a_bounded_number_of_chunks_a_run(db, rep, monkeypatch):
    monkeypatch.setattr(housekeeping, "CHUNK_BUDGET", 5)
    big = upload(db, rep, "mapping", 30 * DAY, chunks=8)  # over the budget alone: still whole
    small = [upload(db, rep, "mapping", 30 * DAY, chunks=2) for _ in range(3)]
    first = housekeeping.purge(db, NOW)
    assert (first["import"], first["import_chunk"]) == (1, 8)
    assert db.get(Import, big) is None
    second = housekeeping.purge(db, NOW + HOUR)
    assert (second["import"], second["import_chunk"]) == (2, 4)  # a third would make 6
    third = housekeeping.purge(db, NOW + 2 * HOUR)
    assert (third["import"], third["import_chunk"]) == (1, 2)
    assert [db.get(Import, i) for i in small] == [None, None, None]
    assert count(db, ImportChunk) == 0


def test_the_job_says_what_it_purged_in_one_line(db, rep):
    run = Run(session=db, engine=db.get_bind(), due=NOW, now=NOW)
    assert housekeeping.purge_job(run) == "Nothing to purge"
    offline_action(db, rep, 100 * DAY)
    offline_action(db, rep, 100 * DAY)
    rate_limit(db, "f" * 64, 4 * DAY)
    assert housekeeping.purge_job(run) == "Purged 3 rows: 2 offline_action, 1 rate_limit"
