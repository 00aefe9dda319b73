"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi …``."""

import click

from quickcrm import create_app
from quickcrm.views.auth import announce_setup_code

app = create_app()

if click.get_current_context(silent=True) is None:
    # Started by a server (gunicorn), not the flask command: while there is no user yet,
    # print the setup code the first-run page asks for. Every worker prints the same code.
    announce_setup_code(app)
