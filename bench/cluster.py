"""Two app servers behind Caddy on one PostgreSQL: kill one in the middle of a capture load —
is every acknowledged capture kept once, and do sessions, throttles and imports span both?

Run from the repository root::

    python bench/cluster.py [--database-url URL] [--clients 20] [--seconds 30]
                            [--kill-after 10] [--outage 3] [--workers 2] [--threads 4]
                            [--no-caddy]

What it does, as a team with two app servers would see it:

1. The database (``--database-url``, a PostgreSQL database made for the bench: it is
   migrated, never emptied — the run makes its own users and counts only their records).
2. Two gunicorn servers, A and B, on ``wsgi:app``, each on a free port of 127.0.0.1 with an
   instance folder of its own, the same ``QUICKCRM_SECRET_KEY`` and
   ``QUICKCRM_TRUSTED_PROXIES=1``; and Debian's Caddy (``/usr/bin/caddy``) in front on a
   free port, over plain HTTP (TLS is not what this measures), sending each request to
   the server with the fewest requests in progress, with active health checks on
   ``/healthz`` every second (the Caddyfile is ``caddyfile`` below). Without Caddy
   (``--no-caddy``, or none installed) each client sends its requests to A and B in turn.
3. ``--clients`` reps (bench/crash.py's phones) sign in through Caddy and capture as the
   phone's queue does: JSON to ``POST /captures`` with a UUID made on the phone, resent
   until acknowledged (201 or 200) after no answer or a 5xx, still capturing meanwhile.
4. After ``--kill-after`` seconds, server A's master and workers get SIGKILL at once (its
   process group); ``--outage`` seconds later A is started again. The load goes on until
   ``--seconds``; then the phones empty their queues.
5. Checks, with both servers up, each request sent straight to A or B (not through Caddy):
   a session made on A works on B; wrong passwords sent to A and B in turn meet the
   sign-in throttle at the same attempt as on A alone; API requests sent to A and B in turn
   meet the token's rate limit at the same request as on A alone; a CSV import uploaded and
   started through A finishes through B's progress polls with every row.
6. The database is read directly: acknowledged, stored, lost (acknowledged but not stored)
   and duplicated (a UUID stored twice) captures — bench/crash.py's ``verify``.

It prints those figures, the 5xx answers inside the kill window (from the kill until A is
back and a health check has seen it) and outside it, which server answered how many
captures (their access logs), throughput and latency. It exits 1 when a capture is lost
or duplicated, a 5xx comes outside the kill window, or a check fails.

What Caddy 2.6.2 retries (``lb_try_duration``): a request whose connection to an upstream
could not be made (a dial error: the killed server's port refuses) is tried on the next
upstream, whatever its method; a request that reached an upstream which then died is
retried only if it is a GET — a POST gets 502 and the phone sends it again, which is safe
because a capture is stored once per UUID. This prints figures; it is a bench, not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.crash import (  # noqa: E402
    CSRF_INPUT,
    USER_PASSWORD_METHOD,
    Browser,
    Phone,
    Server,
    drain,
    free_port,
    percentile,
    prepare,
    start_phones,
    stop,
    verify,
)
from quickcrm.config import Config  # noqa: E402
from quickcrm.db import make_engine  # noqa: E402
from quickcrm.domain import api_tokens, users  # noqa: E402
from quickcrm.models import Import, Lead  # noqa: E402

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/qc_cluster"
CADDY = "/usr/bin/caddy"
HEALTH_INTERVAL = 1  # seconds between Caddy's health checks of each server
SETTLE = 2 * HEALTH_INTERVAL  # after a restart, until a health check has surely seen it
API_LIMIT = 5  # requests a minute for the check's API tokens
IMPORT_ROWS = 3000
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def caddyfile(port: int, upstreams: list[int], storage: Path) -> str:
    """Caddy in front of the app servers: a server whose /healthz does not answer 200 is
    out of rotation until it does; a request that cannot reach one server is tried on the
    other for up to 5 s.

    ``least_conn``, not ``round_robin``: Caddy 2.6.2's round robin moves one counter shared
    by every request, so while one of two servers is down a request can land on the dead
    one twice and get an instant 503 "no upstreams available" (seen in this bench);
    ``least_conn`` chooses among the servers that are up."""
    servers = " ".join(f"127.0.0.1:{upstream}" for upstream in upstreams)
    return f"""{{
	admin off
	auto_https off
	skip_install_trust
	storage file_system {storage}
}}

