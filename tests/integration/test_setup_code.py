"""The first-run setup code on the server's console: printed at start while QuickCRM has no
admin of its own (demo users do not count), shown again by ``flask --app wsgi
setup-code``; and the CLI's password policy."""

from __future__ import annotations

import io

from quickcrm import create_app
from quickcrm.domain import users
from quickcrm.views.auth import announce_setup_code
from tests.conftest import config_for


def test_the_server_prints_the_setup_code_while_there_is_no_admin(app, make_user):
    console = io.StringIO()
    announce_setup_code(app, console)
    code = users.setup_code(app.config["SECRET_KEY"])
    assert f"    {code}\n" in console.getvalue()
    make_user("coordinator@demo.quickcrm", "admin")  # a demo address: not a real admin
    make_user()  # a rep
    console = io.StringIO()
    announce_setup_code(app, console)
    assert f"    {code}\n" in console.getvalue()
    make_user("ada@example.com", "admin")
    console = io.StringIO()
    announce_setup_code(app, console)
    assert console.getvalue() == ""


def test_a_database_not_migrated_yet_prints_nothing_and_raises_nothing(tmp_path):
    config = config_for(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    fresh = create_app(config, instance_path=str(tmp_path))
    console = io.StringIO()
    announce_setup_code(fresh, console)
    assert console.getvalue() == ""
    result = fresh.test_cli_runner().invoke(args=["setup-code"])
    assert result.exit_code != 0 and "db upgrade" in result.output
    fresh.extensions["quickcrm.engine"].dispose()


def test_the_setup_code_command_shows_it_again_until_there_is_an_admin(app, runner, make_user):
    result = runner.invoke(args=["setup-code"])
    assert result.exit_code == 0
    assert result.output.strip() == users.setup_code(app.config["SECRET_KEY"])
    make_user()
    assert runner.invoke(args=["setup-code"]).exit_code == 0
    make_user("ada@example.com", "admin")
    closed = runner.invoke(args=["setup-code"])
    assert closed.exit_code != 0 and "already has an admin" in closed.output


def test_create_user_refuses_a_common_password_or_the_email(runner):
    common = runner.invoke(args=["create-user", "rep@example.com", "--password", "1q2w3e4r5t"])
    assert common.exit_code != 0 and "one of the most common passwords" in common.output
    own = runner.invoke(args=["create-user", "rep@example.com", "--password", "rep@example.com"])
    assert own.exit_code != 0 and "Do not use your email address" in own.output
