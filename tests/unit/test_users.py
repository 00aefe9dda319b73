import pytest

from quickcrm.domain import users

METHOD = "pbkdf2:sha256:1000"


def test_create_and_authenticate(db):
    user = users.create_user(db, " Ana@Example.com", "long enough", password_method=METHOD)
    assert user.email == "ana@example.com" and user.name == "ana" and user.role == "rep"
    assert user.password_hash.startswith("pbkdf2") and "long enough" not in user.password_hash
    assert users.authenticate(db, "ANA@example.com", "long enough", password_method=METHOD)
    assert users.authenticate(db, "ana@example.com", "wrong", password_method=METHOD) is None
    assert users.authenticate(db, "bob@example.com", "long enough", password_method=METHOD) is None


def test_production_passwords_use_scrypt(db):
    user = users.create_user(db, "ana@example.com", "long enough")
    assert user.password_hash.startswith("scrypt:")


@pytest.mark.parametrize(
    ("email", "password", "role", "field"),
    [
        ("not an email", "long enough", "rep", "email"),
        ("", "long enough", "rep", "email"),
        ("a@example.com", "short", "rep", "password"),
        ("a@example.com", "long enough", "boss", "role"),
    ],
)
def test_create_user_refuses_bad_input(db, email, password, role, field):
    with pytest.raises(users.UserError) as error:
        users.create_user(db, email, password, role=role, password_method=METHOD)
    assert error.value.field == field


@pytest.fixture
def team(db):
    def make(email, role):
        return users.create_user(db, email, "long enough", role=role, password_method=METHOD)

    return {
        "ada": make("ada@example.com", "admin"),
        "bea": make("bea@example.com", "admin"),
        "rita": make("rita@example.com", "rep"),
    }


def test_an_admin_changes_a_role(db, team):
    users.change_role(db, team["rita"], "coordinator", by=team["ada"])
    db.expire_all()
    assert team["rita"].role == "coordinator"
    users.change_role(db, team["bea"], "rep", by=team["ada"])
    db.expire_all()
    assert team["bea"].role == "rep"


def test_a_role_must_be_one_of_the_roles(db, team):
    with pytest.raises(users.UserError) as error:
        users.change_role(db, team["rita"], "boss", by=team["ada"])
    assert error.value.field == "role"
    db.rollback()
    assert team["rita"].role == "rep"


def test_deactivate_then_reactivate(db, team):
    users.deactivate(db, team["rita"], by=team["ada"])
    db.expire_all()
    assert team["rita"].active is False and not team["rita"].is_authenticated
    assert users.authenticate(db, "rita@example.com", "long enough", password_method=METHOD) is None
    users.reactivate(db, team["rita"])
    db.expire_all()
    assert team["rita"].active is True
    assert users.authenticate(db, "rita@example.com", "long enough", password_method=METHOD)


def test_an_admin_cannot_deactivate_or_demote_themselves(db, team):
    with pytest.raises(users.UserError, match="cannot deactivate yourself"):
        users.deactivate(db, team["ada"], by=team["ada"])
    with pytest.raises(users.UserError, match="cannot remove your own admin role"):
        users.change_role(db, team["ada"], "coordinator", by=team["ada"])
    db.rollback()
    assert team["ada"].active and team["ada"].role == "admin"
    users.change_role(db, team["ada"], "admin", by=team["ada"])  # keeping it is fine


def test_the_last_active_admin_stays(db, team):
    users.deactivate(db, team["bea"], by=team["ada"])
    assert [u.name for u in users.list_users(db)] == ["ada", "rita", "bea"]  # active first
    for refused in (
        lambda: users.deactivate(db, team["ada"], by=team["ada"]),
        lambda: users.change_role(db, team["ada"], "rep", by=team["ada"]),
        # Even an admin who was deactivated meanwhile cannot remove the last one.
        lambda: users.deactivate(db, team["ada"], by=team["bea"]),
        lambda: users.change_role(db, team["ada"], "coordinator", by=team["bea"]),
    ):
        with pytest.raises(users.UserError, match="at least one active admin"):
            refused()
        db.rollback()
    assert team["ada"].active and team["ada"].role == "admin"
    # A deactivated admin does not count: demoting them is fine.
    users.change_role(db, team["bea"], "rep", by=team["ada"])
    db.expire_all()
    assert team["bea"].role == "rep"


def test_a_session_names_a_user_by_id_and_session_version(db, team):
    rita = team["rita"]
    assert rita.get_id() == f"{rita.id}:1"
    assert users.user_for_session(db, rita.get_id()) is rita
    users.end_sessions(db, rita)
    assert rita.get_id() == f"{rita.id}:2"
    assert users.user_for_session(db, f"{rita.id}:1") is None
    assert users.user_for_session(db, rita.get_id()) is rita
    for malformed in (None, 7, "", str(rita.id), f"{rita.id}:2:2", f"0{rita.id}:2", "2**40:1"):
        assert users.user_for_session(db, malformed) is None


def test_a_new_password_and_deactivation_end_every_session(db, team):
    rita = team["rita"]
    users.change_password(db, rita, "long enough", "another long one", password_method=METHOD)
    assert rita.session_version == 2
    users.deactivate(db, rita, by=team["ada"])
    assert rita.session_version == 3
    users.reactivate(db, rita)
    db.expire_all()
    assert rita.session_version == 3 and users.user_for_session(db, f"{rita.id}:2") is None
