"""Playwright against a live server on 127.0.0.1, in Debian's chromium at a phone viewport."""

from __future__ import annotations

import os
import re
import shutil
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from quickcrm import create_app
from quickcrm.domain import demo
from quickcrm.models import Company, Contact, Lead, Opportunity, User
from tests import factories
from tests.conftest import PASSWORD, config_for, empty_database

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    candidates = [os.environ.get("QUICKCRM_CHROMIUM"), *CHROMIUM_CANDIDATES]
    return next((p for p in candidates if p and shutil.which(p)), None)


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("QUICKCRM_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": path,
        # This machine has no network but loopback: keep chromium from calling home.
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            # A fake microphone that needs no permission prompt (voice notes).
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": PHONE,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "en-GB",
    }


@pytest.fixture(scope="session")
def live_app(database_url, tmp_path_factory):
    app = create_app(
        config_for(database_url), instance_path=str(tmp_path_factory.mktemp("instance"))
    )
    yield app
    app.extensions["quickcrm.engine"].dispose()


@pytest.fixture(scope="session")
def base_url(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def live_db(live_app, base_url):
    """A session on the live server's database; the database is emptied after each test."""
    with live_app.extensions["quickcrm.sessionmaker"]() as session:
        yield session
    empty_database(live_app.extensions["quickcrm.engine"])


@pytest.fixture
def make_live_user(live_db):
    """``factories.user`` on the live server's database."""

    def make(email="rep@example.com", role="rep", name="Rita Rep"):
        return factories.user(live_db, email, role, name)

    return make


def sign_in(page, email="rep@example.com", password=PASSWORD):
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_area(page, name: str) -> None:
    """Open an area from the main navigation as a person would: on a phone the first four
    are in the bottom bar and the rest behind *More*."""
    nav = page.get_by_role("navigation", name="Main")
    link = nav.get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        nav.get_by_text("More", exact=True).click()
    link.click()
    # A person acts once the page has loaded: its module scripts (the change listeners a
    # select submits through) run before "load"; under load a tap could come sooner.
    page.wait_for_load_state("load")


def text_zoom(page, factor: int = 2) -> int:
    """200 % text as a phone browser's zoom gives it: every CSS pixel drawn twice as large,
    so the page lays out in half the width (195 x 422 CSS px on a 390 x 844 phone).
    Returns the width the page now has."""
    size = {"width": PHONE["width"] // factor, "height": PHONE["height"] // factor}
    page.set_viewport_size(size)
    return size["width"]


def sign_out(page) -> None:
    """Sign out from the account menu (on a phone, behind *More* in the bottom bar)."""
    nav = page.get_by_role("navigation", name="Main")
    button = page.get_by_role("button", name="Sign out")
    if not button.is_visible():
        if nav.get_by_text("More", exact=True).is_visible():
            nav.get_by_text("More", exact=True).click()
        else:
            page.get_by_label(re.compile("^Account: ")).click()
    button.click()


@pytest.fixture
def demo_screens(live_db, live_app, make_live_user) -> list[str]:
    """The demo data, an admin (admin@example.com) to see it all, and the URL of every
    screen, each with a record of the demo to show."""
    demo.seed(live_db, password=PASSWORD, password_method=live_app.config["PASSWORD_METHOD"])
    live_db.commit()
    make_live_user("admin@example.com", "admin", "Ada Admin")
    coordinator = live_db.scalar(select(User).where(User.role == "coordinator"))
    lead, other = live_db.scalars(select(Lead.id).where(Lead.status == "open").limit(2))
    company = live_db.scalar(select(Company.id).limit(1))
    contact = live_db.scalar(select(Contact.id).limit(1))
    opportunity = live_db.scalar(select(Opportunity.id).limit(1))
    return [
        "/", "/agenda", f"/agenda?user={coordinator.id}", "/agenda/calendar", "/leads/",
        "/leads/review", f"/leads/{lead}", f"/leads/{lead}/convert",
        "/leads/duplicates", f"/leads/{lead}/merge?q=a", f"/leads/{lead}/merge/{other}",
        "/companies/", f"/companies/{company}", "/contacts/", f"/contacts/{contact}",
        "/opportunities", "/opportunities/list", f"/opportunities/{opportunity}",
        "/forecast", "/admin", "/admin/users", f"/admin/users/{coordinator.id}",
        "/admin/system", "/admin/phones", "/admin/categories",
        "/account/password",
    ]  # fmt: skip
