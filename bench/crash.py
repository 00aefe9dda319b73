"""Kill the server in the middle of a capture load: is every acknowledged capture kept, once?

Run from the repository root::

    python bench/crash.py [--database URL] [--cycles 3] [--clients 20]
                          [--workers 3] [--threads 4] [--seed N]

What it does, as phones at a trade show would see it:

1. A database: a temporary SQLite file by default, or ``--database`` (a PostgreSQL URL of
   a database made for the bench; it is migrated, never emptied — the run makes its own
   users and only counts their leads). ``--clients`` reps are created in it.
2. gunicorn serves ``wsgi:app`` on a free port of 127.0.0.1 with ``--workers`` processes of
   ``--threads`` threads (the production setup of docs/deployment.md), started in its own process
   group.
3. Each client signs in once (a signed cookie, so it stays valid across restarts) and keeps
   capturing: a lead with a UUID it made itself, sent as JSON to ``POST /captures`` with the
   ``X-CSRFToken`` header, as the phone's queue does. A capture counts as acknowledged
   when the server answered 201 or 200 with that UUID; until then it stays in the client's
   queue and is sent again with backoff (no answer, a 5xx), in order, like the phone.
   While the server is down the client keeps capturing into its queue.
4. After a random moment of load, the gunicorn master AND every worker get SIGKILL at once
   (the whole process group): no graceful shutdown, requests cut mid-flight. After a short
   outage gunicorn is started again, and the clients resend what was not acknowledged.
   ``--cycles`` times.
5. After the last restart the clients drain their queues; gunicorn is stopped; then the
   database is read directly and checked: every acknowledged capture is stored exactly
   once, under its UUID, for its rep, with its name; no UUID is stored twice; nothing is
   stored that no client made. The script exits 1 if any check fails.

SIGKILL ends the processes, not the machine: the operating system still writes what it had
cached. What survives a power cut is SQLite's ``synchronous=FULL`` (see quickcrm/db.py) or
PostgreSQL's ``fsync``/``synchronous_commit``; this bench checks the protocol and the
transactions — nothing answered is lost or doubled when the server dies mid-request.

This prints figures; it is a bench, not part of the test run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from quickcrm import migrate  # noqa: E402
from quickcrm.db import make_engine  # noqa: E402
from quickcrm.domain import users  # noqa: E402
from quickcrm.models import Lead, User  # noqa: E402

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
TIMEOUT = 10  # seconds a request may take before the client gives up on it
BACKOFF_FIRST, BACKOFF_MAX = 0.05, 1.0  # the client's retry delays, in seconds
OFFLINE_CAPTURE_EVERY = 0.25  # a rep keeps capturing while the server is down
OFFLINE_QUEUE_CAP = 8  # ...but a bench client stops queueing more than this
LOAD_BEFORE_KILL = (1.5, 4.0)  # seconds of load before each kill, drawn at random
OUTAGE = 1.0  # seconds between the kill and the restart
USER_PASSWORD_METHOD = "pbkdf2:sha256:1000"  # cheap to create 20 users; sign-in once each


# --- gunicorn -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn on ``wsgi:app`` (or ``app`` from the folder ``cwd``) in a process group of
    its own."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        workers: int,
        threads: int,
        log: Path,
        app: str = "wsgi:app",
        cwd: Path = ROOT,
    ):
        self.env, self.port, self.workers, self.threads, self.log = env, port, workers, threads, log
        self.app, self.cwd = app, cwd
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start gunicorn and wait until it answers; seconds it took."""
        started = time.perf_counter()
        command = [
            sys.executable, "-m", "gunicorn", self.app,
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--threads", str(self.threads),
            "--graceful-timeout", "5",
            # gunicorn 27's control socket is one path per user: one each would collide.
            "--no-control-socket",
        ]  # fmt: skip
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                command, cwd=self.cwd, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        while time.perf_counter() - started < 60:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            if len(self.worker_pids()) == self.workers and self._answers():
                return time.perf_counter() - started
            time.sleep(0.05)
        raise SystemExit(f"gunicorn did not answer within 60 s; see {self.log}")

    def _answers(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            connection.request("GET", "/login")
            return connection.getresponse().status < 500
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        """The master's children, read from /proc (Linux)."""
        assert self.process is not None
        pid = self.process.pid
        try:
            return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def kill(self) -> list[int]:
        """SIGKILL the master and every worker at once; the pids killed."""
        assert self.process is not None
        victims = [self.process.pid, *self.worker_pids()]
        os.killpg(self.process.pid, signal.SIGKILL)  # the group this script started
        self.process.wait()
        for pid in victims[1:]:
            while Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
                time.sleep(0.01)
        return victims

    def stop(self) -> None:
        stop(self.process, 15)


def start_phones(
    phones: list, stop: threading.Event, draining: threading.Event
) -> tuple[list[threading.Thread], float]:
    """Each phone capturing in a thread of its own from now; the threads and when they
    started (perf_counter)."""
    threads = [
        threading.Thread(target=phone.run, args=(stop, draining), daemon=True) for phone in phones
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    return threads, started


def drain(threads: list[threading.Thread], draining: threading.Event) -> list[threading.Thread]:
    """Let the phones send what they still hold (two minutes at most); those that could not."""
    draining.set()
    for thread in threads:
        thread.join(timeout=120)
    return [thread for thread in threads if thread.is_alive()]


def stop(process: subprocess.Popen | None, timeout: float) -> None:
    """End a server started in a session of its own: SIGTERM, then after ``timeout``
    seconds SIGKILL to its whole process group."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


# --- a phone ------------------------------------------------------------------------------


class Unreachable(Exception):
    """No answer: refused, reset, timed out."""


class Browser:
    """An HTTP/1.1 client with cookies, no redirects followed (a redirect is an answer)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=TIMEOUT
                )
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise Unreachable(str(exc)) from exc
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, data

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class Capture:
    key: str
    name: str
    made_at: str
    tries: int = 0


@dataclass
class Phone:
    """One rep's phone: a queue of captures, sent in order until each is acknowledged."""

    number: int
    email: str
    password: str
    port: int
    made: dict[str, Capture] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)  # uuid -> status (201 or 200)
    queue: deque[Capture] = field(default_factory=deque)
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.browser = Browser(self.port)
        self.token = ""

    def make_capture(self) -> None:
        n = len(self.made) + 1
        capture = Capture(
            str(uuid.uuid4()),
            f"Crash Lead {self.number}-{n}",
            datetime.now(UTC).isoformat(),
        )
        self.made[capture.key] = capture
        self.queue.append(capture)

    def sign_in(self, stop: threading.Event) -> None:
        """Sign in (retrying while the server is away or throttles), then get a token."""
        delay = BACKOFF_FIRST
        while not stop.is_set():
            try:
                status, page = self.browser.request("GET", "/login")
                match = CSRF_INPUT.search(page.decode())
                if status == 200 and match:
                    form = {"email": self.email, "password": self.password}
                    body = urlencode({**form, "csrf_token": match.group(1)}).encode()
                    ctype = {"Content-Type": "application/x-www-form-urlencoded"}
                    status, _ = self.browser.request("POST", "/login", body, ctype)
                    if status in (302, 303) and self.refresh_token():
                        return
                if status not in (200, 429) and status < 500:
                    raise SystemExit(f"{self.email}: sign-in answered {status}")
            except Unreachable:
                pass
            time.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    def refresh_token(self) -> bool:
        status, body = self.browser.request("GET", "/captures/token")
        if status != 200:
            return False
        self.token = json.loads(body)["csrf_token"]
        return True

    def send(self, capture: Capture) -> int | None:
        """Send one capture; its status if the server answered, None if it did not."""
        body = json.dumps(
            {
                "uuid": capture.key,
                "name": capture.name,
                "temperature": "hot",
                "note": "Met at the booth; wants a demo.",
                "source": "Crash bench",
                "captured_at": capture.made_at,
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-CSRFToken": self.token,
        }
        capture.tries += 1
        started = time.perf_counter()
        try:
            status, data = self.browser.request("POST", "/captures", body, headers)
        except Unreachable:
            self.outcomes["no answer"] += 1
            return None
        if status in (200, 201):
            answer = json.loads(data)
            if answer.get("uuid") != capture.key:
                raise SystemExit(f"{capture.key}: the server answered for {answer.get('uuid')}")
            self.latencies.append((time.perf_counter() - started) * 1000)
        self.outcomes[str(status)] += 1
        return status

    def run(self, stop: threading.Event, draining: threading.Event) -> None:
        """Capture and send until told to stop; when draining, only empty the queue."""
        self.sign_in(stop)
        delay = BACKOFF_FIRST
        last_offline_capture = 0.0
        while not stop.is_set():
            if not self.queue:
                if draining.is_set():
                    return
                self.make_capture()
            capture = self.queue[0]
            status = self.send(capture)
            if status in (200, 201):
                self.acked[capture.key] = status
                self.queue.popleft()
                delay = BACKOFF_FIRST
                continue
            if status in (302, 401):
                self.sign_in(stop)  # signed out: sign in again, then resend
                continue
            if status == 400 and capture.tries < 3 and self.refresh_token_quietly():
                continue  # a stale CSRF token: the phone fetches a fresh one and resends
            if status is not None and 400 <= status < 500 and status != 429:
                # Refused for good: the phone keeps it as "Needs attention"; here, an error.
                self.refused.append(f"{capture.key}: {status}")
                self.queue.popleft()
                continue
            # No answer or a 5xx: back off, keep capturing as a rep offline would, resend.
            now = time.perf_counter()
            if (
                not draining.is_set()
                and now - last_offline_capture > OFFLINE_CAPTURE_EVERY
                and len(self.queue) < OFFLINE_QUEUE_CAP
            ):
                self.make_capture()
                last_offline_capture = now
            stop.wait(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, BACKOFF_MAX)

    def refresh_token_quietly(self) -> bool:
        try:
            return self.refresh_token()
        except Unreachable:
            return False


# --- the run ------------------------------------------------------------------------------


def prepare(url: str, clients: int, run_id: str) -> list[tuple[str, str]]:
    """Migrate the database and make the run's reps; their (email, password)."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    accounts = []
    with Session(engine) as session:
        for n in range(1, clients + 1):
            email = f"crash-{run_id}-{n}@example.com"
            password = secrets.token_urlsafe(16)
            users.create_user(
                session,
                email,
                password,
                role="rep",
                name=f"Crash Rep {n}",
                password_method=USER_PASSWORD_METHOD,
            )
            accounts.append((email, password))
        session.commit()
    engine.dispose()
    return accounts


def verify(url: str, run_id: str, phones: list[Phone]) -> tuple[list[str], dict[str, int]]:
    """Read the database directly: what failed, and the counts."""
    engine = make_engine(url)
    problems: list[str] = []
    with Session(engine) as session:
        owners = dict(
            session.execute(
                select(User.id, User.email).where(User.email.like(f"crash-{run_id}-%"))
            ).all()
        )
        rows = session.execute(
            select(Lead.uuid, Lead.name, Lead.owner_id).where(Lead.owner_id.in_(owners))
        ).all()
        doubled = session.execute(
            select(Lead.uuid, func.count())
            .where(Lead.owner_id.in_(owners))
            .group_by(Lead.uuid)
            .having(func.count() > 1)
        ).all()
    engine.dispose()
    stored: dict[str, list[tuple[str, str]]] = {}
    for key, name, owner_id in rows:
        stored.setdefault(str(key), []).append((name, owners[owner_id]))
    for key, count in doubled:
        problems.append(f"UUID {key} is stored {count} times")
    made = {}
    lost = 0
    for phone in phones:
        for key, capture in phone.made.items():
            made[key] = (capture.name, phone.email)
        for key in phone.acked:
            found = stored.get(key, [])
            lost += not found
            if len(found) != 1:
                problems.append(f"acknowledged {key} is stored {len(found)} times")
            elif found[0] != made[key]:
                problems.append(f"acknowledged {key} is stored as {found[0]}, not {made[key]}")
        problems += [f"refused {line}" for line in phone.refused]
    strangers = set(stored) - set(made)
    if strangers:
        problems.append(f"{len(strangers)} stored captures no client made")
    counts = {
        "made": len(made),
        "acknowledged": sum(len(p.acked) for p in phones),
        "stored rows": len(rows),
        "distinct UUIDs stored": len(stored),
        "lost": lost,  # acknowledged, not stored
        "duplicated": len(doubled),  # UUIDs stored more than once
    }
    return problems, counts


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-pct * len(ordered) // 100) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--cycles", type=int, default=3, help="how many times to kill (3)")
    parser.add_argument("--clients", type=int, default=20, help="phones capturing (20)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (3)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument("--seed", type=int, help="for the moments of the kills")
    args = parser.parse_args(argv)
    if min(args.cycles, args.clients, args.workers, args.threads) < 1:
        parser.error("--cycles, --clients, --workers and --threads must be at least 1")
    chance = random.Random(args.seed)

    workdir = Path(tempfile.mkdtemp(prefix="quickcrm-crash-"))
    url = args.database or f"sqlite:///{workdir / 'quickcrm.sqlite3'}"
    run_id = secrets.token_hex(4)
    env = {
        **os.environ,
        "QUICKCRM_DATABASE_URL": url,
        "QUICKCRM_SECRET_KEY": secrets.token_hex(32),
        "QUICKCRM_INSTANCE_PATH": str(workdir / "instance"),
    }
    server = Server(env, free_port(), args.workers, args.threads, workdir / "gunicorn.log")
    stop, draining = threading.Event(), threading.Event()
    try:
        accounts = prepare(url, args.clients, run_id)
        phones = [
            Phone(n, email, password, server.port)
            for n, (email, password) in enumerate(accounts, start=1)
        ]
        first_start = server.start()
        threads, load_started = start_phones(phones, stop, draining)
        cycles = []
        for _ in range(args.cycles):
            load = chance.uniform(*LOAD_BEFORE_KILL)
            time.sleep(load)
            victims = server.kill()
            acked_at_kill = sum(len(p.acked) for p in phones)
            time.sleep(OUTAGE)
            queued = sum(len(p.queue) for p in phones)
            restart = server.start()
            cycles.append(
                {
                    "load s": load,
                    "killed": len(victims),
                    "acked so far": acked_at_kill,
                    "queued at restart": queued,
                    "restart s": restart,
                }
            )
        stuck = drain(threads, draining)
        elapsed = time.perf_counter() - load_started
        stop.set()
        server.stop()
        problems, counts = verify(url, run_id, phones)
        if stuck:
            problems.append(f"{len(stuck)} clients did not drain their queue in 120 s")
    finally:
        stop.set()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    report(args, url, first_start, cycles, phones, counts, elapsed, problems)
    return 1 if problems else 0


def report(args, url, first_start, cycles, phones, counts, elapsed, problems) -> None:
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite (temporary file)"
    outcomes = sum((p.outcomes for p in phones), Counter())
    resent = sum(1 for p in phones for c in p.made.values() if c.tries > 1)
    resent_already = sum(
        1 for p in phones for k, c in p.made.items() if c.tries > 1 and p.acked.get(k) == 200
    )
    latencies = [ms for p in phones for ms in p.latencies]
    print(
        f"{kind}: gunicorn wsgi:app, {args.workers} workers x {args.threads} threads;"
        f" {args.clients} clients; {args.cycles} SIGKILLs of master + workers"
    )
    print(f"  first start {first_start:.1f} s")
    for n, cycle in enumerate(cycles, start=1):
        print(
            f"  kill {n}: after {cycle['load s']:.1f} s of load, {cycle['killed']} processes"
            f" killed, {cycle['acked so far']} acknowledged so far,"
            f" {cycle['queued at restart']} queued on the phones;"
            f" back up in {cycle['restart s']:.1f} s"
        )
    print(
        f"  captures made {counts['made']}, acknowledged {counts['acknowledged']},"
        f" stored {counts['stored rows']} rows / {counts['distinct UUIDs stored']} UUIDs"
        f" in {elapsed:.1f} s"
    )
    print(
        f"  answers: {dict(sorted(outcomes.items()))};"
        f" captures sent more than once {resent}, of which the server already had"
        f" {resent_already} (200: the reply was lost in the kill)"
    )
    if latencies:
        print(
            f"  acknowledged POST /captures: median {statistics.median(latencies):.1f} ms,"
            f" p95 {percentile(latencies, 95):.1f} ms"
            f" ({len(latencies) / elapsed:.0f} per second overall, outages included)"
        )
    if problems:
        print(f"  FAILED: {len(problems)} problems")
        for line in problems[:20]:
            print(f"    {line}")
    else:
        print("  OK: every acknowledged capture is stored exactly once; no UUID twice")


if __name__ == "__main__":
    sys.exit(main())
