"""Cleaning the next chunk of an import in a helper process while this one is written.

Cleaning a row (quickcrm/domain/imports/rows.py) is pure Python: email and phone checks,
dates, text. Writing a batch is mostly the database's work (index upkeep, the commit).
Done one after the other, each waits for the other; a thread cannot clean beside the
writes, because it needs the same interpreter (the GIL) that sends them — measured no
faster (docs/speed.md, "Import: 50,000 rows"). A helper process can: ``run`` hands it
chunk N + 1 as raw text while it writes chunk N, and takes the cleaned rows when it gets
there — in the same request, or in the next progress poll that this app process serves.

The helper is a ``ProcessPoolExecutor`` of one process, started (``spawn``: safe in a
threaded app server) at the first import with a chunk to clean ahead, shared by every
import of this app process, and stopped after ``IDLE_SECONDS`` without work. Whatever goes
wrong with it — it cannot start, it died, it raised — the chunk is cleaned here instead:
the helper only ever saves time, it never decides what is stored.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date

from quickcrm.domain.imports.rows import Cleaner, Row

log = logging.getLogger(__name__)

IDLE_SECONDS = 60.0


@dataclass(frozen=True)
class Settings:
    """What a ``Cleaner`` is made of: the same for every chunk of one import."""

    kind: str
    headers: tuple[str, ...]
    fields: tuple[str, ...]
    today: date
    region: str | None
    source: str | None
    value_map: str | None = None  # the JSON text of ``Import.value_map``

    def cleaner(self) -> Cleaner:
        return Cleaner(
            self.kind,
            list(self.headers),
            list(self.fields),
            today=self.today,
            region=self.region,
            source=self.source,
            value_map=json.loads(self.value_map) if self.value_map else None,
        )


def clean_chunk(settings: Settings, stored: str) -> list[Row]:
    """A stored chunk (JSON rows of ``[line, *cells]``) cleaned: what the helper runs."""
    cleaner = settings.cleaner()
    return [cleaner.clean(cells[0], cells[1:]) for cells in json.loads(stored)]


def _ready() -> bool:
    """What warms the helper up: its process has started and imported this module (and
    the cleaning's: rows.py, validation) to run it."""
    return True


class _Helper:
    """The one helper process of this app process, started when first asked for."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._last_used = 0.0
        # Whether the process has run a task (warmed up, or cleaned a chunk): until then it
        # may still be starting (importing the app's modules takes it about a second).
        self.warm = False

    def submit(self, settings: Settings, stored: str) -> Future | None:
        return self._run(clean_chunk, settings, stored)

    def warm_up(self) -> None:
        """Start the helper before an import needs it (at upload, at start): spawning it
        and importing the app's modules takes about a second, during which the first
        batches would clean their chunks themselves."""
        if not self.warm:
            self._run(_ready)

    def _run(self, function, *args) -> Future | None:
        with self._lock:
            try:
                if self._pool is None:
                    context = multiprocessing.get_context("spawn")
                    self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
                    threading.Thread(target=self._stop_when_idle, daemon=True).start()
                self._last_used = time.monotonic()
                future = self._pool.submit(function, *args)
                future.add_done_callback(self._warmed)
                return future
            except Exception:  # noqa: BLE001 - cannot start or broken: clean inline
                log.warning("The import's cleaning helper is not available", exc_info=True)
                self._drop()
                return None

    def _warmed(self, future: Future) -> None:
        if not future.cancelled() and future.exception() is None:
            self.warm = True

    def forget(self) -> None:
        """After the helper failed a chunk: a new one is started when next asked for."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            self.warm = False
            with _lock:
                _ahead.clear()

    def _stop_when_idle(self) -> None:
        while True:
            time.sleep(min(IDLE_SECONDS, 5.0))
            with self._lock:
                if self._pool is None:
                    return
                if time.monotonic() - self._last_used >= IDLE_SECONDS:
                    self._drop()
                    return

    def pids(self) -> list[int]:
        """The helper's process ids (bench/import.py reads their CPU time)."""
        with self._lock:
            pool = self._pool
            return [process.pid for process in (pool._processes or {}).values()] if pool else []


helper = _Helper()


@dataclass
class _Ahead:
    number: int
    settings: Settings
    stored: str
    future: Future


_lock = threading.Lock()
_ahead: dict[int, _Ahead] = {}  # by import id: the chunk being cleaned for the next batch


def start(import_id: int, number: int, settings: Settings, stored: str | None) -> None:
    """Hand chunk ``number`` of ``import_id`` to the helper to clean. It waits for the next
    batch of this import in this app process — in this request or the next progress poll."""
    if stored is None:
        return
    future = helper.submit(settings, stored)
    with _lock:
        earlier = _ahead.pop(import_id, None)
        if future:
            _ahead[import_id] = _Ahead(number, settings, stored, future)
    if earlier:
        earlier.future.cancel()


def take(import_id: int, number: int, settings: Settings, stored: str) -> list[Row] | None:
    """Chunk ``number`` of ``import_id`` as the helper cleaned it; ``None`` when it was not
    handed over here (another app process, or another chunk: a second poller took this
    one) or is not worth waiting for (the helper still starting): clean it here. What was
    handed over must be ``stored`` itself, so rows never come from another file, whatever
    became of the ids (a database emptied and restored under a running app)."""
    with _lock:
        ahead = _ahead.pop(import_id, None)
    if ahead is None:
        return None
    same = (ahead.number, ahead.settings, ahead.stored) == (number, settings, stored)
    if not same or not (helper.warm or ahead.future.done()):
        ahead.future.cancel()
        return None
    try:
        return ahead.future.result()
    except Exception:  # noqa: BLE001 - the helper died or raised: clean inline
        log.warning("The import's cleaning helper failed a chunk", exc_info=True)
        helper.forget()
        return None


def forget(import_id: int) -> None:
    """The import has no chunk left to clean (done, or stopped)."""
    with _lock:
        ahead = _ahead.pop(import_id, None)
    if ahead:
        ahead.future.cancel()
