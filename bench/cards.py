"""How well and how fast are card photos read?

Run from the repository root::

    python bench/cards.py [--n 60]

Generates N photo-like business cards (tests/card_photos.py: three layouts, companies
with GmbH/Ltd/Inc, phones in international and local formats, turned 3–8°, perspective
skew, blur, uneven light and shadow, JPEG 70, on a dark table) with the truth beside them,
reads each through the app's own path — the OCR process of quickcrm/services/ocr.py, then
``quickcrm.domain.cards.read_card`` — and prints the share of each field read exactly
and the median time per card. Names and titles are compared as printed (accents
included), companies ignoring case (cards print them in capitals), phones as E.164.
The OCR process is started (and warmed up) before the clock starts. The wall time depends
on what else the machine runs; the OCR process's CPU seconds per card do not (onnxruntime
uses both cores, so on an idle 2-core machine a card takes about half of them).

``--first`` measures the first card of the day instead, through gunicorn as
``scripts/run`` starts it (2 workers of 4 threads, SQLite): a fresh server with no OCR
process, a rep signs in, opens the capture page and sends a card photo to
``POST /cards/read`` — without the capture page's warm-up (``QUICKCRM_OCR_WARM_UP=false``:
the read starts the OCR process) and with it (the photo is sent once the OCR process
listens: the rep was framing the card meanwhile; how long that took is printed). Then
the same photo is read 5 times more: the first read against the median of those warm
ones, as a ratio (target ≤ 1.5), in wall time and in the OCR process's CPU time (which
another load of the machine changes less; without the warm-up the first read's CPU
includes loading the model). Also printed: the capture page's answer time while
the OCR process loads and after, and the OCR process's memory (VmRSS) idle — loaded,
no card read yet — and after the reads. ``--rounds`` repeats both.

``--qr`` measures QR codes instead: N such cards, each with a QR code holding its vCard
(tests/card_photos.py: the card filling more of a 2,000 px picture, as a rep frames a
code), searched by ``quickcrm.domain.cards.qr_in_photo`` (OpenCV, in this process, as in an
app worker): the share read exactly (name, email and phone), the time per photo, and the
time on the same number of cards without a code (what every card photo now pays before
its OCR). Not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import http.client  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import phonenumbers  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.crash import Browser, Server, free_port  # noqa: E402
from quickcrm import migrate  # noqa: E402
from quickcrm.db import make_engine  # noqa: E402
from quickcrm.domain import users  # noqa: E402
from quickcrm.domain.cards import qr_in_photo, read_card  # noqa: E402
from quickcrm.services import ocr  # noqa: E402
from tests.card_photos import sample, vcard_of  # noqa: E402

FIELDS = ("name", "company", "title", "email", "phone", "website")


def e164(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(value, None), phonenumbers.PhoneNumberFormat.E164
        )
    except phonenumbers.NumberParseException:
        return None


def right(field: str, truth, card) -> bool:
    got = getattr(card, field)
    want = getattr(truth, field)
    if field == "phone":
        return e164(got) == want
    if field == "company":
        return (got or "").casefold() == want.casefold()
    return got == want


def ocr_cpu_seconds() -> float:
    """CPU time used so far by the OCR process(es) started here (user + system)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"quickcrm.services.ocr" in stat.read_bytes():
                fields = (stat.parent / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--show", action="store_true", help="print each miss")
    parser.add_argument(
        "--first", action="store_true", help="the first read after a server start, through gunicorn"
    )
    parser.add_argument("--rounds", type=int, default=1, help="--first: times to repeat")
    parser.add_argument("--qr", action="store_true", help="cards with a QR code holding a vCard")
    args = parser.parse_args()
    if args.first:
        first_reads(args.rounds)
        return
    if args.qr:
        qr_codes(args.n, show=args.show)
        return
    with tempfile.TemporaryDirectory() as instance:
        _, warm = sample(10_000)
        ocr.read_lines(warm, instance_path=instance, timeout=60, idle=60)
        hits = dict.fromkeys(FIELDS, 0)
        times = []
        cpu_before = ocr_cpu_seconds()
        for seed in range(args.n):
            truth, photo = sample(seed)
            start = time.perf_counter()
            try:
                lines = ocr.read_lines(photo, instance_path=instance, timeout=60, idle=60)
            except ocr.CardUnreadable:
                lines = []
            card = read_card(lines)
            times.append(time.perf_counter() - start)
            for field in FIELDS:
                if right(field, truth, card):
                    hits[field] += 1
                elif args.show:
                    print(f"#{seed} {field}: {getattr(card, field)!r} ≠ {getattr(truth, field)!r}")
                    print("    ", [line for line, _ in lines])
        cpu = (ocr_cpu_seconds() - cpu_before) / args.n
    total = sum(hits.values())
    print(
        f"{args.n} cards, median {statistics.median(times):.2f} s per card "
        f"(max {max(times):.2f} s); OCR process CPU {cpu:.2f} s per card "
        f"(load average now {os.getloadavg()[0]:.1f})"
    )
    for field in FIELDS:
        print(f"  {field:8} {hits[field] / args.n:6.1%}")
    print(f"  all      {total / (args.n * len(FIELDS)):6.1%}")


# --- --qr: QR codes on cards -----------------------------------------------------------------


def qr_codes(n: int, *, show: bool) -> None:
    qr_in_photo(sample(10_000)[1])  # OpenCV loaded before the clock starts
    exact, with_code, without_code = 0, [], []
    for seed in range(n):
        truth = sample(seed)[0]
        photo = sample(seed, qr=vcard_of(truth))[1]
        start = time.perf_counter()
        card = qr_in_photo(photo)
        with_code.append(time.perf_counter() - start)
        got = card and (card.name, card.email, card.phone)
        if got == (truth.name, truth.email, truth.phone):
            exact += 1
        elif show:
            print(f"#{seed}: {got!r}")
        plain = sample(seed)[1]
        start = time.perf_counter()
        qr_in_photo(plain)
        without_code.append(time.perf_counter() - start)
    print(
        f"{n} cards with a QR code: {exact} read exactly ({exact / n:.1%}); median "
        f"{statistics.median(with_code):.2f} s (max {max(with_code):.2f} s); without a code "
        f"median {statistics.median(without_code):.2f} s (max {max(without_code):.2f} s) "
        f"(load average now {os.getloadavg()[0]:.1f})"
    )


# --- --first: the first card after a server start ------------------------------------------

PASSWORD = "bench-cards-password"  # noqa: S105 - a bench user
CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
WARM_READS = 5
LOAD_BOUND = 180.0  # seconds the OCR process may take to load on a busy machine


class Phone(Browser):
    """A signed-in rep's phone, waiting as long as a cold OCR start may take."""

    def __init__(self, port: int, email: str):
        super().__init__(port)
        _, page = self.request("GET", "/login")
        form = {"email": email, "password": PASSWORD, "csrf_token": CSRF.search(page)[1]}
        ctype = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _ = self.request("POST", "/login", urlencode(form).encode(), ctype)
        if status not in (302, 303):
            raise SystemExit(f"sign-in answered {status}")
        self.token = ""

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        # A connection of its own each time: the server closes one kept idle (keep-alive).
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=LOAD_BOUND)
        try:
            return super().request(method, path, body, headers)
        finally:
            self.close()

    def open_capture_page(self) -> float:
        """Seconds the capture page took to answer."""
        started = time.perf_counter()
        status, page = self.request("GET", "/")
        if status != 200:
            raise SystemExit(f"the capture page answered {status}")
        self.token = CSRF.search(page)[1].decode()
        return time.perf_counter() - started

    def read_card(self, photo: bytes) -> float:
        """Seconds ``POST /cards/read`` took (the page's own request: multipart, CSRF)."""
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; '
                f'filename="card.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
            ).encode()
            + photo
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-CSRFToken": self.token,
        }
        started = time.perf_counter()
        status, answer = self.request("POST", "/cards/read", body, headers)
        elapsed = time.perf_counter() - started
        if status != 200 or b'"email"' not in answer:
            raise SystemExit(f"/cards/read answered {status}: {answer[:200]!r}")
        return elapsed


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by ``pids``."""
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of ``pid``, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {
        key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M)[1]) / 1024
        for key in ("VmRSS", "VmHWM")
    }


def first_read(workdir: Path, url: str, email: str, warm_up: bool, label: str) -> dict:
    """A fresh server (and no OCR process), its first card read, then warm ones."""
    instance = workdir / f"instance-{label}"
    env = {
        **os.environ,
        "QUICKCRM_DATABASE_URL": url,
        "QUICKCRM_SECRET_KEY": "bench-cards",
        "QUICKCRM_INSTANCE_PATH": str(instance),
        "QUICKCRM_OCR_WARM_UP": "true" if warm_up else "false",
    }
    server = Server(env, free_port(), 2, 4, workdir / "gunicorn.log")
    _, photo = sample(3)
    figures: dict = {}
    try:
        server.start()
        phone = Phone(server.port, email)
        figures["page"] = phone.open_capture_page()
        if warm_up:
            # The rep frames the card meanwhile; another page opened (another rep's) is timed.
            path, loading, started = ocr.socket_path(str(instance)), [], time.perf_counter()
            other = Phone(server.port, email)
            while not ocr._listening(path):
                if time.perf_counter() - started > LOAD_BOUND:
                    raise SystemExit(f"the OCR process did not listen; see {instance}/ocr.log")
                loading.append(other.open_capture_page())
                time.sleep(0.2)
            figures["ready"] = time.perf_counter() - started + figures["page"]
            figures["pages while loading"] = loading
            figures["pages after"] = [other.open_capture_page() for _ in range(10)]
            [pid] = ocr.processes(str(instance))
            figures["idle memory"] = memory_mb(pid)
        # The OCR process's CPU seconds too: a figure other loads of the machine change less.
        before = cpu_seconds(ocr.processes(str(instance)))
        figures["first"] = phone.read_card(photo)
        [pid] = ocr.processes(str(instance))
        figures["first cpu"] = cpu_seconds([pid]) - before
        figures["warm"], figures["warm cpu"] = [], []
        for _ in range(WARM_READS):
            before = cpu_seconds([pid])
            figures["warm"].append(phone.read_card(photo))
            figures["warm cpu"].append(cpu_seconds([pid]) - before)
        figures["memory after"] = memory_mb(pid)
    finally:
        server.stop()
        for pid in ocr.processes(str(instance)):
            os.kill(pid, signal.SIGTERM)
    return figures


def first_reads(rounds: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="quickcrm-cards-"))
    url = f"sqlite:///{workdir / 'quickcrm.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    email = "rep@bench.example"
    with sessionmaker(engine)() as session:
        method = "pbkdf2:sha256:1000"
        users.create_user(session, email, PASSWORD, role="rep", password_method=method)
        session.commit()
    engine.dispose()
    ms = lambda seconds: f"{statistics.median(seconds) * 1000:.0f} ms"  # noqa: E731
    try:
        for round_ in range(rounds):
            for warm_up in (False, True):
                label = f"{round_}-{'warm-up' if warm_up else 'none'}"
                f = first_read(workdir, url, email, warm_up, label)
                warm = statistics.median(f["warm"])
                warm_cpu = statistics.median(f["warm cpu"])
                mode = "with" if warm_up else "without"
                print(
                    f"{mode} the warm-up: first read {f['first']:.2f} s,"
                    f" warm {warm:.2f} s (median of {WARM_READS}) → {f['first'] / warm:.2f}×"
                    f" (load average {os.getloadavg()[0]:.1f}); OCR process CPU"
                    f" {f['first cpu']:.2f} s, warm {warm_cpu:.2f} s"
                    f" → {f['first cpu'] / warm_cpu:.2f}×"
                )
                if warm_up:
                    print(
                        f"  OCR process ready {f['ready']:.1f} s after the page was opened;"
                        f" the capture page answered in {ms([f['page']])} (the first),"
                        f" {ms(f['pages while loading'])} while the OCR process loaded"
                        f" ({len(f['pages while loading'])} pages),"
                        f" {ms(f['pages after'])} after"
                    )
                    idle = f["idle memory"]
                    print(f"  OCR process idle, loaded: VmRSS {idle['VmRSS']:.0f} MB")
                after = f["memory after"]
                print(
                    f"  OCR process after {WARM_READS + 1} reads: VmRSS {after['VmRSS']:.0f} MB"
                    f" (peak {after['VmHWM']:.0f} MB)"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
