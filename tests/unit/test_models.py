"""The schema: migrations match the models, default stages, constraints hold."""

import uuid
import warnings
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import DateTime, Uuid, bindparam, create_engine, inspect, make_url, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quickcrm import migrate
from quickcrm.db import make_engine
from quickcrm.domain import leads
from quickcrm.domain.stages import ordered_stages
from quickcrm.models import Base, Lead, User
from tests import factories


def test_migrations_build_exactly_the_models(app):
    engine = app.extensions["quickcrm.engine"]
    # As autogenerate does: the lead search index is the migrations' alone.
    opts = {"include_name": migrate.include_name}
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect an index on an expression (lower(email), revision 0015):
        # SQLAlchemy and Alembic say so and skip it; PostgreSQL compares it.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []


def test_default_stages_in_order(db):
    # The list of the product brief, written out: not the constant the seeding reads.
    stages = [(s.name, s.probability, s.outcome) for s in ordered_stages(db)]
    assert stages == [
        ("New", 10, "open"),
        ("Qualified", 25, "open"),
        ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]


def test_roles_rank(make_user):
    rep = make_user("r@example.com", "rep")
    coordinator = make_user("c@example.com", "coordinator")
    admin = make_user("a@example.com", "admin")
    assert rep.can("rep") and not rep.can("coordinator")
    assert coordinator.can("coordinator") and not coordinator.can("admin")
    assert admin.can("admin") and admin.can("rep")


def test_temperature_is_constrained_in_the_database(db, make_user):
    db.add(Lead(name="X", owner=make_user(), temperature="tepid"))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_lead_uuid_is_unique(db, make_user):
    rep = make_user()
    first = factories.lead(db, rep, "A")
    db.add(Lead(name="B", owner=rep, uuid=first.uuid))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_times_come_back_in_utc(db, make_user):
    user = make_user()
    db.expire_all()
    created = db.scalar(select(User.created_at).where(User.id == user.id))
    assert isinstance(created, datetime) and created.utcoffset().total_seconds() == 0


def test_the_next_action_migration_fills_the_column_from_open_activities(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate.upgrade(engine, "0003_pipeline")
    now = "2026-11-23 10:00:00"
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO user (id, email, name, password_hash, role, active, created_at,"
                 " updated_at) VALUES (1, 'r@example.com', 'R', 'x', 'rep', 1, :now, :now)"),
            {"now": now},
        )  # fmt: skip
        for lead_id in (1, 2):
            conn.execute(
                text("INSERT INTO lead (id, uuid, name, status, owner_id, captured_at,"
                     " created_at, updated_at) VALUES (:id, :uuid, 'L', 'open', 1, :now, :now,"
                     " :now)"),
                {"id": lead_id, "uuid": f"{lead_id:032x}", "now": now},
            )  # fmt: skip
        for due, done in (("2026-12-09", 0), ("2026-12-01", 0), ("2026-11-20", 1)):
            conn.execute(
                text("INSERT INTO activity (kind, text, due_on, done, author_id, lead_id,"
                     " created_at, updated_at) VALUES ('task', 't', :due, :done, 1, 1, :now,"
                     " :now)"),
                {"due": due, "done": done, "now": now},
            )  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, next_action_on FROM lead")).all())
    engine.dispose()
    assert rows == {1: "2026-12-01", 2: None}


@pytest.fixture
def empty_engine(database_url, tmp_path):
    """An engine on an empty database of the run's kind: a SQLite file of its own, or on
    PostgreSQL a database of its own beside the test database (a schema of its own is not
    enough: Alembic would find the test database's alembic_version through the search path
    and migrate the test database instead)."""
    if not database_url.startswith("postgresql"):
        engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
        yield engine
        engine.dispose()
        return

    url = make_url(database_url)
    name = f"{url.database}_migrations"
    server = create_engine(url, isolation_level="AUTOCOMMIT")

    def on_server(statement: str) -> None:
        with server.connect() as conn:
            conn.execute(text(statement))

    on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    on_server(f'CREATE DATABASE "{name}"')
    engine = create_engine(url.set(database=name))
    yield engine
    engine.dispose()
    on_server(f'DROP DATABASE "{name}" WITH (FORCE)')
    server.dispose()


def _search_objects(engine) -> set[str]:
    inspector = inspect(engine)
    tables = set(inspector.get_table_names()) & migrate.SEARCH_TABLES
    indexes = {ix["name"] for ix in inspector.get_indexes("lead")} & migrate.SEARCH_INDEXES
    return tables | indexes


def test_the_search_migration_indexes_existing_leads_and_can_be_undone(empty_engine):
    engine = empty_engine
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    add_lead = text(
        "INSERT INTO lead (id, uuid, name, company_name, note, status, owner_id, captured_at,"
        " created_at, updated_at) VALUES (:id, :uuid, :name, :company, :note, 'open', 1,"
        " :now, :now, :now)"
    ).bindparams(bindparam("uuid", type_=Uuid), bindparam("now", type_=DateTime(timezone=True)))

    def add(conn, lead_id: int, name: str, company: str | None = None, note: str | None = None):
        values = {"name": name, "company": company, "note": note}
        conn.execute(
            add_lead, {"id": lead_id, "uuid": uuid.UUID(int=lead_id), "now": now, **values}
        )

    migrate.upgrade(engine, "0004_lead_next_action")
    with engine.begin() as conn:
        conn.execute(
            text('INSERT INTO "user" (id, email, name, password_hash, role, active, created_at,'
                 " updated_at) VALUES (1, 'c@example.com', 'C', 'x', 'coordinator', :yes, :now,"
                 " :now)").bindparams(bindparam("now", type_=DateTime(timezone=True))),
            {"yes": True, "now": now},
        )  # fmt: skip
        add(conn, 1, "Maria Novak", company="Globex")
        add(conn, 2, "Jo Bloggs", note="met at the expo stand")
    migrate.upgrade(engine)

    def found(typed: str) -> list[str]:
        with Session(engine) as session:
            query = leads.LeadQuery.from_args({"q": typed})
            viewer = session.get(User, 1)
            return [
                lead.name
                for lead in leads.list_leads(session, query, viewer, today=now.date()).leads
            ]

    assert found("novak") == ["Maria Novak"]
    assert found("expo stand") == ["Jo Bloggs"]
    assert found("GLOBEX") == ["Maria Novak"]
    assert found("gl") == ["Maria Novak"]  # the word-prefix index of revision 0012
    sqlite = engine.dialect.name == "sqlite"
    assert _search_objects(engine) == (migrate.SEARCH_TABLES if sqlite else migrate.SEARCH_INDEXES)

    migrate.downgrade(engine, "0004_lead_next_action")
    assert _search_objects(engine) == set()
    with engine.begin() as conn:
        add(conn, 3, "Pia Petersen")  # written while there is no search index
    migrate.upgrade(engine)
    assert found("petersen") == ["Pia Petersen"]
    assert found("pe") == ["Pia Petersen"]
    assert found("novak") == ["Maria Novak"]


def test_new_revisions_are_numbered_after_the_last(tmp_path):
    from quickcrm.migrate import next_revision_id

    for name in ("0001_initial_schema.py", "0012_later.py", "README"):
        (tmp_path / name).write_text("")
    assert next_revision_id("Add API tokens!", tmp_path) == "0013_add_api_tokens"
    assert next_revision_id("", tmp_path / "none") == "0001_revision"
