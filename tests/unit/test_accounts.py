"""One-time password links (quickcrm/domain/accounts.py): issued, used once, expired,
tampered with, ended by any password change."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from quickcrm.domain import accounts, users
from quickcrm.domain import validation as v
from quickcrm.models import PasswordToken

METHOD = "pbkdf2:sha256:1000"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NEW = "a brand new password"


@pytest.fixture
def ana(db):
    return users.create_user(db, "ana@example.com", "long enough", password_method=METHOD)


def choose(db, secret, password=NEW, now=NOW):
    return accounts.set_password_with(db, secret, password, now, password_method=METHOD)


def test_a_token_is_random_and_only_its_hash_is_stored(db, ana):
    token, secret = accounts.issue_token(db, ana, "invite", NOW)
    other, other_secret = accounts.issue_token(db, ana, "invite", NOW)
    assert len(secret) >= 43 and secret != other_secret  # 32 random bytes, URL-safe
    stored = db.scalars(select(PasswordToken.token_hash)).all()
    assert secret not in stored and hashlib.sha256(secret.encode()).hexdigest() in stored
    assert token.user_id == ana.id and token.used_at is None


@pytest.mark.parametrize(
    ("purpose", "lifetime"),
    [("invite", timedelta(days=7)), ("reset", timedelta(days=7)), ("forgot", timedelta(hours=1))],
)
def test_a_token_works_until_it_expires(db, ana, purpose, lifetime):
    token, secret = accounts.issue_token(db, ana, purpose, NOW)
    assert token.expires_at == NOW + lifetime
    assert accounts.token_user(db, secret, NOW + lifetime - timedelta(seconds=1)) == ana
    assert accounts.token_user(db, secret, NOW + lifetime) is None
    with pytest.raises(v.Conflict, match="used already or has expired"):
        choose(db, secret, now=NOW + lifetime)


def test_a_token_sets_the_password_once_and_ends_sessions_and_other_tokens(db, ana):
    _, secret = accounts.issue_token(db, ana, "reset", NOW)
    _, other = accounts.issue_token(db, ana, "reset", NOW)
    version = ana.session_version
    assert choose(db, secret) == ana
    assert users.authenticate(db, "ana@example.com", NEW, password_method=METHOD) == ana
    assert ana.session_version == version + 1
    assert accounts.token_user(db, secret, NOW) is None
    assert accounts.token_user(db, other, NOW) is None
    for used in (secret, other):
        with pytest.raises(v.Conflict):
            choose(db, used, "yet another password")
    assert users.authenticate(db, "ana@example.com", NEW, password_method=METHOD) == ana


@pytest.mark.parametrize("tamper", ["flip", "short", "long", "empty", "surrogate"])
def test_a_tampered_token_finds_no_one(db, ana, tamper):
    _, secret = accounts.issue_token(db, ana, "invite", NOW)
    forged = {
        "flip": secret[:-1] + ("A" if secret[-1] != "A" else "B"),
        "short": secret[:-1],
        "long": secret + "x" * 500,
        "empty": "",
        "surrogate": secret + "\udcff",
    }[tamper]
    assert accounts.token_user(db, forged, NOW) is None
    with pytest.raises(v.Conflict):
        choose(db, forged)
    assert accounts.token_user(db, secret, NOW) == ana


def test_a_weak_password_is_refused_and_the_token_still_works(db, ana):
    _, secret = accounts.issue_token(db, ana, "invite", NOW)
    with pytest.raises(v.Refused, match="at least 10"):
        choose(db, secret, "short")
    with pytest.raises(v.Refused, match="email address"):
        choose(db, secret, "ana@example.com")
    assert accounts.token_user(db, secret, NOW) == ana


def test_any_password_change_ends_every_token(db, ana):
    _, secret = accounts.issue_token(db, ana, "forgot", NOW)
    users.change_password(db, ana, "long enough", NEW, password_method=METHOD)
    assert accounts.token_user(db, secret, NOW) is None


def test_a_deactivated_users_token_finds_no_one(db, ana):
    _, secret = accounts.issue_token(db, ana, "reset", NOW)
    ana.active = False
    db.flush()
    assert accounts.token_user(db, secret, NOW) is None
    with pytest.raises(v.Conflict):
        choose(db, secret)


def test_an_invited_user_has_no_password_until_they_choose_one(db):
    user, secret = accounts.invite(db, "Nina@Example.com", "Nina New", "coordinator", NOW)
    assert user.email == "nina@example.com" and user.role == "coordinator"
    assert user.password_hash == users.UNUSABLE_PASSWORD
    for guess in ("", users.UNUSABLE_PASSWORD, "unusable", "!"):
        assert users.authenticate(db, "nina@example.com", guess, password_method=METHOD) is None
    with pytest.raises(v.Refused, match="not your current password"):
        users.change_password(db, user, users.UNUSABLE_PASSWORD, NEW, password_method=METHOD)
    choose(db, secret)
    assert users.authenticate(db, "nina@example.com", NEW, password_method=METHOD) == user


def test_an_invite_is_refused_as_a_new_user_is(db, ana):
    with pytest.raises(v.Refused, match="already exists"):
        accounts.invite(db, "ana@example.com", "Ana", "rep", NOW)
    with pytest.raises(v.Refused, match="Role must be"):
        accounts.invite(db, "bo@example.com", "Bo", "boss", NOW)


def test_an_admins_reset_ends_sessions_the_password_and_earlier_links(db, ana):
    _, earlier = accounts.issue_token(db, ana, "reset", NOW)
    version = ana.session_version
    secret = accounts.reset(db, ana, NOW)
    assert ana.session_version == version + 1
    assert users.authenticate(db, "ana@example.com", "long enough", password_method=METHOD) is None
    assert accounts.token_user(db, earlier, NOW) is None
    assert accounts.token_user(db, secret, NOW + timedelta(days=6)) == ana


def test_demo_users_are_no_real_admin(db):
    assert not users.has_real_admin(db)
    users.create_user(db, "boss@demo.quickcrm", "long enough", role="admin", password_method=METHOD)
    users.create_user(db, "rep@example.com", "long enough", password_method=METHOD)
    assert not users.has_real_admin(db)
    users.create_user(db, "ada@example.com", "long enough", role="admin", password_method=METHOD)
    assert users.has_real_admin(db)
