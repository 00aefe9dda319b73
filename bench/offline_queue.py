"""How long does a long day's queue take to reach the server from the phone?

Run from the repository root::

    python bench/offline_queue.py [--n 500] [--chromium /usr/bin/chromium]

The real app on a fresh SQLite file in a temporary folder (bench/capture.py's build_app),
served by werkzeug's threaded server on 127.0.0.1; Debian's chromium at 390 x 844 signs
in, the service worker keeps the app, the network goes, and N captures are saved through
the capture form (Save → the phone's queue, static/js/outbox.js). Then the network comes
back and the queue sends them all by itself. Printed: the time to save them on the phone,
the time from "online" until the queue is empty, and the checks — every capture stored
once, in the order it was saved. This prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from bench.capture import EMAIL, PASSWORD, build_app  # noqa: E402
from quickcrm.models import Lead  # noqa: E402

# Saves N captures through the form, as fast as a page can (the rep would be slower).
SAVE_ALL = """async (n) => {
  const form = document.querySelector("[data-capture-form]");
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    form.elements.name.value = `Queued ${String(i).padStart(4, "0")}`;
    form.querySelector("button[type=submit]").click();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return performance.now() - started;
}"""
QUEUED = """async () => (await import(document.querySelector('link[href$="/outbox.js"]').href))
  .items().then((items) => items.length)"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="captures queued offline")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per request

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            context = browser.new_context(
                base_url=base, viewport={"width": 390, "height": 844}, is_mobile=True
            )
            page = context.new_page()
            page.goto("/")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_function("() => navigator.serviceWorker.controller !== null")
            context.set_offline(True)
            page.reload()
            page.get_by_label("Name").wait_for()
            saving_ms = page.evaluate(SAVE_ALL, args.n)
            deadline = time.monotonic() + 60
            while page.evaluate(QUEUED) < args.n and time.monotonic() < deadline:
                page.wait_for_timeout(50)
            queued = page.evaluate(QUEUED)

            started = time.perf_counter()
            context.set_offline(False)
            while page.evaluate(QUEUED) and time.perf_counter() - started < 300:
                page.wait_for_timeout(100)
            drained = time.perf_counter() - started
            left = page.evaluate(QUEUED)
            browser.close()
        server.shutdown()
        with app.extensions["quickcrm.sessionmaker"]() as session:
            names = list(session.scalars(select(Lead.name).order_by(Lead.id)))
            keys = session.scalar(select(func.count(func.distinct(Lead.uuid))))
        app.extensions["quickcrm.engine"].dispose()

    expected = [f"Queued {i:04}" for i in range(args.n)]
    print(f"{args.n} captures saved offline through the form, then the network back")
    print(f"  saved on the phone in {saving_ms / 1000:.1f} s ({queued} in the queue)")
    print(f"  the queue reached the server in {drained:.1f} s ({left} left on the phone)")
    print(f"  stored: {len(names)} leads, {keys} distinct UUIDs")
    unique = len(names) == len(set(names))
    print(f"  in the order saved: {names == expected}; no duplicate: {unique}")


if __name__ == "__main__":
    main()
