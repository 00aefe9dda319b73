"""Cleaning the next chunk of an import in a helper process while this one is written.

Cleaning a row (quickcrm/domain/imports/rows.py) is pure Python: email and phone checks,
dates, text. Writing a batch is mostly the database's work (index upkeep, the commit).
Done one after the other, each waits for the other; a thread cannot clean beside the
writes, because it needs the same interpreter (the GIL) that sends them — measured no
faster (README, "Import"). A helper process can: ``run`` hands it chunk N + 1 as raw text
while it writes chunk N, and takes the cleaned rows when it gets there.

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
from collections.abc import Callable
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

    def cleaner(self) -> Cleaner:
        return Cleaner(
            self.kind,
            list(self.headers),
            list(self.fields),
            today=self.today,
            region=self.region,
            source=self.source,
        )


def clean_chunk(settings: Settings, stored: str) -> list[Row]:
    """A stored chunk (JSON rows of ``[line, *cells]``) cleaned: what the helper runs."""
    cleaner = settings.cleaner()
    return [cleaner.clean(cells[0], cells[1:]) for cells in json.loads(stored)]


class _Helper:
    """The one helper process of this app process, started when first asked for."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._last_used = 0.0
        self._watch: threading.Thread | None = None
        # Whether the process has cleaned a chunk: until then it may still be starting
        # (importing the app's modules takes it about a second).
        self.warm = False

    def submit(self, settings: Settings, stored: str) -> Future | None:
        with self._lock:
            try:
                if self._pool is None:
                    context = multiprocessing.get_context("spawn")
                    self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
                    self._watch = threading.Thread(target=self._stop_when_idle, daemon=True)
                    self._watch.start()
                self._last_used = time.monotonic()
                future = self._pool.submit(clean_chunk, settings, stored)
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


class Ahead:
    """One ``run`` call's chunk cleaned ahead: ``start`` hands chunk ``number`` to the
    helper (the caller asks ``wanted()`` first: is time left to write it?), ``take(number)``
    gives its rows (``None``: clean it here)."""

    def __init__(self, wanted: Callable[[], bool] = lambda: True):
        self.wanted = wanted
        self.number: int | None = None
        self.settings: Settings | None = None
        self.future: Future | None = None

    def start(self, number: int, settings: Settings, stored: str | None) -> None:
        self.cancel()
        if stored is None:
            return
        self.future = helper.submit(settings, stored)
        if self.future:
            self.number, self.settings = number, settings

    def take(self, number: int, settings: Settings) -> list[Row] | None:
        future, ahead, same = self.future, self.number, self.settings == settings
        self.future, self.number, self.settings = None, None, None
        if future is None:
            return None
        if ahead != number or not same or (not helper.warm and not future.done()):
            # another chunk (a second poller took this one), or the helper still starting:
            # not worth waiting for, the next one will be
            future.cancel()
            return None
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - the helper died or raised: clean inline
            log.warning("The import's cleaning helper failed a chunk", exc_info=True)
            helper.forget()
            return None

    def cancel(self) -> None:
        if self.future:
            self.future.cancel()
        self.future, self.number, self.settings = None, None, None
