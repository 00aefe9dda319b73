"""Opening the capture page starts the OCR process in the background (docs/cards.md), so
the first card read finds its model loaded; the idle stop still ends it. Each test has an
instance folder of its own (``fresh_app``), so an OCR process of its own, ended after it.
The real OCR process runs here: each test waits for one to load (seconds on a busy
machine); the bounds are generous, the times printed."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quickcrm.services import ocr
from tests.card_photos import sample
from tests.conftest import csrf_token

pytestmark = pytest.mark.fresh_app
LOAD_BOUND = 180.0  # seconds the OCR process may take to load on a busy machine
ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition, bound: float = LOAD_BOUND, instance: str | None = None) -> float:
    """Seconds until ``condition()`` held; fails past ``bound``, saying what the warm-up
    and the OCR process of ``instance`` were doing."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < bound, f"not within {bound:.0f} s" + (
            state(instance) if instance else ""
        )
        time.sleep(0.05)
    return time.monotonic() - started


def state(instance: str) -> str:
    """The warm-up's state, the OCR processes and the end of their log (what a failure
    needs to be understood: it happened only in full runs on a loaded machine)."""
    log = Path(instance) / "ocr.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no ocr.log)"
    since = time.monotonic() - ocr._warm_up.failed_at
    return (
        f"; warm-up running: {ocr._warm_up.running.locked()}, last failed {since:.0f} s ago,"
        f" installed: {ocr._warm_up.installed}; OCR processes: {ocr.processes(instance)};"
        f" ocr.log: {tail}"
    )


@pytest.fixture
def warming_app(app):
    """The app with the capture page's warm-up on; the OCR processes it started ended
    after the test. The warm-up's state is the app process's: a warm-up of an earlier test
    still on its way, or one that failed there, must not decide this test's."""
    wait_until(lambda: not ocr._warm_up.running.locked())
    ocr._warm_up.failed_at = -ocr.WARM_UP_RETRY
    app.config.update(OCR_WARM_UP=True, OCR_IDLE_SECONDS=120)
    yield app
    ocr._warm_up.failed_at = -ocr.WARM_UP_RETRY
    for pid in ocr.processes(app.instance_path):
        os.kill(pid, signal.SIGTERM)
    folder = Path(ocr.socket_path(app.instance_path)).parent
    if folder != Path(app.instance_path):  # a private folder of /tmp (a long test name)
        shutil.rmtree(folder, ignore_errors=True)


def test_opening_the_capture_page_starts_the_ocr_process_and_a_card_finds_it_ready(
    warming_app, client, rep
):
    path = ocr.socket_path(warming_app.instance_path)
    assert not ocr._listening(path)
    started = time.monotonic()
    page = client.get("/")
    answered = time.monotonic() - started
    assert page.status_code == 200
    # The page did not wait: the model takes seconds to load, the page was answered first.
    assert not ocr._listening(path)
    assert answered < 10, answered
    loading = wait_until(lambda: ocr._listening(path), instance=warming_app.instance_path)
    [pid] = ocr.processes(warming_app.instance_path)

    truth, photo = sample(3)
    token = csrf_token(client, "/")
    started = time.monotonic()
    response = client.post(
        "/cards/read",
        data={"photo": (io.BytesIO(photo), "card.jpg")},
        headers={"X-CSRFToken": token},
    )
    read = time.monotonic() - started
    print(f"page answered in {answered:.3f} s; OCR ready {loading:.1f} s later; read {read:.2f} s")
    assert response.status_code == 200, response.json
    assert response.json["fields"].get("email") == truth.email
    # The read found the process listening and started none.
    assert ocr.processes(warming_app.instance_path) == [pid]


def test_a_warm_up_while_one_is_on_its_way_starts_no_second_process(warming_app, client, rep):
    instance = warming_app.instance_path
    path = ocr.socket_path(instance)
    for _ in range(3):
        assert client.get("/").status_code == 200
    # Another worker of the same machine opens a capture page meanwhile.
    other = subprocess.run(  # noqa: S603 - this interpreter, our module
        [sys.executable, "-c", ANOTHER_WORKER, instance],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=LOAD_BOUND,
        check=True,
    )
    assert other.stdout.split() == ["waited"], other.stdout + other.stderr
    wait_until(lambda: ocr._listening(path), instance=instance)
    [pid] = ocr.processes(instance)
    # Once it runs, a warm-up finds it listening and starts nothing.
    assert client.get("/").status_code == 200
    thread = ocr.warm_up(instance_path=instance, timeout=60, idle=120)
    if thread is not None:
        thread.join(LOAD_BOUND)
    assert ocr.processes(instance) == [pid]


# A warm-up in another process, waited for: a process it started would exist by its end.
ANOTHER_WORKER = """
import sys
from quickcrm.services import ocr
thread = ocr.warm_up(instance_path=sys.argv[1], timeout=60, idle=120)
if thread is not None:
    thread.join()
print("waited")
"""


def test_the_ocr_process_stops_when_idle_though_pages_are_opened_and_a_page_starts_it_again(
    warming_app, client, rep
):
    instance = warming_app.instance_path
    path = ocr.socket_path(instance)
    warming_app.config["OCR_IDLE_SECONDS"] = 4
    assert client.get("/").status_code == 200
    wait_until(lambda: ocr._listening(path), instance=warming_app.instance_path)
    [first] = ocr.processes(instance)
    # Capture pages opened all the while: their warm-ups are no card, so they do not keep
    # it (a warm-up that kept it would keep it as long as the pages are opened).
    started = time.monotonic()
    while first in ocr.processes(instance):
        assert time.monotonic() - started < 60, "the OCR process was kept"
        assert client.get("/").status_code == 200
        time.sleep(0.5)
    stopped = time.monotonic() - started
    warming_app.config["OCR_IDLE_SECONDS"] = 120
    # A page opened while it was stopping may have a warm-up on its way (starting one with
    # the 4 s idle stop); let it end, so that the next page's warm-up is this one's. On a
    # loaded machine such a start can fail, and a failed warm-up waits 5 minutes before
    # the next (a card read starts the process itself meanwhile): try again at once here.
    wait_until(lambda: not ocr._warm_up.running.locked())
    ocr._warm_up.failed_at = -ocr.WARM_UP_RETRY
    assert client.get("/").status_code == 200
    loading = wait_until(lambda: ocr._listening(path), instance=warming_app.instance_path)
    print(f"stopped {stopped:.1f} s after it listened (idle 4 s); started again in {loading:.1f} s")
    assert first not in ocr.processes(instance)
    assert len(ocr.processes(instance)) == 1


def test_a_tap_on_card_photo_starts_the_ocr_process_stopped_while_the_page_stayed_open(
    warming_app, client, rep
):
    instance = warming_app.instance_path
    path = ocr.socket_path(instance)
    token = csrf_token(client, "/")  # the page opened; its warm-up is on its way
    wait_until(lambda: not ocr._warm_up.running.locked())
    for pid in ocr.processes(instance):  # …and the idle stop ended it since
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not ocr._listening(path) and not ocr.processes(instance))
    response = client.post("/cards/warm-up", headers={"X-CSRFToken": token})
    assert response.status_code == 204
    loading = wait_until(lambda: ocr._listening(path), instance=instance)
    print(f"the card reader listened {loading:.1f} s after the tap")
    assert len(ocr.processes(instance)) == 1
