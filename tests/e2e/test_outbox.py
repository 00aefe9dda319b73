"""The phone's queue (static/js/outbox.js) on its own: loaded in a page of the live server
(the sign-in page, where no one's queue runs), with a server played by the test through
Playwright's routing — ordering, backoff, exactly once, a refusal kept as Needs attention,
never dropped."""

from __future__ import annotations

import json

import pytest

# The queue module as the page would import it (its imports: app.js, store.js).
LOAD = """async () => {
  const src = document.querySelector('script[src$="/pages.js"]').src;
  const outbox = await import(src.replace(/pages\\.js$/, "outbox.js"));
  outbox.configure({ user: "unit", tokenUrl: "/unit/token", captureUrl: "/unit/captures" });
  window.outbox = outbox;
  window.events = [];
  outbox.listen((event) => window.events.push(event.type));
}"""

ADD = """async (names) => {
  for (const name of names) {
    await window.outbox.add("capture", {
      uuid: crypto.randomUUID(), fields: { name }, captured_at: new Date().toISOString(),
    });
  }
}"""

QUEUE = """async () => (await window.outbox.items()).map(
  (item) => ({ name: item.fields.name || item.label, problem: item.problem, tries: item.tries }))"""


class Server:
    """The test's server: stores each UUID once, answers as it is told."""

    def __init__(self, page):
        self.stored: dict[str, str] = {}
        self.sent: list[str] = []
        self.answers: list = []  # answers to give first, then "store"
        page.route("**/unit/token", lambda r: r.fulfill(json={"csrf_token": "t", "user": "unit"}))
        page.route("**/unit/captures", self.answer)

    def answer(self, route):
        body = route.request.post_data_json
        self.sent.append(body["name"])
        how = self.answers.pop(0) if self.answers else "store"
        if how == "no answer":
            route.abort()
            return
        if isinstance(how, int):
            route.fulfill(status=how, json={"error": f"Refused ({how})."})
            return
        created = body["uuid"] not in self.stored
        self.stored.setdefault(body["uuid"], body["name"])
        if how == "lost reply":
            route.abort()  # stored, but the answer never reaches the phone
            return
        route.fulfill(
            status=201 if created else 200,
            json={"id": len(self.stored), "url": "/x", "name": body["name"], "uuid": body["uuid"]},
        )


@pytest.fixture
def unit(page):
    page.clock.install()
    page.goto("/login")
    page.evaluate(LOAD)
    return Server(page)


def queue(page):
    return page.evaluate(QUEUE)


def until(page, predicate: str, timeout_ms: int = 10_000):
    """Waits until the (async) ``predicate`` holds in the page; polls, as it reads IndexedDB."""
    for _ in range(timeout_ms // 50):
        if page.evaluate(predicate):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"never true: {predicate}")


def wait_empty(page):
    until(page, "async () => (await window.outbox.items()).length === 0")


def test_captures_are_sent_in_the_order_they_were_queued_each_stored_once(page, unit):
    page.context.set_offline(True)
    names = [f"Card {i:02}" for i in range(30)]
    page.evaluate(ADD, names)
    assert [item["name"] for item in queue(page)] == names
    assert unit.sent == []
    # A lost reply and no answer: sent again under the same UUID, stored once.
    unit.answers = ["store", "lost reply", "no answer"]
    page.context.set_offline(False)
    for _ in range(5):
        if not queue(page):
            break
        page.clock.fast_forward(5 * 60 * 1000)  # past any pause
        page.wait_for_function("() => !window.outbox.state.sending")
    wait_empty(page)
    assert list(unit.stored.values()) == names
    assert len(unit.sent) > len(names)
    assert sorted(set(unit.sent)) == names


def test_server_errors_are_retried_after_growing_pauses_then_need_attention(page, unit):
    unit.answers = [503] * 8
    page.evaluate(ADD, ["Broken"])
    pauses = []
    for _ in range(7):
        page.wait_for_function("() => window.outbox.state.retryIn !== null")
        pauses.append(page.evaluate("window.outbox.state.retryIn"))
        page.clock.fast_forward(pauses[-1])
    until(page, "async () => (await window.outbox.items())[0].problem !== null")
    print(f"\nPauses between tries (ms): {pauses}")
    assert 4000 <= pauses[0] <= 5000 and 8000 <= pauses[1] <= 10000
    assert all(b > a for a, b in zip(pauses, pauses[1:], strict=False))
    (item,) = queue(page)
    assert item["tries"] == 8
    assert "tried 8 times" in item["problem"]["message"]
    assert page.evaluate("window.outbox.state.retryIn") is None
    # Needs attention: never sent again by itself, never dropped.
    page.clock.fast_forward(60 * 60 * 1000)
    page.evaluate("window.outbox.syncNow()")
    page.wait_for_function("() => !window.outbox.state.sending")
    assert len(unit.sent) == 8 and len(queue(page)) == 1 and unit.stored == {}


def test_a_refusal_needs_attention_is_never_dropped_and_never_blocks_the_others(page, unit):
    unit.answers = [422]
    page.evaluate(ADD, ["Refused", "Next One", "Last One"])
    until(page, "async () => (await window.outbox.items()).length === 1")
    (item,) = queue(page)
    assert (item["name"], item["problem"]) == ("Refused", {"message": "Refused (422)."})
    assert list(unit.stored.values()) == ["Next One", "Last One"]
    # Rounds after it leave it where it is; only the rep discards it.
    for _ in range(3):
        page.evaluate("window.outbox.syncNow()")
        page.wait_for_function("() => !window.outbox.state.sending")
    page.reload()
    page.evaluate(LOAD)
    page.evaluate("window.outbox.syncNow()")
    page.wait_for_function("() => !window.outbox.state.sending")
    assert [i["name"] for i in queue(page)] == ["Refused"]
    assert unit.sent.count("Refused") == 1
    uuid = page.evaluate("async () => (await window.outbox.items())[0].uuid")
    page.evaluate("(uuid) => window.outbox.remove(uuid)", uuid)
    assert queue(page) == []


def test_undo_before_the_server_has_it_never_sends_it(page, unit):
    held = []
    page.route("**/unit/captures", lambda route: held.append(route))
    page.context.set_offline(True)
    page.evaluate(ADD, ["Undone", "Kept"])
    uuid = page.evaluate("async () => (await window.outbox.items())[0].uuid")
    result = page.evaluate("(uuid) => window.outbox.withdraw(uuid)", uuid)
    assert result["withdrawn"]["fields"]["name"] == "Undone"
    page.unroute("**/unit/captures")
    page.route("**/unit/captures", unit.answer)
    page.context.set_offline(False)
    wait_empty(page)
    assert unit.sent == ["Kept"]


def test_an_action_goes_through_the_same_queue_as_a_form_post(page, unit):
    posted = []

    def done(route):
        posted.append((route.request.headers["hx-request"], route.request.post_data))
        route.fulfill(status=200, body="<div id='agenda'></div>")

    page.route("**/unit/agenda/1/done", done)
    page.evaluate(
        """() => window.outbox.add("action", {uuid: crypto.randomUUID(), url: "/unit/agenda/1/done",
             label: "Done — Maria", fields: [["client_key", "k1"], ["outcome", "Called"]]})"""
    )
    until(page, "() => window.events.includes('synced')")
    assert queue(page) == []
    assert posted == [("true", "client_key=k1&outcome=Called")]
    assert json.loads(json.dumps(page.evaluate("window.outbox.sentThisVisit()"))) == []
