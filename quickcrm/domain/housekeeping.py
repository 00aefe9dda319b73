"""Rows kept only for a while, forgotten once nothing can use them (docs/import.md, "Purge").

- ``offline_action`` (the UUIDs of queued *Done*, *Snooze* and notes): 90 days. A key only
  stops the resend of an action the server applied but whose reply was lost; the phone sends
  it again within minutes, or the next time the app is opened with signal, and keeps an
  unsent action as long as it takes (it has no expiry): 90 days outlast a holiday, or a
  phone left in a drawer and found again.
- ``api_request`` (the first answer to an ``Idempotency-Key``): 7 days,
  ``web_leads.KEYS_KEPT``. A website retries within minutes, a webhook platform or a queue
  drained after an outage within days.
- An ``import`` still waiting for its mapping, with its ``import_chunk`` rows (the whole
  file): 7 days after it was last touched, ``imports.run.ABANDONED_AFTER``. Uploading,
  mapping and importing take one sitting; a week covers an upload left over a weekend, or
  until the next weekly meeting. A started import is kept: its records name it, it can go
  on, and undo needs it.
- ``import_chunk`` and ``import_key`` rows of a finished or undone import: at once. They are
  spent — each batch deletes its chunk and the last batch the keys, in its transaction; undo
  needs only the import row and the records that name it — so this normally finds none:
  it is the safety net that no upload outlives its import.
- ``rate_limit``: 3 days after its window started. No window may be longer than 2 days
  (``ratelimit.RETENTION``), so the row counts nothing any more; a day's margin.

How: ``purge`` first claims the hour — a row of ``rate_limit`` under ``LEASE_KEY`` used as a
lease, taken by one conditional UPDATE (or the INSERT that makes it), committed at once — so
of all the app servers sharing the database one runs it an hour; then it deletes at most
``BATCH`` rows past their age in each table, each table in a short transaction of its own.
An abandoned upload goes whole, with its chunks, and never half: a half-deleted upload could
still be started. The app runs it after a request's answer, at most once an hour per process
(``quickcrm/services/scheduler.py``): no daemon, no cron, and a backlog goes ``BATCH`` rows an hour.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from quickcrm.domain import web_leads
from quickcrm.domain.imports import run as imports
from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import (
    ApiRequest,
    Import,
    ImportChunk,
    ImportKey,
    OfflineAction,
    RateLimit,
)

EVERY = timedelta(hours=1)
# Not an HMAC of anything (those are 64 hex digits): the lease never meets a counter.
LEASE_KEY = "lease:housekeeping"
BATCH = 500
# An abandoned upload goes whole: more are taken while their chunks stay under this.
CHUNK_BUDGET = 100

OFFLINE_ACTIONS_KEPT = timedelta(days=90)
API_ANSWERS_KEPT = web_leads.KEYS_KEPT
ABANDONED_UPLOADS_KEPT = imports.ABANDONED_AFTER
RATE_LIMITS_KEPT = timedelta(days=3)
SPENT = ("done", "undone")


def purge(
    session: Session, now: datetime, *, every: timedelta = EVERY, batch: int = BATCH
) -> dict[str, int]:
    """Delete up to ``batch`` rows past their age in each table, once per ``every`` across
    every app server; commits. Returns the rows deleted by table — empty when this hour's
    run was already taken."""
    if not claim(session, now, every=every):
        return {}
    counts = {
        "offline_action": _delete_old(
            session, OfflineAction, OfflineAction.key, OfflineAction.created_at,
            now - OFFLINE_ACTIONS_KEPT, batch,
        ),
        "api_request": _delete_old(
            session, ApiRequest, ApiRequest.id, ApiRequest.created_at,
            now - API_ANSWERS_KEPT, batch,
        ),
        "rate_limit": _delete_old(
            session, RateLimit, RateLimit.key, RateLimit.window_start,
            now - RATE_LIMITS_KEPT, batch,
        ),
    }  # fmt: skip
    counts.update(_delete_abandoned_uploads(session, now - ABANDONED_UPLOADS_KEPT, batch))
    counts["import_chunk"] += _delete_spent(session, ImportChunk, ImportChunk.number, batch)
    counts["import_key"] += _delete_spent(session, ImportKey, ImportKey.key, batch)
    return counts


@owns_transaction(
    "housekeeping runs beside the requests, after their answers: its lease and each purge batch"
)
def claim(session: Session, now: datetime, *, every: timedelta = EVERY) -> bool:
    """Take the housekeeping run of this ``every`` (True), or learn that an app server took
    it less than ``every`` ago (False); commits. Two servers at once: the second UPDATE
    waits for the first's row and then finds it fresh; two INSERTs meet the primary key."""
    table = RateLimit.__table__
    renewed = session.execute(
        update(table)
        .where(table.c.key == LEASE_KEY, table.c.window_start <= now - every)
        .values(window_start=now, hits=table.c.hits + 1)
        .returning(table.c.key)
    ).first()
    taken = renewed is not None
    if not taken:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        made = session.execute(
            insert(table)
            .values(key=LEASE_KEY, window_start=now, hits=1)
            .on_conflict_do_nothing(index_elements=[table.c.key])
            .returning(table.c.key)
        ).first()
        taken = made is not None
    session.commit()
    return taken


