"""How fast is a capture, and how heavy is the capture screen?

Run from the repository root::

    python bench/capture.py [--n 500] [--synchronous FULL,NORMAL] [--dir PATH]

Two figures, both taken in-process through Flask's test client (no sockets, no TLS, no
network), on a fresh SQLite file in a temporary folder:

1. **Server time of the capture POST.** The real app (``create_app`` with the test
   settings, migrated with ``quickcrm.migrate.upgrade``), a signed-in rep, and N htmx
   capture posts to ``/``, each a distinct lead with a temperature, a next action for
   tomorrow, a note and a source. Each ``client.post`` is timed with
   ``time.perf_counter``: routing, session and CSRF checks, validation, the INSERTs and
   commit, and rendering the fragment the phone swaps in. What a rep feels on a phone is
   this plus the network round trip, which usually dominates; this script says how much
   of the total is ours.

2. **A baseline** to read that number against: a bare Flask app whose one POST route does
   one ``sqlite3`` INSERT into a one-table SQLite file (WAL, the same ``synchronous`` level)
   and commits. The ratio of the medians says how much the app adds on top of "Flask plus
   a durable write".

Both are measured for each SQLite ``synchronous`` level given (default ``FULL,NORMAL``):
FULL is what the app runs (a commit returns once the WAL is synced to disk, so an answered
capture survives a power cut); NORMAL is what it ran before, for the price of that
guarantee. Each level gets its own fresh database file in ``--dir`` (the system's temporary
folder by default — put it on the disk you deploy on: on a tmpfs a sync costs nothing), and
the levels take turns in rounds so that other work on the machine weighs on both alike.

Then the bytes of a cold load of ``/``: the HTML plus every same-origin stylesheet, icon,
manifest and script the page links to, raw and gzipped.

This prints figures; it is not a test and asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import brotli  # noqa: E402
from flask import Flask, request  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.crash import Browser, Server, Unreachable, free_port  # noqa: E402
from quickcrm import create_app, migrate  # noqa: E402
from quickcrm.config import TestConfig  # noqa: E402
from quickcrm.db import SQLITE_SYNCHRONOUS, make_engine  # noqa: E402
from quickcrm.domain import users  # noqa: E402

WARMUP = 20
EMAIL = "rep@example.com"
PASSWORD = "correct horse battery"  # noqa: S105 - a throwaway rep in a temporary database
ASSET_RELS = {"stylesheet", "icon", "apple-touch-icon", "manifest"}
# An ES module's static imports (`import … from "./x.js"`, `import "./x.js"`), which the
# browser fetches before running it; a dynamic import() is fetched only when it is used.
STATIC_IMPORT = re.compile(r"^\s*(?:import|export)\b[^;(]*?[\s}*]?[\"']([^\"']+\.js)[\"']", re.M)
SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")
ROUND = 25  # requests per level per turn when several levels are compared


# --- timing -----------------------------------------------------------------------------


def time_requests(send: Callable[[int], object], n: int, warmup: int = WARMUP) -> list[float]:
    """Call ``send(i)`` ``warmup`` times untimed, then ``n`` times; milliseconds per call."""
    for i in range(warmup):
        send(i)
    timings = []
    for i in range(warmup, warmup + n):
        start = time.perf_counter()
        send(i)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    # Nearest-rank 95th percentile: the time 95% of requests beat or equal.
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return {
        "median": statistics.median(ordered),
        "p95": p95,
        "mean": statistics.fmean(ordered),
    }


def check(response, what: str) -> None:
    if response.status_code != 200:
        body = response.get_data(as_text=True)[:500]
        raise SystemExit(f"{what}: expected 200, got {response.status_code}\n{body}")


# --- the real app -------------------------------------------------------------------------


def build_app(workdir: Path, synchronous: str = SQLITE_SYNCHRONOUS) -> Flask:
    """The real app on a freshly migrated SQLite file, with one rep in it; its engine runs
    the given ``synchronous`` level (the app's own, FULL, unless a comparison asks)."""
    url = f"sqlite:///{workdir / 'quickcrm.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()

    config = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    app = create_app({**config, "DATABASE_URL": url}, instance_path=str(workdir / "instance"))
    if synchronous != SQLITE_SYNCHRONOUS:
        # Only a bench swaps the engine: the app itself always runs SQLITE_SYNCHRONOUS.
        app.extensions["quickcrm.engine"].dispose()
        engine = make_engine(url, synchronous=synchronous)
        app.extensions["quickcrm.engine"] = engine
        app.extensions["quickcrm.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    with app.extensions["quickcrm.sessionmaker"]() as session:
        users.create_user(
            session,
            EMAIL,
            PASSWORD,
            role="rep",
            name="Bench Rep",
            password_method=app.config["PASSWORD_METHOD"],
        )
        session.commit()
    return app


class _CsrfInput(HTMLParser):
    """Finds ``<input name="csrf_token" value="...">``."""

    def __init__(self):
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "input" and found.get("name") == "csrf_token" and self.token is None:
            self.token = found.get("value")


def csrf_token(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    check(response, f"GET {path}")
    parser = _CsrfInput()
    parser.feed(response.get_data(as_text=True))
    if not parser.token:
        raise SystemExit(f"no csrf_token input on {path}")
    return parser.token


def sign_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code not in (302, 303):
        raise SystemExit(f"sign-in failed: {response.status_code}")
    return client


def capture_sender(client: FlaskClient) -> Callable[[int], object]:
    """A function posting the i-th capture the way htmx does, failing on anything but 200."""
    headers = {"HX-Request": "true", "X-CSRFToken": csrf_token(client, "/")}
    tomorrow = (date.today() + timedelta(days=1)).isoformat()

    def send(i: int):
        response = client.post(
            "/",
            data={
                "name": f"Maria Novak {i}",
                "temperature": "hot",
                "next_action_on": tomorrow,
                "note": f"Wants {i % 50 + 1} seats; call after the demo. Met at booth B12.",
                "source": "Trade show Lyon",
            },
            headers=headers,
        )
        check(response, f"capture POST #{i}")
        return response

    return send


# --- the baseline -------------------------------------------------------------------------


def build_baseline(
    workdir: Path, synchronous: str = SQLITE_SYNCHRONOUS
) -> tuple[Flask, sqlite3.Connection]:
    """A bare Flask app: one POST route, one INSERT, one commit.

    One connection is kept open for the whole run, as the app's connection pool does.
    """
    if synchronous not in SYNCHRONOUS_LEVELS:
        raise ValueError(f"unknown SQLite synchronous level {synchronous!r}")
    connection = sqlite3.connect(workdir / "baseline.sqlite3", check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    connection.execute("CREATE TABLE lead (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    connection.commit()

    app = Flask("baseline")

    @app.post("/")
    def save():
        connection.execute("INSERT INTO lead (name) VALUES (?)", (request.form["name"],))
        connection.commit()
        return "saved"

    return app, connection


def baseline_sender(client: FlaskClient) -> Callable[[int], object]:
    def send(i: int):
        response = client.post("/", data={"name": f"Maria Novak {i}"})
        check(response, f"baseline POST #{i}")
        return response

    return send


# --- page weight --------------------------------------------------------------------------


class _Assets(HTMLParser):
    """Collects the URLs of linked stylesheets, icons and manifest, and script sources."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "link" and found.get("href"):
            rels = set((found.get("rel") or "").lower().split())
            if rels & ASSET_RELS:
                self.urls.append(found["href"])
        elif tag == "script" and found.get("src"):
            self.urls.append(found["src"])


def same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def page_weight(client: FlaskClient, path: str = "/") -> list[tuple[str, int, int, int, int]]:
    """(resource, raw, gzip -6, brotli, sent) bytes for the page, each same-origin asset it
    links and the service worker it registers, as a browser that accepts Brotli gets them:
    "sent" is the body the app answered (compressed by quickcrm/web/compress.py) or, for a
    static file, its Brotli copy that WhiteNoise serves once ``scripts/run`` wrote it."""
    accept = {"Accept-Encoding": "br, gzip"}

    def row(name: str, url: str, static: bool) -> tuple[str, int, int, int, int]:
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        check(plain, f"GET {url}")
        body = plain.get_data()
        sent = len(body)
        if static:
            sent = min(sent, len(brotli.compress(body)))  # whitenoise.compress keeps smaller
        else:
            with client.get(url, headers=accept) as answer:
                sent = len(answer.get_data())
        packed = len(gzip.compress(body, compresslevel=6))
        return name, len(body), packed, len(brotli.compress(body)), sent

    rows = [row(f"{path} (HTML)", path, static=False)]
    parser = _Assets()
    parser.feed(client.get(path).get_data(as_text=True))
    urls = list(dict.fromkeys(url for url in parser.urls if same_origin(url)))
    for url in urls:  # in page order, each once; a module's static imports after it
        rows.append(row(urlsplit(url).path, url, static=urlsplit(url).path != "/sw.js"))
        if url.endswith(".js") or ".js?" in url:
            code = client.get(url).get_data(as_text=True)
            for imported in STATIC_IMPORT.findall(code):
                resolved = urljoin(url, imported)
                if resolved not in urls:
                    urls.append(resolved)
    rows.append(row("/sw.js", "/sw.js", static=False))
    return rows


def install_weight(client: FlaskClient, rows) -> list[tuple[str, int]]:
    """(file, Brotli bytes) of what the service worker's install fetches besides the cold
    load: the files of its shell that the page did not load (modules loaded when used,
    the other pages' htmx), once, behind the usable page."""
    script = client.get("/sw.js").get_data(as_text=True)
    shell = json.loads(re.match(r"const QUICKCRM = (\{.*\});\n", script).group(1))["shell"]
    loaded = {name for name, *_ in rows}
    extra = []
    for url in shell:
        name = urlsplit(url).path
        if name not in loaded and name != "/" and not name.endswith(".webmanifest"):
            body = client.get(url, headers={"Accept-Encoding": "identity"}).get_data()
            extra.append((name, min(len(body), len(brotli.compress(body)))))
    return extra


# --- report -------------------------------------------------------------------------------


def print_timings(label: str, stats: dict[str, float]) -> None:
    print(
        f"  {label:<34} median {stats['median']:6.2f} ms   p95 {stats['p95']:6.2f} ms"
        f"   mean {stats['mean']:6.2f} ms"
    )


def print_weight(rows: list[tuple[str, int, int, int, int]]) -> None:
    width = max(len(row[0]) for row in rows) + 2
    print(f"  {'resource':<{width}}{'raw B':>9}{'gzip -6 B':>11}{'brotli B':>10}{'sent B':>9}")
    for name, raw, packed, br, sent in rows:
        print(f"  {name:<{width}}{raw:>9,}{packed:>11,}{br:>10,}{sent:>9,}")
    totals = [sum(row[i] for row in rows) for i in range(1, 5)]
    print(f"  {'total':<{width}}{totals[0]:>9,}{totals[1]:>11,}{totals[2]:>10,}{totals[3]:>9,}")
    before = sum(raw if name.endswith(("(HTML)", "sw.js")) else packed
                 for name, raw, packed, _, _ in rows)  # fmt: skip
    print(
        f"  before quickcrm/web/compress.py (HTML and sw.js raw, static files gzip): {before:,} B;"
        f" now {totals[3]:,} B ({before / totals[3]:.1f}x less)"
        "\n  (bodies only, no headers)"
    )


def print_install(extra: list[tuple[str, int]]) -> None:
    total = sum(size for _, size in extra)
    print(
        f"  then, behind the usable page, the service worker's install fetches {total:,} B"
        f" more (Brotli) of its shell: {', '.join(name.rsplit('/', 1)[1] for name, _ in extra)}"
    )


def time_in_turns(senders: dict[str, Callable[[int], object]], n: int) -> dict[str, list]:
    """Time ``n`` calls of each sender, the senders taking turns ``ROUND`` calls at a time
    (each warmed up first), so a busy moment on the machine falls on all of them."""
    timings: dict[str, list[float]] = {name: [] for name in senders}
    for send in senders.values():
        for i in range(WARMUP):
            send(i)
    done = 0
    while done < n:
        batch = min(ROUND, n - done)
        for name, send in senders.items():
            timings[name] += time_requests(lambda i, s=send, d=done: s(i + d), batch, 0)
        done += batch
    return timings


def levels_argument(raw: str) -> list[str]:
    levels = [level.strip().upper() for level in raw.split(",") if level.strip()]
    unknown = [level for level in levels if level not in SYNCHRONOUS_LEVELS]
    if not levels or unknown or len(set(levels)) != len(levels):
        raise argparse.ArgumentTypeError(
            f"give distinct levels among {', '.join(SYNCHRONOUS_LEVELS)}, comma-separated"
        )
    return levels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="timed requests per app")
    parser.add_argument(
        "--synchronous",
        type=levels_argument,
        default=[SQLITE_SYNCHRONOUS, "NORMAL"],
        help="SQLite synchronous levels to compare, comma-separated (default FULL,NORMAL;"
        " the app runs FULL)",
    )
    parser.add_argument(
        "--dir", type=Path, default=None, help="where the database files go (default: tmp)"
    )
    parser.add_argument(
        "--load", type=float, metavar="SECONDS",
        help="load mode: --clients clients capture for SECONDS against gunicorn, then the"
        " floor app for as long",
    )  # fmt: skip
    parser.add_argument("--weight-only", action="store_true", help="only the cold-load bytes")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database", help="load mode: a scratch PostgreSQL URL (default SQLite)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.load:
        load(args)
        return
    if args.weight_only:
        workdir = Path(tempfile.mkdtemp(prefix="quickcrm-bench-", dir=args.dir))
        app = build_app(workdir)
        print("Cold load of / (signed in): HTML, linked same-origin assets, the service worker")
        client = sign_in(app)
        rows = page_weight(client)
        print_weight(rows)
        print_install(install_weight(client, rows))
        app.extensions["quickcrm.engine"].dispose()
        shutil.rmtree(workdir, ignore_errors=True)
        return

    workdir = Path(tempfile.mkdtemp(prefix="quickcrm-bench-", dir=args.dir))
    connections: list[sqlite3.Connection] = []
    apps: dict[str, Flask] = {}
    try:
        senders, baselines, clients = {}, {}, {}
        for level in args.synchronous:
            folder = workdir / level.lower()
            folder.mkdir()
            apps[level] = build_app(folder, level)
            clients[level] = sign_in(apps[level])
            senders[level] = capture_sender(clients[level])
            baseline_app, connection = build_baseline(folder, level)
            connections.append(connection)
            baselines[level] = baseline_sender(baseline_app.test_client())
        captures = {k: summary(v) for k, v in time_in_turns(senders, args.n).items()}
        bare = {k: summary(v) for k, v in time_in_turns(baselines, args.n).items()}

        print(f"Server time per request, in-process test client, {args.n} requests each")
        print(f"(after {WARMUP} warm-up requests; excludes network, TLS and the browser),")
        print(f"SQLite files in {workdir} (WAL; synchronous level in brackets):")
        for level in args.synchronous:
            print_timings(f"capture POST / [{level}]", captures[level])
            print_timings(f"bare Flask + one INSERT [{level}]", bare[level])
        for level in args.synchronous:
            ratio = captures[level]["median"] / bare[level]["median"]
            print(f"  [{level}] capture POST is {ratio:.1f}x a bare Flask + one INSERT (median)")
        first, *others = args.synchronous
        for level in others:
            for label, figures in (("capture POST", captures), ("bare INSERT", bare)):
                ratio = figures[first]["median"] / figures[level]["median"]
                extra = figures[first]["median"] - figures[level]["median"]
                print(
                    f"  {label}: {first} / {level} = {ratio:.2f}x median"
                    f" ({extra:+.2f} ms per request)"
                )
        print()
        print("Cold load of / (signed in): HTML, linked same-origin assets, the service worker")
        rows = page_weight(clients[first])
        print_weight(rows)
        print_install(install_weight(clients[first], rows))
    finally:
        for connection in connections:
            connection.close()
        for app in apps.values():
            app.extensions["quickcrm.engine"].dispose()
        shutil.rmtree(workdir, ignore_errors=True)


# --- load: N clients for T seconds against gunicorn ---------------------------------------

FLOOR_APP = """
import os
import sqlite3
import threading

from flask import Flask, request

app = Flask("floor")
local = threading.local()


def connection():
    if not hasattr(local, "db"):
        local.db = sqlite3.connect(os.environ["FLOOR_DATABASE"])
        local.db.execute("PRAGMA journal_mode=WAL")
        local.db.execute("PRAGMA synchronous=FULL")
        local.db.execute("PRAGMA busy_timeout=10000")
    return local.db


@app.post("/")
def save():
    db = connection()
    db.execute("INSERT INTO lead (name) VALUES (?)", (request.form["name"],))
    db.commit()
    return "saved"
"""
LOAD_PASSWORD_METHOD = "pbkdf2:sha256:1000"  # cheap to create the clients' users


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes ``pids`` so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def _backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving the bench's database (same machine)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        pids = conn.scalars(
            text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    engine.dispose()
    return list(pids)


def _load_client(port: int, form_path: str, prefix: str, until: list, sign_in_as, out: dict):
    """One client: sign in (if ``sign_in_as``), then, once ``out["ready"]`` is set, POST
    captures back to back until ``until[0]``; counts the acknowledged ones (200) and their
    latencies."""
    browser = Browser(port)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true"}
    if sign_in_as:
        status, page = browser.request("GET", "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        body = urlencode({"email": sign_in_as, "password": PASSWORD, "csrf_token": token})
        status, _ = browser.request("POST", "/login", body.encode(), headers)
        if status not in (302, 303):
            raise SystemExit(f"load client {sign_in_as}: sign-in answered {status}")
        status, page = browser.request("GET", "/")
        headers["X-CSRFToken"] = (
            re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        )
    out["signed_in"].release()
    out["ready"].wait()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    n, acked, latencies, errors = 0, 0, [], 0
    while time.perf_counter() < until[0]:
        n += 1
        body = urlencode({
            "name": f"{prefix} {n}", "temperature": "hot", "next_action_on": tomorrow,
            "note": f"Wants {n % 50 + 1} seats; call after the demo. Met at booth B12.",
            "source": "Trade show Lyon",
        }).encode()  # fmt: skip
        started = time.perf_counter()
        try:
            status, _ = browser.request("POST", form_path, body, headers)
        except Unreachable:
            errors += 1
            continue
        if status == 200:
            acked += 1
            latencies.append((time.perf_counter() - started) * 1000)
        else:
            errors += 1
    browser.close()
    with out["lock"]:
        out["acked"] += acked
        out["errors"] += errors
        out["latencies"] += latencies


def _run_load(server: Server, clients: int, seconds: float, emails: list[str] | None,
              prefix: str, extra_pids) -> dict:  # fmt: skip
    out = {"acked": 0, "errors": 0, "latencies": [], "lock": threading.Lock(),
           "ready": threading.Event(), "signed_in": threading.Semaphore(0)}  # fmt: skip
    until = [0.0]
    threads = []
    for c in range(clients):
        email = emails[c] if emails else None

        def run(c=c, email=email):
            _load_client(server.port, "/", f"{prefix} c{c}", until, email, out)

        threads.append(threading.Thread(target=run))
    for thread in threads:
        thread.start()
    for _ in threads:
        out["signed_in"].acquire()  # the sign-ins' CPU is not counted below
    pids = [server.process.pid, *server.worker_pids()]
    others = extra_pids()
    cpu_before = cpu_seconds(pids) + cpu_seconds(others)
    started = time.perf_counter()
    until[0] = started + seconds
    out["ready"].set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    server_cpu = cpu_seconds(pids) + cpu_seconds(extra_pids() if others else [])
    out["cpu"] = server_cpu - cpu_before
    out["elapsed"] = elapsed
    return out


def load(args) -> None:
    """Captures per second, latency and server CPU per capture under load, against gunicorn,
    for the app and the floor app in one run."""
    workdir = Path(tempfile.mkdtemp(prefix="quickcrm-load-", dir=args.dir))
    (workdir / "floor_app.py").write_text(FLOOR_APP)
    floor_db = workdir / "floor.sqlite3"
    with sqlite3.connect(floor_db) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE lead (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    url = args.database or f"sqlite:///{workdir / 'quickcrm.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    stamp = int(time.time())
    emails = [f"load{stamp}-{c}@bench.example" for c in range(args.clients)]
    with sessionmaker(engine)() as session:
        for email in emails:
            users.create_user(session, email, PASSWORD, role="rep",
                              password_method=LOAD_PASSWORD_METHOD)  # fmt: skip
        session.commit()
    env = {
        **os.environ,
        "QUICKCRM_DATABASE_URL": url,
        "QUICKCRM_SECRET_KEY": "bench-load",
        "QUICKCRM_INSTANCE_PATH": str(workdir / "instance"),
        "QUICKCRM_OCR_WARM_UP": "false",  # no OCR process loading beside the figures
        "QUICKCRM_SIGN_IN_ADDRESS_LIMIT": "100000",
        "FLOOR_DATABASE": str(floor_db),
    }
    postgres = engine.dialect.name == "postgresql"
    results = {}
    try:
        for label, app_name, cwd in (
            ("floor: bare Flask + one SQLite INSERT", "floor_app:app", workdir),
            (f"capture POST / ({engine.dialect.name})", "wsgi:app", ROOT),
        ):
            server = Server(env, free_port(), args.workers, args.threads,
                            workdir / "gunicorn.log", app=app_name, cwd=cwd)  # fmt: skip
            server.start()
            floor = app_name.startswith("floor")
            prefix = f"Load {stamp} {'floor' if floor else 'app'}"
            try:
                figures = _run_load(
                    server, args.clients, args.load, None if floor else emails, prefix,
                    (lambda: _backends(url)) if postgres and not floor else (lambda: []),
                )  # fmt: skip
            finally:
                server.stop()
            if floor:
                with sqlite3.connect(floor_db) as db:
                    stored = db.execute("SELECT count(*) FROM lead").fetchone()[0]
            else:
                with engine.connect() as conn:
                    stored = conn.scalar(
                        text("SELECT count(*) FROM lead WHERE name LIKE :p"),
                        {"p": prefix + " %"},
                    )
            figures["stored"] = stored
            results[label] = figures
    finally:
        engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"Load: {args.clients} clients for {args.load:.0f} s each against gunicorn"
        f" ({args.workers} workers x {args.threads} threads), SQLite synchronous=FULL;"
        f" server CPU = gunicorn master + workers{' + PostgreSQL backends' if postgres else ''}"
    )
    for label, f in results.items():
        lat = summary(f["latencies"]) if f["latencies"] else {"median": 0, "p95": 0}
        per = f["cpu"] / f["acked"] * 1000 if f["acked"] else float("nan")
        print(
            f"  {label:<38} {f['acked'] / f['elapsed']:7.1f} creates/s  p50 {lat['median']:6.1f}"
            f" ms  p95 {lat['p95']:6.1f} ms  server CPU {per:5.2f} ms/create;"
            f" acknowledged {f['acked']}, stored {f['stored']}"
            f" {'(equal)' if f['acked'] == f['stored'] else '(DIFFERENT)'}, errors {f['errors']}"
        )
    (floor_label, floor), (app_label, app) = results.items()
    if floor["acked"] and app["acked"]:
        cpu_ratio = (app["cpu"] / app["acked"]) / (floor["cpu"] / floor["acked"])
        rate_ratio = (floor["acked"] / floor["elapsed"]) / (app["acked"] / app["elapsed"])
        print(f"  ratio: server CPU per create {cpu_ratio:.1f}x the floor's;"
              f" the floor creates {rate_ratio:.1f}x as many per second")  # fmt: skip
    if any(f["acked"] != f["stored"] for f in results.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
