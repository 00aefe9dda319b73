"""The command line: create-user, seed-demo, db upgrade."""

from __future__ import annotations

from sqlalchemy import func, select

from quickcrm.models import Activity, Lead, User


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


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
