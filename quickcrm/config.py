"""Configuration: defaults here, overridden from ``QUICKCRM_*`` environment variables."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from quickcrm.domain.users import DEFAULT_PASSWORD_METHOD


class Config:
    """Production defaults. Anything can be overridden with ``QUICKCRM_<NAME>``."""

    # Filled in by create_app: a SQLite file in the instance folder.
    DATABASE_URL: str | None = None
    SECRET_KEY: str | None = None

    # How many reverse proxies (terminating TLS) stand in front of the app: their
    # X-Forwarded-Proto/-Host/-For headers are then trusted, so the app knows it is on HTTPS.
    # 0 trusts none (the app is reached directly). QUICKCRM_TRUSTED_PROXIES=1 behind one.
    TRUSTED_PROXIES = 0

    # Set by scripts/serve (docs/deployment.md, HTTPS): the HTTPS address phones open, and in
    # a team's own network the root certificate of Caddy's authority that phones trust once.
    # Admin → Phones shows both as QR codes, with the steps.
    PUBLIC_URL: str | None = None
    CA_ROOT: str | None = None

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Set QUICKCRM_SESSION_COOKIE_SECURE=true (and REMEMBER_COOKIE_SECURE) behind HTTPS.
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # "Stay signed in" keeps a phone signed in for 30 days.
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)

    # A capture form stays open on a phone all day at a trade show: the CSRF token
    # must live as long as the session, not one hour.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = True

    # How passwords are hashed (werkzeug's generate_password_hash method).
    PASSWORD_METHOD = DEFAULT_PASSWORD_METHOD
    # Attempts allowed per minute, counted in the database (shared by every app server):
    # sign-ins at one account (its email) from one client address (an IPv6 client's /64),
    # sign-ins from one address at any accounts, sign-ins at one account from every address
    # together, first-run page submissions from one address.
    SIGN_IN_ACCOUNT_LIMIT = 10
    SIGN_IN_ADDRESS_LIMIT = 30
    SIGN_IN_ACCOUNT_TOTAL_LIMIT = 100
    SETUP_ADDRESS_LIMIT = 10
    # Two-step sign-in (quickcrm/domain/two_step.py): codes allowed per five minutes for one
    # account and from one address; QUICKCRM_REQUIRE_2FA_FOR_ADMINS=true sends an admin
    # without it to turn it on before anything else.
    TWO_STEP_ACCOUNT_LIMIT = 5
    TWO_STEP_ADDRESS_LIMIT = 30
    REQUIRE_2FA_FOR_ADMINS = False
    # Requests per user per hour to their iCal feed (a calendar polls every few minutes).
    ICAL_RATE_LIMIT = 60
    # Scheduled work (docs/deployment.md, "Scheduled work"): each app server process checks
    # about every minute for a due job (the hourly purge, the nightly backup) and runs it
    # under a lease in the database, so one server runs each run. false: no checks in the
    # app servers (run `flask run-scheduled` from a timer instead).
    SCHEDULER = True
    # The nightly backup: a folder to write it into (none: no nightly backup), when (HH:MM
    # on the team's clock, Admin → Team settings) and how many of them to keep.
    BACKUP_DIR: str | None = None
    BACKUP_AT = "02:00"
    BACKUP_KEEP = 7

    # ISO country (e.g. "GB") for phone numbers typed without +; None reads only +numbers.
    # What the team's settings mean while an admin has not set them (Admin → Team
    # settings, quickcrm/domain/team.py): an IANA zone (else the server's), an ISO 4217
    # currency (else none shown), the region phone numbers without a country code are in.
    TIME_ZONE: str | None = None
    CURRENCY: str | None = None
    PHONE_REGION: str | None = None

    # The largest request body (a capture, a form); more is refused with 413.
    MAX_CONTENT_LENGTH = 1024 * 1024

    # Card photos (quickcrm/services/ocr.py): seconds one photo may take to read, and seconds
    # without a photo after which the OCR process stops and gives its memory back.
    OCR_TIMEOUT = 20
    OCR_IDLE_SECONDS = 600
    # Opening the capture page starts the OCR process in the background (if it is not
    # running), so the first card read finds its model loaded; false: the first photo does.
    OCR_WARM_UP = True

    # Outgoing mail (quickcrm/services/mail.py, docs/mail.md): the server as a URL —
    # smtp://user:pass@host:587 (STARTTLS, required with a user), smtps://user:pass@host:465
    # (implicit TLS), smtp://host:25 (a local relay, plain) — and the sender, e.g.
    # "QuickCRM <crm@example.com>". Both unset: no mail (admins copy links by hand).
    MAIL_URL: str | None = None
    MAIL_FROM: str | None = None
    # Seconds the SMTP server has to answer each step; a PEM file of authorities for a
    # private relay's certificate (else the system's).
    MAIL_TIMEOUT = 10
    MAIL_CA_FILE: str | None = None

    # Web push (quickcrm/domain/push.py, docs/web-push.md): who the push services may
    # write to about this server (mailto: or https; else the mail sender, else the first
    # admin); the push services' hosts a phone's subscription may name, comma-separated
    # (a host or a domain above it; empty: the browsers' own, push.PUSH_SERVICES); a PEM
    # file of authorities for a push service's certificate (else the system's).
    PUSH_CONTACT: str | None = None
    PUSH_SERVICES: str | None = None
    PUSH_CA_FILE: str | None = None

    # How long a rep may undo a capture they just saved.
    UNDO_WINDOW = timedelta(minutes=5)
    # Static files carry a content hash in their URL, so they can be cached for a year.
    STATIC_MAX_AGE = 365 * 24 * 3600


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
    # Scrypt at full strength makes every sign-in in the suite slow; tests use pbkdf2.
    PASSWORD_METHOD = "pbkdf2:sha256:1000"
    # Each test has its own instance folder, so its own OCR process: gone soon after.
    OCR_IDLE_SECONDS = 10
    # Not one OCR process per test that opens the capture page: the OCR tests turn it on.
    OCR_WARM_UP = False
    # The suite shares a busy machine: a slow read is not what it tests.
    OCR_TIMEOUT = 60
    # No scheduler thread in the test apps: the tests run the jobs themselves.
    SCHEDULER = False


def exposed(instance_path: str, database: Path | None) -> list[Path]:
    """The instance folder and the SQLite database's files, those of them that other users
    of the machine may open (made before this release, or by hand)."""
    paths = [Path(instance_path)]
    if database is not None:
        paths += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    return [path for path in paths if path.exists() and path.stat().st_mode & 0o077]


def ensure_secret_key(instance_path: str) -> str:
    """Read the instance folder's secret key, creating it on first run.

    Several gunicorn workers may start at once: the key is written to a temporary
    file (mkstemp: 0600, this user only) and linked into place, so exactly one key wins
    and everyone reads it.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
