"""QuickCRM: a phone-first CRM for small sales teams."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from quickcrm import db
from quickcrm.config import Config, ensure_secret_key, exposed
from quickcrm.extensions import csrf, htmx
from quickcrm.web import compress, inputs

ROOT = Path(__file__).resolve().parent.parent


def create_app(
    config: type[Config] | dict | None = None, instance_path: str | None = None
) -> Flask:
    """Build the app: config, database, sign-in, CSRF, blueprints, static files.

    Settings come from ``Config``, then ``QUICKCRM_*`` environment variables, then
    ``config`` (tests pass theirs here, so the environment cannot redirect them).
    """
    app = Flask(
        __name__,
        instance_path=instance_path
        or os.environ.get("QUICKCRM_INSTANCE_PATH")
        or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(Config)
    app.config.from_prefixed_env("QUICKCRM")
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)

    # For this user only: it holds the SQLite database, the secret key and the OCR socket.
    # A folder that exists keeps the mode its owner gave it (a warning below if too open).
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'quickcrm.sqlite3'}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = ensure_secret_key(app.instance_path)
    for path in exposed(app.instance_path, db.sqlite_file(app.config["DATABASE_URL"])):
        app.logger.warning(
            "%s may be read by other users of this machine: chmod %s it"
            " (docs/deployment.md, Hardening).",
            path,
            "700" if path.is_dir() else "600",
        )

    # First: its after_request function then runs last, on the finished response.
    compress.init_app(app)
    db.init_app(app)
    # Before CSRF, which reads the form: the body's limit is decided before it is read.
    inputs.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)

    from quickcrm import cli, web
    from quickcrm.services import scheduler
    from quickcrm.views import (
        admin,
        agenda,
        api,
        attachments,
        auth,
        capture,
        companies,
        contacts,
        convert,
        duplicates,
        exports,
        forecast,
        imports,
        lead_merges,
        leads,
        meeting,
        notifications,
        opportunities,
        phones,
        reminders,
        shell,
        system,
    )
    from quickcrm.web import errors

    auth.init_app(app)
    web.init_app(app)
    errors.init_app(app)
    scheduler.init_app(app)
    for area in (
        auth,
        shell,
        capture,
        duplicates,
        leads,
        lead_merges,
        attachments,
        convert,
        companies,
        contacts,
        agenda,
        opportunities,
        forecast,
        meeting,
        admin,
        exports,
        imports,
        phones,
        system,
        reminders,
        notifications,
    ):
        app.register_blueprint(area.bp)
    # The web-to-lead API's credential is its Bearer token, not a cookie: no CSRF there.
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    agenda.init_app(app)
    reminders.init_app(app)
    cli.init_app(app)
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    return app
