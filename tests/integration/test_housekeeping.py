"""The app purges rows kept only for a while by itself: the scheduler's hourly job, run by
one of the app servers sharing the database (its lease), an hour at a time."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from quickcrm import create_app
from quickcrm.models import (
    ApiRequest,
    Import,
    ImportChunk,
    OfflineAction,
    RateLimit,
    ScheduledJob,
    utcnow,
)
from quickcrm.services import scheduler
from tests import factories
from tests.conftest import config_for

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


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
    } | {"rate_limit": db.scalar(select(func.count()).select_from(RateLimit))}


def purged(outcomes) -> list[str]:
    return [o.message for o in outcomes if o.job.name == scheduler.PURGE and o.ran]


def test_the_hourly_purge_forgets_old_rows_and_keeps_recent_ones(app, db, make_user):
    now = utcnow()
    assert purged(scheduler.run_due(app, now=now)) == []  # made now, due on the hour
    old_and_recent_rows(db, make_user())
    on_the_hour = db.get(ScheduledJob, scheduler.PURGE).next_run_at
    assert on_the_hour - now <= HOUR and on_the_hour.minute == on_the_hour.second == 0
    assert purged(scheduler.run_due(app, now=on_the_hour)) == [
        "Purged 5 rows: 1 offline_action, 1 api_request, 1 rate_limit, 1 import, 1 import_chunk"
    ]
    assert left(db) == {
        "offline_action": 1,
        "api_request": 1,
        "import": 1,
        "import_chunk": 1,
        "rate_limit": 1,
    }
    assert db.scalar(select(Import.filename)) == "recent.csv"


@pytest.mark.commits
def test_within_the_hour_neither_this_server_nor_another_runs_it_again(
    app, db, make_user, database_url, tmp_path
):
    other = create_app(config_for(database_url), instance_path=str(tmp_path / "other"))
    try:
        scheduler.run_due(app, now=utcnow() - 2 * HOUR)
        assert purged(scheduler.run_due(app, now=utcnow())) == ["Nothing to purge"]
        old_and_recent_rows(db, make_user())
        assert purged(scheduler.run_due(app, now=utcnow())) == []
        assert purged(scheduler.run_due(other, now=utcnow())) == []
        assert left(db)["offline_action"] == 2
        # The next hour, on whichever server checks first.
        assert len(purged(scheduler.run_due(other, now=utcnow() + HOUR))) == 1
        assert left(db)["offline_action"] == 1
    finally:
        other.extensions["quickcrm.engine"].dispose()


def test_flask_purge_forgets_at_once_without_the_schedule(app, db, make_user, runner):
    old_and_recent_rows(db, make_user())
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Purged 1 stored API answers, 1 abandoned uploads, 1 queued-action keys"
        " and 1 rate-limit counters.\n"
    )
    assert left(db)["offline_action"] == 1
