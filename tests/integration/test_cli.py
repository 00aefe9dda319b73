"""The command line: create-user, seed-demo, db upgrade, current and downgrade."""

from __future__ import annotations

from sqlalchemy import func, select

from quickcrm.models import Activity, Lead, User
from tests.unit.test_models import empty_engine  # noqa: F401 - the fixture


def test_create_user_with_a_password(runner, db):
    result = runner.invoke(
        args=[
            "create-user",
            "Coord@Example.com",
            "--role",
            "coordinator",
            "--name",
            "Cora",
            "--password",
            "long enough",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.scalars(select(User)).one()
    assert (user.email, user.role, user.name) == ("coord@example.com", "coordinator", "Cora")


def test_create_user_prompts_for_the_password(runner, db):
    result = runner.invoke(
        args=["create-user", "rep@example.com"], input="long enough\nlong enough\n"
    )
    assert result.exit_code == 0, result.output
    assert db.scalars(select(User.role)).one() == "rep"


def test_create_user_refuses_a_duplicate_with_a_message(runner):
    args = ["create-user", "rep@example.com", "--password", "long enough"]
    assert runner.invoke(args=args).exit_code == 0
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_seed_demo_adds_reps_and_leads_with_follow_ups_due_today(runner, db):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert db.scalar(select(func.count()).select_from(User)) == 3
    temperatures = set(db.scalars(select(Lead.temperature)))
    assert {"cold", "warm", "hot"} <= temperatures
    from datetime import date

    assert db.scalar(select(func.count()).where(Activity.due_on == date.today())) > 0
    again = runner.invoke(args=["seed-demo"])
    assert "already there" in again.output


def test_seed_demo_prints_the_accounts_it_made_with_their_roles_and_password(runner, client):
    # The README's order: the app runs (its first page is the first-run page), then seed-demo.
    assert client.get("/", follow_redirects=True).request.path == "/setup"
    result = runner.invoke(args=["seed-demo", "--password", "try it out 2026"])
    assert result.exit_code == 0, result.output
    assert "Demo accounts, each with the password try it out 2026:" in result.output
    for line in (
        "coordinator  coordinator@demo.quickcrm",
        "rep          rep.sam@demo.quickcrm",
        "rep          rep.alex@demo.quickcrm",
    ):
        assert f"\n  {line}\n" in result.output + "\n", result.output


def test_seed_demo_refuses_a_database_with_users_of_its_own_unless_forced(runner, db, make_user):
    make_user("owner@example.com", "admin")
    db.commit()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert result.output == (
        "Error: This database already has 1 user of its own and seed-demo would add accounts "
        "with a known password: run it on a new, empty database, or add --force to add them "
        "anyway.\n"
    )
    db.expire_all()
    assert db.scalars(select(User.email)).all() == ["owner@example.com"]
    assert db.scalar(select(func.count()).select_from(Lead)) == 0

    forced = runner.invoke(args=["seed-demo", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "coordinator@demo.quickcrm" in forced.output and "demo-password" in forced.output
    assert db.scalar(select(func.count()).select_from(User)) == 4


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output


def test_seed_demo_makes_matches_phones_a_service_call_and_meetings(runner, db):
    from quickcrm.domain import matching
    from quickcrm.models import Company, Contact, MeetingSnapshot

    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "coordinator@demo.quickcrm" in result.output and "rep.sam@demo.quickcrm" in result.output
    assert db.scalar(select(func.count()).select_from(MeetingSnapshot)) == 2
    assert db.scalar(select(func.count()).where(Contact.phone.is_not(None))) >= 10
    assert db.scalar(select(func.count()).where(Activity.repeat_unit == "month")) == 1
    suggested = [
        lead
        for lead in db.scalars(select(Lead).where(Lead.company_name.is_not(None)))
        if matching.suggest_companies(db, lead, "GB")
    ]
    assert suggested, "no demo lead has a suggested company"
    keys = {c.name_key for c in db.scalars(select(Company))}
    assert all(key == key.lower() for key in keys)


def test_seed_demo_refuses_an_unmigrated_database(tmp_path):
    from quickcrm import create_app
    from tests.conftest import config_for

    app = create_app(
        config_for(f"sqlite:///{tmp_path / 'empty.sqlite3'}"), instance_path=str(tmp_path)
    )
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    app.extensions["quickcrm.engine"].dispose()
    assert result.exit_code != 0 and "db upgrade" in result.output
    assert "Traceback" not in result.output


def test_db_current_and_downgrade_take_the_database_back_one_revision_and_up_again(
    empty_engine,  # noqa: F811
    tmp_path,
):
    from alembic.script import ScriptDirectory

    from quickcrm import create_app, migrate
    from tests.conftest import config_for

    url = empty_engine.url.render_as_string(hide_password=False)
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    app = create_app(config_for(url), instance_path=str(tmp_path))
    runner = app.test_cli_runner()
    try:
        assert "No revision" in runner.invoke(args=["db", "current"]).output
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        assert runner.invoke(args=["db", "current"]).output.strip() == head
        back = runner.invoke(args=["db", "downgrade", previous])
        assert back.exit_code == 0, back.output
        assert runner.invoke(args=["db", "current"]).output.strip() == previous
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        assert migrate.is_current(empty_engine)
    finally:
        app.extensions["quickcrm.engine"].dispose()
