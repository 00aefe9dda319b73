import threading
from datetime import UTC, datetime, timedelta

import pytest

from quickcrm.domain import users
from quickcrm.domain import validation as v

METHOD = "pbkdf2:sha256:1000"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


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
    with pytest.raises(v.Refused) as error:
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
    with pytest.raises(v.Refused) as error:
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
    with pytest.raises(v.Refused, match="cannot deactivate yourself"):
        users.deactivate(db, team["ada"], by=team["ada"])
    with pytest.raises(v.Refused, match="cannot remove your own admin role"):
        users.change_role(db, team["ada"], "coordinator", by=team["ada"])
    db.rollback()
    assert team["ada"].active and team["ada"].role == "admin"
    users.change_role(db, team["ada"], "admin", by=team["ada"])  # keeping it is fine


def test_the_last_active_admin_stays(db, team):
    users.deactivate(db, team["bea"], by=team["ada"])
    db.commit()  # the caller commits (quickcrm/domain/__init__.py); the refusals roll back
    assert [u.name for u in users.list_users(db)] == ["ada", "rita", "bea"]  # active first
    for refused in (
        lambda: users.deactivate(db, team["ada"], by=team["ada"]),
        lambda: users.change_role(db, team["ada"], "rep", by=team["ada"]),
        # Even an admin who was deactivated meanwhile cannot remove the last one.
        lambda: users.deactivate(db, team["ada"], by=team["bea"]),
        lambda: users.change_role(db, team["ada"], "coordinator", by=team["bea"]),
    ):
        with pytest.raises(v.Refused, match="at least one active admin"):
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


@pytest.mark.parametrize(
    ("password", "email", "message"),
    [
        ("nine char", None, "Use at least 10 characters."),
        ("x" * 201, None, "Use at most 200 characters."),
        ("password123", None, "one of the most common passwords"),
        (" QWERTYUIOP ", None, "one of the most common passwords"),
        ("ana.lopez@example.com", "Ana.Lopez@example.com", "Do not use your email address"),
        ("ANA.LOPEZ.", "ana.lopez.@example.com", "Do not use your email address"),
        ("lone \ud800 surrogate", None, "cannot be typed"),
    ],
)
def test_password_policy(password, email, message):
    with pytest.raises(v.Refused, match=message) as error:
        users.check_password_strength(password, email)
    assert error.value.field == "password"


def test_a_password_that_merely_contains_a_common_one_or_the_email_is_fine():
    users.check_password_strength("password123 but longer", "ana@example.com")
    users.check_password_strength("ana@example.com!", "ana@example.com")


def test_the_shipped_list_of_common_passwords_is_the_20000():
    common = users.common_passwords()
    assert len(common) > 19_000 and {"password", "12345678", "iloveyou"} <= common


def test_the_setup_code_comes_from_the_secret_key():
    code = users.setup_code("one secret")
    assert len(code) == 14 and code.count("-") == 2
    assert set(code.replace("-", "")) <= set(users.SETUP_CODE_ALPHABET)
    assert users.setup_code("one secret") == code  # every worker and server alike
    assert users.setup_code("another secret") != code
    assert users.setup_code_matches("one secret", code.lower().replace("-", " "))
    for wrong in ("", code[:-1], users.setup_code("another secret"), "\ud800", "\x00" + code):
        assert not users.setup_code_matches("one secret", wrong)


def test_the_first_admin_needs_the_setup_code(db):
    with pytest.raises(v.Refused):
        users.create_first_admin(
            db, secret_key="s", code="nope", email="ada@example.com", password="long enough"
        )
    ada = users.create_first_admin(
        db,
        secret_key="s",
        code=users.setup_code("s"),
        email="ada@example.com",
        password="long enough",
        password_method=METHOD,
    )
    assert ada.role == "admin"
    with pytest.raises(v.Refused, match="already has its first admin"):
        users.create_first_admin(
            db, secret_key="s", code=users.setup_code("s"), email="b@example.com",
            password="long enough",
        )  # fmt: skip


@pytest.mark.parametrize("email", ["\x00@example.com", "\ud800@example.com", "a" * 5000])
def test_signing_in_with_an_email_no_database_can_hold_is_just_a_wrong_sign_in(db, email):
    assert users.authenticate(db, email, "\ud800", password_method=METHOD) is None


def test_sign_in_attempts_are_counted_per_account_and_per_address(db):
    def attempt(email, address, seconds=0):
        users.count_sign_in_attempt(
            db, email, address, per_account=2, per_address=3,
            now=START + timedelta(seconds=seconds),
        )  # fmt: skip

    attempt("ana@example.com", "203.0.113.1")
    attempt("ANA@example.com ", "203.0.113.2")
    with pytest.raises(v.Refused) as error:
        attempt("ana@example.com", "203.0.113.3", seconds=20)
    assert error.value.status == 429 and error.value.retry_after == 40
    attempt("bob@example.com", "203.0.113.1")
    attempt("cid@example.com", "203.0.113.1")
    with pytest.raises(v.Refused):  # the 4th from one address
        attempt("dan@example.com", "203.0.113.1")
    users.forget_sign_in_attempts(db, "ana@example.com")
    attempt("ana@example.com", "203.0.113.4")


def test_passwords_are_hashed_one_at_a_time_in_a_process(monkeypatch):
    """scrypt takes 32 MB a hash: two sign-ins at once must not hold two hashes at once.
    Each fake hash waits (briefly) for another to start beside it; none may."""
    assert users.SIMULTANEOUS_HASHES == 1
    together = threading.Barrier(2, timeout=0.3)
    overlaps: list[bool] = []

    def slow_check(stored, password):
        try:
            together.wait()
            overlaps.append(True)
        except threading.BrokenBarrierError:
            overlaps.append(False)
            together.reset()
        return False

    monkeypatch.setattr(users, "check_password_hash", slow_check)
    threads = [threading.Thread(target=users._check, args=("x", "y")) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [False, False]
