"""The offline app over HTTPS at an address that is not localhost: ``scripts/serve`` puts
QuickCRM behind a real Caddy with its own certificate authority, a chromium that trusts that
authority (as a phone does once) opens https://quickcrm.test:<port>, creates the first admin
with the setup code the server printed, gets Secure cookies and a service worker, captures a
lead with no network, and the lead reaches the server once when the network is back.

``scripts/serve`` itself runs, in a process group of its own: the test is what an admin
does, and it ends every process the script started, even when it fails."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from quickcrm.db import make_engine
from quickcrm.models import Lead, User
from tests.conftest import empty_database
from tests.e2e.conftest import PHONE
from tests.e2e.test_offline import PAGE_CACHED, capture, kept, on_server, waiting
from tests.https_server import port_is_free, running_serve, wait_until


def trusting_home(tmp_path: Path, root_certificate: Path) -> Path:
    """A home folder whose NSS database (where chromium on Linux reads the authorities its
    user added) trusts ``root_certificate`` to sign web sites."""
    home = tmp_path / "home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    database = f"sql:{nssdb}"
    subprocess.run(["certutil", "-N", "-d", database, "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", database, "-n", "QuickCRM local CA", "-t", "C,,"]
        + ["-i", str(root_certificate)],
        check=True,
    )
    return home


@pytest.fixture
def served(tmp_path, database_url):
    with running_serve(tmp_path, database_url) as served:
        yield served
    engine = make_engine(database_url)
    empty_database(engine)
    engine.dispose()


def test_a_capture_made_offline_over_https_reaches_the_server_once(
    served, tmp_path, browser_type, browser_type_launch_args, database_url
):
    home = trusting_home(tmp_path, served.root_certificate)
    browser = browser_type.launch(
        **{
            **browser_type_launch_args,
            "args": [
                *browser_type_launch_args["args"],
                "--host-resolver-rules=MAP quickcrm.test 127.0.0.1",
            ],
            "env": {**os.environ, "HOME": str(home)},
        }
    )
    engine = make_engine(database_url)
    try:
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-GB"
        )
        page = context.new_page()
        address = f"https://quickcrm.test:{served.https_port}"
        page.goto(f"{address}/")
        expect(page).to_have_url(f"{address}/setup")
        assert page.evaluate("window.isSecureContext")

        page.get_by_label("Setup code").fill(served.setup_code)
        page.get_by_label("Your name").fill("Ada Admin")
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password", exact=True).fill("tide tables at dawn")
        page.get_by_label("Repeat password").fill("tide tables at dawn")
        page.get_by_role("button", name="Create admin").click()
        expect(page.get_by_role("status").filter(has_text="Welcome")).to_contain_text("Ada Admin")
        cookies = context.cookies(address)
        assert cookies and all(cookie["secure"] for cookie in cookies), cookies

        # The welcome page registered the service worker; once it is active, the next opening
        # of the app is one it controls (a page opened while it was still installing may stay
        # uncontrolled until then).
        page.evaluate("async () => { await navigator.serviceWorker.ready; }")
        page.goto(f"{address}/")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.wait_for_function(PAGE_CACHED, timeout=30_000)
        context.set_offline(True)
        page.reload()
        capture(page, "Offline Over HTTPS")
        expect(kept(page)).to_contain_text("Offline Over HTTPS")
        expect(waiting(page, 1)).to_be_visible()
        context.set_offline(False)
        expect(waiting(page, 0)).to_be_visible(timeout=30_000)
        on_server(page, "Offline Over HTTPS")
        with engine.connect() as connection:
            stored = connection.scalar(
                select(func.count()).where(Lead.name == "Offline Over HTTPS")
            )
            owner = connection.scalar(
                select(User.email).join(Lead, Lead.owner_id == User.id).limit(1)
            )
        assert (stored, owner) == (1, "ada@example.com")
    except BaseException:
        served.dump()
        raise
    finally:
        browser.close()
        engine.dispose()

    # If Caddy stops, QuickCRM stops too: never an app server left half-reachable.
    children = served.children()
    caddy = next(pid for pid in children if b"caddy" in Path(f"/proc/{pid}/cmdline").read_bytes())
    os.kill(caddy, signal.SIGKILL)
    assert served.process.wait(60) == 1
    assert "scripts/serve: Caddy was killed (SIGKILL)" in served.text()
    assert wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children))
    assert port_is_free(served.https_port)
