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

How: the scheduler (``quickcrm/domain/scheduler.py``) runs ``purge_job`` every hour on the
hour, on one of the app servers sharing the database (its lease); it deletes at most
``BATCH`` rows past their age in each table, each table in a short transaction of its own,
so a backlog goes ``BATCH`` rows an hour (``flask purge`` clears one at once).
An abandoned upload goes whole, with its chunks, and never half: a half-deleted upload could
still be started.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, delete, select, tuple_, update
from sqlalchemy.orm import Session

from quickcrm.domain import web_leads
from quickcrm.domain.imports import run as imports
from quickcrm.domain.scheduler import Run
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
BATCH = 500
# An abandoned upload goes whole: more are taken while their chunks stay under this.
CHUNK_BUDGET = 100

OFFLINE_ACTIONS_KEPT = timedelta(days=90)
API_ANSWERS_KEPT = web_leads.KEYS_KEPT
ABANDONED_UPLOADS_KEPT = imports.ABANDONED_AFTER
RATE_LIMITS_KEPT = timedelta(days=3)
SPENT = ("done", "undone")


def purge(session: Session, now: datetime, *, batch: int = BATCH) -> dict[str, int]:
    """Delete up to ``batch`` rows past their age in each table; commits, a table at a
    time. Returns the rows deleted by table."""
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


def purge_job(run: Run) -> str:
    """The hourly purge as a scheduled job: what it deleted, in one line."""
    return summary(purge(run.session, run.now))


def summary(counts: dict[str, int]) -> str:
    """ "Purged 3 rows: 1 offline_action, 2 rate_limit", or "Nothing to purge"."""
    deleted = {table: n for table, n in counts.items() if n}
    if not deleted:
        return "Nothing to purge"
    total = sum(deleted.values())
    tables = ", ".join(f"{n} {table}" for table, n in deleted.items())
    return f"Purged {total} row{'s' if total != 1 else ''}: {tables}"


def _some(query: Select, batch: int) -> Select:
    # Rows another transaction holds are left for the next run: a purge never waits.
    return query.limit(batch).with_for_update(skip_locked=True)


@owns_transaction("a scheduled job beside the requests: each purge batch a short transaction")
def _delete_old(session: Session, model, key, moment, cutoff: datetime, batch: int) -> int:
    old = moment < cutoff
    some = _some(select(key).where(old), batch)
    # The age again outside: a row renewed since the sub-select read it stays.
    deleted = session.execute(
        delete(model).where(key.in_(some), old).execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return deleted


@owns_transaction("a scheduled job beside the requests: each purge batch a short transaction")
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


@owns_transaction("a scheduled job beside the requests: each purge batch a short transaction")
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