def _some(query: Select, batch: int) -> Select:
    # Rows another transaction holds are left for the next run: a purge never waits.
    return query.limit(batch).with_for_update(skip_locked=True)


@owns_transaction(
    "housekeeping runs beside the requests, after their answers: its lease and each purge batch"
)
def _delete_old(session: Session, model, key, moment, cutoff: datetime, batch: int) -> int:
    old = moment < cutoff
    some = _some(select(key).where(old), batch)
    # The age again outside: a row renewed since the sub-select read it stays.
    deleted = session.execute(
        delete(model).where(key.in_(some), old).execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return deleted


@owns_transaction(
    "housekeeping runs beside the requests, after their answers: its lease and each purge batch"
)
def _delete_abandoned_uploads(session: Session, cutoff: datetime, batch: int) -> dict[str, int]:
    """Uploads never started since ``cutoff``, whole. Each is first claimed by a conditional
    UPDATE (its row locked, still waiting for its mapping and old), so an admin starting it
    at this moment either waits and is told it is gone, or started it first and keeps it."""
    waiting = (Import.status == "mapping") & (Import.updated_at < cutoff)
    candidates = session.execute(
        select(Import.id, Import.chunk_count).where(waiting).order_by(Import.id).limit(batch)
    ).all()
    chosen, chunks = [], 0
    for import_id, chunk_count in candidates:
        if chosen and chunks + chunk_count > CHUNK_BUDGET:
            break
        chosen.append(import_id)
        chunks += chunk_count
    counts = {"import": 0, "import_chunk": 0, "import_key": 0}
    if not chosen:
        session.rollback()
        return counts
    claimed = list(
        session.scalars(
            update(Import)
            .where(Import.id.in_(chosen), waiting)
            .values(updated_at=Import.updated_at)
            .returning(Import.id)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed:
        counts["import_chunk"] = session.execute(
            delete(ImportChunk).where(ImportChunk.import_id.in_(claimed))
        ).rowcount
        counts["import_key"] = session.execute(
            delete(ImportKey).where(ImportKey.import_id.in_(claimed))
        ).rowcount
        counts["import"] = session.execute(
            delete(Import)
            .where(Import.id.in_(claimed))
            .execution_options(synchronize_session=False)
        ).rowcount
    session.commit()
    return counts


@owns_transaction(
    "housekeeping runs beside the requests, after their answers: its lease and each purge batch"
)
def _delete_spent(session: Session, model, second, batch: int) -> int:
    """Chunks or keys of imports that are done or undone: nothing reads them any more."""
    spent = select(Import.id).where(Import.status.in_(SPENT))
    pair = tuple_(model.import_id, second)
    some = _some(select(model.import_id, second).where(model.import_id.in_(spent)), batch)
    deleted = session.execute(
        delete(model).where(pair.in_(some)).execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return deleted


class Hourly:
    """When this process last asked for a run: a process asks at most once per ``every``
    (the database's lease then picks one server), so other requests pay one comparison."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._next: float | None = None
        self._lock = threading.Lock()

    def due(self, every: timedelta) -> bool:
        """True once per ``every`` in this process (for the first request that asks)."""
        now = self._clock()
        with self._lock:
            if self._next is not None and now < self._next:
                return False
            self._next = now + every.total_seconds()
            return True
