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
