"""How long does a phone's queue take to reach the server, and what does a resend cost?

Run from the repository root::

    python bench/sync.py [--n 500]

In-process through Flask's test client (no sockets, no network), on a fresh SQLite file in
a temporary folder, with the real app and a signed-in rep (helpers from bench/capture.py):

1. **First sends**: N queued captures POSTed as JSON to ``/captures``, each with its own
   UUID, a temperature, a next action and the phone's capture time — the server stores
   each (201).
2. **Resends**: the same N again, as after a reply lost on the way back — each answers 200
   with the lead already stored (the INSERT fails on the UNIQUE uuid, is rolled back, and
   the existing lead is read).

The figures are the server's time per request; a phone adds its network round trips.
This prints figures; it is not a test and asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.capture import EMAIL, PASSWORD, build_app, csrf_token, summary, time_requests  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="captures in the queue")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        client = app.test_client()
        login = client.post(
            "/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")},
        )
        assert login.status_code == 302, login.status_code
        headers = {"X-CSRFToken": csrf_token(client, "/"), "Accept": "application/json"}
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        total = args.n + 20  # time_requests warms up on 20 extra
        keys = [str(uuid.uuid4()) for _ in range(total)]
        made = datetime.now(UTC) - timedelta(hours=1)

        def send(i: int, expected: int):
            response = client.post(
                "/captures",
                json={
                    "uuid": keys[i],
                    "name": f"Queued Lead {i}",
                    "temperature": ("cold", "warm", "hot")[i % 3],
                    "next_action_on": tomorrow,
                    "source": "Trade show",
                    "captured_at": (made + timedelta(seconds=i)).isoformat(),
                },
                headers=headers,
            )
            if response.status_code != expected:
                raise SystemExit(f"expected {expected}, got {response.status_code}")

        first = summary(time_requests(lambda i: send(i, 201), args.n))
        again = summary(time_requests(lambda i: send(i, 200), args.n))
        app.extensions["quickcrm.engine"].dispose()

    print(f"POST /captures, {args.n} queued captures, SQLite, in-process (ms per request)")
    for label, figures in (("first send (201)", first), ("resend (200)", again)):
        print(
            f"  {label:17} median {figures['median']:6.2f}  p95 {figures['p95']:6.2f}"
            f"  mean {figures['mean']:6.2f}"
        )
    drain = first["mean"] * args.n / 1000
    print(f"  a queue of {args.n} drains in about {drain:.1f} s of server time")


if __name__ == "__main__":
    main()
