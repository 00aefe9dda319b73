"""How much memory does a gunicorn worker need when people sign in at once?

Run from the repository root::

    python bench/signin.py [--clients 8] [--rounds 5] [--threads 4] [--database URL]

The real setup: gunicorn serving ``wsgi:app`` with one worker of ``--threads`` threads on a
free port of 127.0.0.1, users whose passwords are hashed with the app's method (scrypt,
32 MB of memory for each hash). ``--clients`` clients sign in ``--rounds`` times each, all
at once (GET /login for the CSRF token, then POST /login), with
``QUICKCRM_SIGN_IN_ADDRESS_LIMIT`` and ``QUICKCRM_SIGN_IN_ACCOUNT_LIMIT`` raised so the
throttle does not refuse them. It prints the worker's resident memory before the burst and
its peak (``VmHWM`` of /proc/PID/status: the most it ever held), the sign-ins per second
and their latency.

Two runs, one after the other on fresh servers:

- **bounded**: the app as it is (``quickcrm.domain.users.SIMULTANEOUS_HASHES`` hashes at a
  time in a process);
- **unbounded**: the same with the bound lifted in the worker (a gunicorn hook replaces the
  semaphore), which is how the app hashed before.

This prints figures; it is a bench, not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

from bench.crash import Browser, Server, free_port  # noqa: E402
from quickcrm import migrate  # noqa: E402
from quickcrm.db import make_engine  # noqa: E402
from quickcrm.domain import users  # noqa: E402

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "bench sign-in burst 42"
UNBOUNDED_HOOK = """
import threading


def post_worker_init(worker):
    from quickcrm.domain import users

    users._hashing = threading.BoundedSemaphore(1000)
"""


def kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def sign_in(port: int, email: str) -> float:
    """One sign-in from a fresh browser; seconds the POST took."""
    browser = Browser(port)
    status, page = browser.request("GET", "/login")
    token = CSRF_INPUT.search(page.decode()).group(1)
    body = urlencode({"email": email, "password": PASSWORD, "csrf_token": token}).encode()
    started = time.perf_counter()
    status, _ = browser.request(
        "POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    took = time.perf_counter() - started
    browser.close()
    if status not in (302, 303):
        raise SystemExit(f"{email}: sign-in answered {status}")
    return took


def burst(label: str, env: dict, args, emails: list[str], folder: Path, hook: str | None):
    if hook:
        config = folder / "unbounded.py"
        config.write_text(hook)
        env = {**env, "GUNICORN_CMD_ARGS": f"--config {config}"}
    server = Server(env, free_port(), 1, args.threads, folder / f"gunicorn-{label}.log")
    server.start()
    try:
        (worker,) = server.worker_pids()
        sign_in(server.port, emails[0])  # warm: the app's modules, templates, a connection
        before = kib(worker, "VmRSS")
        latencies: list[float] = []
        lock = threading.Lock()

        def client(email: str) -> None:
            for _ in range(args.rounds):
                took = sign_in(server.port, email)
                with lock:
                    latencies.append(took)

        threads = [threading.Thread(target=client, args=(e,)) for e in emails]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        peak = kib(worker, "VmHWM")
    finally:
        server.stop()
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(
        f"  {label:<10} worker RSS before {before / 1024:6.1f} MB, peak {peak / 1024:6.1f} MB"
        f" (+{(peak - before) / 1024:5.1f} MB); {len(latencies) / elapsed:5.1f} sign-ins/s,"
        f" POST median {statistics.median(latencies) * 1000:5.0f} ms, p95 {p95 * 1000:5.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database", help="a scratch database URL (default: a SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="quickcrm-signin-"))
    url = args.database or f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    stamp = int(time.time())
    emails = [f"signin{stamp}-{n}@bench.example" for n in range(args.clients)]
    with Session(engine) as session:
        for email in emails:
            users.create_user(session, email, PASSWORD, role="rep")
        session.commit()
    engine.dispose()
    env = {
        **os.environ,
        "QUICKCRM_DATABASE_URL": url,
        "QUICKCRM_SECRET_KEY": "bench-signin",
        "QUICKCRM_INSTANCE_PATH": str(folder),
        "QUICKCRM_SIGN_IN_ADDRESS_LIMIT": "100000",
        "QUICKCRM_SIGN_IN_ACCOUNT_LIMIT": "100000",
    }
    print(
        f"{args.clients} clients x {args.rounds} sign-ins, 1 worker x {args.threads} threads,"
        f" {users.DEFAULT_PASSWORD_METHOD}, {engine.dialect.name}"
    )
    try:
        burst("bounded", env, args, emails, folder, None)
        burst("unbounded", env, args, emails, folder, UNBOUNDED_HOOK)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