http://127.0.0.1:{port} {{
	reverse_proxy {servers} {{
		lb_policy least_conn
		lb_try_duration 5s
		lb_try_interval 250ms
		fail_duration 2s
		health_uri /healthz
		health_interval {HEALTH_INTERVAL}s
		health_timeout 2s
	}}
}}
"""


class Caddy:
    """Caddy on a Caddyfile in ``folder``, its data and config kept there too."""

    def __init__(self, folder: Path, port: int, upstreams: list[int]):
        self.folder, self.port = folder, port
        folder.mkdir()
        (folder / "Caddyfile").write_text(caddyfile(port, upstreams, folder / "data"))
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "HOME": str(self.folder),
            "XDG_DATA_HOME": str(self.folder / "data"),
            "XDG_CONFIG_HOME": str(self.folder / "config"),
        }
        config = str(self.folder / "Caddyfile")
        command = [CADDY, "run", "--config", config, "--adapter", "caddyfile"]
        with (self.folder / "caddy.log").open("a") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=log, start_new_session=True
            )
        started = time.perf_counter()
        while time.perf_counter() - started < 30:
            if self.process.poll() is not None:
                log = (self.folder / "caddy.log").read_text()[-2000:]
                raise SystemExit(f"caddy exited with {self.process.returncode}:\n{log}")
            if _status(self.port, "/healthz") == 200:
                return
            time.sleep(0.1)
        raise SystemExit("caddy did not answer within 30 s")

    def stop(self) -> None:
        stop(self.process, 10)


def _status(port: int, path: str) -> int | None:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None


class RoundRobin(Browser):
    """Without a proxy: each request to the next server, a new connection each time."""

    def __init__(self, ports: list[int]):
        super().__init__(ports[0])
        self.ports, self.turn = ports, 0

    def request(self, method, path, body=None, headers=None):
        self.close()
        self.port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        return super().request(method, path, body, headers)


class Direct(Browser):
    """A browser that talks to one server at a time, from a client address of its own (the
    app trusts ``X-Forwarded-For`` as from one proxy)."""

    def __init__(self, port: int, address: str):
        super().__init__(port)
        self.address = address

    def at(self, port: int) -> Direct:
        if port != self.port:
            self.close()
            self.port = port
        return self

    def request(self, method, path, body=None, headers=None):
        headers = {"X-Forwarded-For": self.address, **(headers or {})}
        return super().request(method, path, body, headers)

    def csrf(self, path: str) -> str:
        status, page = self.request("GET", path)
        match = CSRF_INPUT.search(page.decode())
        if status != 200 or match is None:
            raise SystemExit(f"GET {path} on :{self.port} answered {status} without a form")
        return match.group(1)

    def sign_in(self, email: str, password: str) -> int:
        form = {"email": email, "password": password, "csrf_token": self.csrf("/login")}
        return self.request("POST", "/login", urlencode(form).encode(), FORM)[0]


@dataclass
class ClusterPhone(Phone):
    """bench/crash.py's phone, noting when each capture's answer came and what it was."""

    answers: list[tuple[float, int | None]] = field(default_factory=list)

    def send(self, capture):
        status = super().send(capture)
        self.answers.append((time.perf_counter(), status))
        return status


# --- the checks -----------------------------------------------------------------------------


@dataclass
class Check:
    what: str
    ok: bool
    detail: str


@dataclass
class Accounts:
    admin_id: int
    admin: tuple[str, str]
    throttled: str  # an account for the wrong passwords
    api_secrets: list[str]  # two tokens of API_LIMIT requests a minute


def make_accounts(url: str, run_id: str) -> Accounts:
    engine = make_engine(url)
    password = secrets.token_urlsafe(16)
    with Session(engine) as session:
        admin = users.create_user(
            session,
            f"cluster-{run_id}-admin@example.com",
            password,
            role="admin",
            name="Cluster Admin",
            password_method=USER_PASSWORD_METHOD,
        )
        throttled = users.create_user(
            session,
            f"cluster-{run_id}-throttled@example.com",
            secrets.token_urlsafe(16),
            role="rep",
            password_method=USER_PASSWORD_METHOD,
        )
        session.flush()
        found = []
        for n in (1, 2):
            raw = {
                "token_name": f"Cluster bench {run_id} {n}",
                "source": "Cluster bench API",
                "rate_limit": str(API_LIMIT),
                "owner": str(admin.id),
            }
            form = api_tokens.ApiTokenForm.clean(session, raw)
            assert form.ok, form.errors
            found.append(api_tokens.create_token(session, form)[1])
        session.commit()
        made = Accounts(admin.id, (admin.email, password), throttled.email, found)
    engine.dispose()
    return made


def check_session(a: int, b: int, email: str, password: str) -> Check:
    """Sign in on A; the same cookie on B reads the session and stores a capture there."""
    browser = Direct(a, "203.0.113.10")
    signed_in = browser.sign_in(email, password)
    status, body = browser.at(b).request("GET", "/captures/token")
    if signed_in not in (302, 303) or status != 200:
        return Check("session made on A works on B", False, f"sign-in {signed_in}, B {status}")
    token = json.loads(body)["csrf_token"]
    key = str(uuid.uuid4())
    capture = json.dumps({"uuid": key, "name": "Cross-server capture", "source": "Cluster"})
    headers = {"Content-Type": "application/json", "X-CSRFToken": token}
    stored, _ = browser.request("POST", "/captures", capture.encode(), headers)
    again, _ = browser.at(a).request("POST", "/captures", capture.encode(), headers)
    ok = stored == 201 and again == 200
    detail = (
        f"signed in on A ({signed_in}); on B /captures/token {status} and a capture with"
        f" A's CSRF token {stored}; the same capture again on A {again}"
    )
    return Check("session made on A works on B", ok, detail)


def first_sign_in_refusal(ports: list[int], email: str, address: str) -> int | None:
    """Wrong passwords for ``email`` sent to ``ports`` in turn: the attempt answered 429."""
    browser = Direct(ports[0], address)
    token = browser.csrf("/login")
    for attempt in range(1, 3 * Config.SIGN_IN_ACCOUNT_LIMIT):
        form = {"email": email, "password": "not the password at all", "csrf_token": token}
        body = urlencode(form).encode()
        status, _ = browser.at(ports[attempt % len(ports)]).request("POST", "/login", body, FORM)
        if status == 429:
            return attempt
        if status != 401:
            raise SystemExit(f"a wrong password answered {status}")
    return None


def check_sign_in_throttle(a: int, b: int, email: str) -> Check:
    alone = first_sign_in_refusal([a], email, "203.0.113.11")
    both = first_sign_in_refusal([a, b], email, "203.0.113.12")
    limit = Config.SIGN_IN_ACCOUNT_LIMIT
    ok = alone == both == limit + 1
    detail = f"429 at attempt {alone} on A alone, at {both} on A and B in turn (limit {limit})"
    return Check("sign-in throttle counted once across both", ok, detail)


def first_api_refusal(ports: list[int], secret: str) -> int | None:
    browser = Direct(ports[0], "203.0.113.13")
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    for attempt in range(1, 3 * API_LIMIT):
        body = json.dumps({"name": f"API lead {attempt}"}).encode()
        status, _ = browser.at(ports[attempt % len(ports)]).request(
            "POST", "/api/leads", body, headers
        )
        if status == 429:
            return attempt
        if status != 201:
            raise SystemExit(f"an API request answered {status}")
    return None


def check_api_limit(a: int, b: int, secrets_: list[str]) -> Check:
    alone = first_api_refusal([a], secrets_[0])
    both = first_api_refusal([a, b], secrets_[1])
    ok = alone == both == API_LIMIT + 1
    detail = f"429 at request {alone} on A alone, at {both} on A and B in turn (limit {API_LIMIT})"
    return Check("API rate limit counted once across both", ok, detail)


def multipart(fields: dict[str, str], name: str, filename: str, data: bytes):
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
        f"\r\nContent-Type: text/csv\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def check_import(a: int, b: int, accounts: Accounts, url: str, run_id: str) -> Check:
    """Upload and start a CSV import through A; poll its progress through B until done."""
    what = "import started on A finishes on B"
    browser = Direct(a, "203.0.113.14")
    browser.sign_in(*accounts.admin)
    rows = "".join(
        f"Imported Person {n},import-{run_id}-{n}@example.com,Company {n % 97}\n"
        for n in range(IMPORT_ROWS)
    )
    body, headers = multipart(
        {"csrf_token": browser.csrf("/admin/import"), "kind": "leads"},
        "file",
        "attendees.csv",
        ("Name,Email,Company\n" + rows).encode(),
    )
    status, _ = browser.request("POST", "/admin/import", body, headers)
    if status != 303:
        return Check(what, False, f"the upload on A answered {status}")
    engine = make_engine(url)
    with Session(engine) as session:
        upload = session.scalars(
            select(Import).where(Import.created_by_id == accounts.admin_id).order_by(Import.id)
        ).all()[-1]
        import_id = upload.id
    path = f"/admin/import/{import_id}"
    form = {
        "csrf_token": browser.csrf(path),
        "owner": str(accounts.admin_id),
        "source": f"Cluster import {run_id}",
        "on_duplicate": "skip",
    }
    started, _ = browser.request("POST", path, urlencode(form).encode(), FORM)
    with Session(engine) as session:
        upload = session.get(Import, import_id)
        on_a = (upload.status, upload.rows_done)
    _, token = browser.request("GET", "/captures/token")
    headers = {"HX-Request": "true", "X-CSRFToken": json.loads(token)["csrf_token"]}
    polls, done, deadline = 0, False, time.perf_counter() + 300
    browser.at(b)
    while not done and time.perf_counter() < deadline:
        status, page = browser.request("POST", f"{path}/run", b"", headers)
        polls += 1
        if status != 200:
            return Check(what, False, f"a progress poll on B answered {status}")
        done = "Import done" in page.decode()
    with Session(engine) as session:
        upload = session.get(Import, import_id)
        finished = (upload.status, upload.imported, upload.refused, upload.duplicates)
        leads = session.scalar(select(func.count()).where(Lead.import_id == import_id))
    engine.dispose()
    ok = (
        started == 303
        and on_a == ("running", 0)
        and finished == ("done", IMPORT_ROWS, 0, 0)
        and leads == IMPORT_ROWS
    )
    detail = (
        f"{IMPORT_ROWS:,} rows uploaded and started on A (status {on_a[0]}, {on_a[1]} rows"
        f" done there); {polls} progress polls on B; report: {finished[1]:,} imported,"
        f" {finished[2]} refused, {finished[3]} duplicates; {leads:,} leads stored"
    )
    return Check(what, ok, detail)


# --- the run --------------------------------------------------------------------------------


def access_log(workdir: Path, server: str) -> Path:
    return workdir / f"access-{server}.log"


def captures_answered(log: Path, start: int = 0) -> int:
    """POST /captures lines in a gunicorn access log, from byte ``start``."""
    with log.open("rb") as fh:
        fh.seek(start)
        return sum(1 for line in fh if b'"POST /captures ' in line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE, help="a bench database")
    parser.add_argument("--clients", type=int, default=20, help="phones capturing (20)")
    parser.add_argument("--seconds", type=float, default=30, help="seconds of load (30)")
    parser.add_argument("--kill-after", type=float, default=10, help="seconds before the kill")
    parser.add_argument("--outage", type=float, default=3, help="seconds server A stays down")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers a server (2)")
    parser.add_argument("--threads", type=int, default=4, help="threads a worker (4)")
    parser.add_argument("--no-caddy", action="store_true", help="round robin from the clients")
    parser.add_argument("--keep", action="store_true", help="keep the logs and the Caddyfile")
    args = parser.parse_args(argv)
    if args.kill_after + args.outage >= args.seconds:
        parser.error("--kill-after + --outage must end before --seconds")
    use_caddy = not args.no_caddy and Path(CADDY).exists()

    url, run_id = args.database_url, secrets.token_hex(4)
    workdir = Path(tempfile.mkdtemp(prefix="quickcrm-cluster-"))
    secret_key = secrets.token_hex(32)
    servers = []
    for name in ("a", "b"):
        options = f"--access-logfile {access_log(workdir, name)}"
        env = {
            **os.environ,
            "QUICKCRM_DATABASE_URL": url,
            "QUICKCRM_SECRET_KEY": secret_key,
            "QUICKCRM_INSTANCE_PATH": str(workdir / f"instance-{name}"),
            "QUICKCRM_TRUSTED_PROXIES": "1",
            "GUNICORN_CMD_ARGS": options,
        }
        log = workdir / f"gunicorn-{name}.log"
        servers.append(Server(env, free_port(), args.workers, args.threads, log))
    a, b = servers
    caddy = Caddy(workdir / "caddy", free_port(), [a.port, b.port]) if use_caddy else None
    stop, draining = threading.Event(), threading.Event()
    try:
        phone_accounts = prepare(url, args.clients, run_id)
        accounts = make_accounts(url, run_id)
        for server in servers:
            server.start()
        if caddy is not None:
            caddy.start()
        front = caddy.port if caddy is not None else a.port
        phones = [
            ClusterPhone(n, email, password, front)
            for n, (email, password) in enumerate(phone_accounts, start=1)
        ]
        if caddy is None:
            for phone in phones:
                phone.browser = RoundRobin([a.port, b.port])
        threads, load_started = start_phones(phones, stop, draining)
        time.sleep(args.kill_after)
        a_before = captures_answered(access_log(workdir, "a"))
        killed_at = time.perf_counter()
        victims = a.kill()
        acked_at_kill = sum(len(p.acked) for p in phones)
        time.sleep(args.outage)
        restarted = a.start()
        back_at = time.perf_counter()
        a_log_at_restart = (access_log(workdir, "a")).stat().st_size
        b_during = captures_answered(access_log(workdir, "b"))
        time.sleep(max(0.0, args.seconds - (time.perf_counter() - load_started)))
        stuck = len(drain(threads, draining))
        elapsed = time.perf_counter() - load_started
        stop.set()
        served = {
            "A before the kill": a_before,
            "A after its restart": captures_answered(access_log(workdir, "a"), a_log_at_restart),
            "B": captures_answered(access_log(workdir, "b")),
        }
        checks = [
            check_session(a.port, b.port, *accounts.admin),
            check_sign_in_throttle(a.port, b.port, accounts.throttled),
            check_api_limit(a.port, b.port, accounts.api_secrets),
            check_import(a.port, b.port, accounts, url, run_id),
        ]
        problems, counts = verify(url, run_id, phones)
        if stuck:
            problems.append(f"{stuck} clients did not drain their queue in 120 s")
    finally:
        stop.set()
        if caddy is not None:
            caddy.stop()
        for server in servers:
            server.stop()
        if args.keep:
            print(f"Logs and the Caddyfile kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    window = (killed_at, back_at + SETTLE)
    inside, outside = Counter(), Counter()
    for phone in phones:
        for moment, status in phone.answers:
            if status is None or status >= 500:
                label = "no answer" if status is None else str(status)
                (inside if window[0] <= moment <= window[1] else outside)[label] += 1
    last_error = max(
        (
            moment - killed_at
            for phone in phones
            for moment, status in phone.answers
            if (status is None or status >= 500) and moment >= killed_at
        ),
        default=None,
    )
    timeline = {
        "killed": len(victims),
        "acked at kill": acked_at_kill,
        "restart": restarted,
        "window": window[1] - window[0],
        "last error": last_error,
        "B during": b_during,
    }
    report(args, use_caddy, timeline, phones, counts, served, inside, outside, elapsed, checks)
    for line in problems[:20]:
        print(f"    {line}")
    failed = (
        problems
        or counts["lost"]
        or counts["duplicated"]
        or sum(outside.values())
        or not all(check.ok for check in checks)
    )
    print("  FAILED" if failed else "  OK")
    return 1 if failed else 0


def report(args, use_caddy, timeline, phones, counts, served, inside, outside, elapsed, checks):
    front = "Caddy (least_conn, health checks on /healthz)" if use_caddy else "client round robin"
    print(
        f"Two gunicorn servers ({args.workers} workers x {args.threads} threads each) on one"
        f" {'PostgreSQL' if args.database_url.startswith('postgresql') else 'SQLite'}"
        f" database, {front}; {args.clients} clients for {args.seconds:.0f} s"
    )
    last = timeline["last error"]
    print(
        f"  server A SIGKILLed after {args.kill_after:.0f} s ({timeline['killed']} processes,"
        f" {timeline['acked at kill']} captures acknowledged so far), started again"
        f" {args.outage:.0f} s later, answering in {timeline['restart']:.1f} s;"
        f" kill window {timeline['window']:.1f} s; last failed answer"
        f" {'none' if last is None else f'{last:.2f} s after the kill'}"
    )
    print(
        f"  captures made {counts['made']}, acknowledged {counts['acknowledged']},"
        f" stored {counts['stored rows']} rows / {counts['distinct UUIDs stored']} UUIDs;"
        f" lost {counts['lost']}, duplicated {counts['duplicated']}"
    )
    print(
        f"  failed answers in the kill window {dict(inside) or 0}, outside it {dict(outside) or 0}"
    )
    print(
        "  POST /captures answered by A before the kill {A before the kill}, by A after its"
        " restart {A after its restart}, by B {B} (of which before A's restart"
        " {during})".format(**served, during=timeline["B during"])
    )
    outcomes = sum((p.outcomes for p in phones), Counter())
    resent = sum(1 for p in phones for c in p.made.values() if c.tries > 1)
    already = sum(
        1 for p in phones for k, c in p.made.items() if c.tries > 1 and p.acked.get(k) == 200
    )
    print(
        f"  answers {dict(sorted(outcomes.items()))}; captures sent more than once {resent},"
        f" of which already stored {already} (200: A had committed, its answer was lost)"
    )
    latencies = [ms for p in phones for ms in p.latencies]
    if latencies:
        print(
            f"  {counts['acknowledged'] / elapsed:.0f} captures acknowledged a second over"
            f" {elapsed:.1f} s; latency p50 {percentile(latencies, 50):.1f} ms,"
            f" p95 {percentile(latencies, 95):.1f} ms, p99 {percentile(latencies, 99):.1f} ms"
        )
    for check in checks:
        print(f"  {'ok    ' if check.ok else 'FAILED'} {check.what}: {check.detail}")


if __name__ == "__main__":
    sys.exit(main())
