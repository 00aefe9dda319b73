"""axe-core (vendored from npm: tests/e2e/vendor/axe-core-<version>.min.js) finds no
accessibility violation on any screen, in the light and the dark theme, on a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.test_field_day import busy_day
from tests.e2e.test_offline import capture, kept, open_app_ready_for_offline

AXE = next((Path(__file__).parent / "vendor").glob("axe-core-*.min.js"))

# WCAG 2.x A and AA, and axe's best practices.
RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                    "best-practice"]},
  });
  return result.violations.map(v => ({
    rule: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " — " + n.failureSummary),
  }));
}"""


def violations(page) -> list[dict]:
    # Evaluated by the test, not loaded by the page: the app's CSP runs only its own files.
    page.evaluate(AXE.read_text())
    return page.evaluate(RUN)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_screen_passes_axe(page, demo_screens, scheme):
    page.emulate_media(color_scheme=scheme)
    page.goto("/login")
    found = {"/login": violations(page)}
    sign_in(page, "admin@example.com")
    for url in demo_screens:
        page.goto(url)
        found[url] = violations(page)
        if url in ("/", "/agenda", "/leads/"):
            name = "home" if url == "/" else url.strip("/").replace("/", "-")
            page.screenshot(path=f"test-results/{name}-{scheme}.png")
    found = {url: v for url, v in found.items() if v}
    assert found == {}, found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_field_day_passes_axe(page, live_db, make_live_user, scheme):
    """The states a rep sees on the road: the agenda with Done open, things waiting to sync
    with no network, a page the phone did not keep."""
    rep = make_live_user()
    busy_day(live_db, rep)
    page.emulate_media(color_scheme=scheme)
    open_app_ready_for_offline(page)
    found = {}
    page.goto("/agenda")
    page.get_by_role("button", name="Done").first.tap()
    found["agenda, Done open"] = violations(page)
    page.context.set_offline(True)
    page.goto("/")
    capture(page, "Waiting Walter")
    expect(kept(page)).to_contain_text("Waiting Walter")
    found["capture, offline with a queue"] = violations(page)
    page.goto("/forecast")
    expect(page.get_by_role("heading", name="Not available offline")).to_be_visible()
    found["not kept offline"] = violations(page)
    found = {state: v for state, v in found.items() if v}
    assert found == {}, found
