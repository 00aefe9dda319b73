from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from quickcrm.domain import qr, two_step, users
from quickcrm.domain import validation as v
from quickcrm.models import RecoveryCode

METHOD = "pbkdf2:sha256:1000"
NOW = datetime(2026, 11, 23, 9, 0, 10, tzinfo=UTC)
STEP = timedelta(seconds=30)


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


@pytest.fixture
def user(db):
    return users.create_user(db, "ana@example.com", "long enough", password_method=METHOD)


@pytest.fixture
def turned_on(db, user):
    secret = two_step.new_secret()
    codes = two_step.confirm(db, user, secret, code_at(secret, NOW), NOW)
    return secret, codes


def test_the_qr_code_is_an_svg_data_uri_of_the_otpauth_address(user):
    secret = two_step.new_secret()
    uri = two_step.otpauth_uri(user, secret)
    assert uri.startswith("otpauth://totp/QuickCRM:ana%40example.com?secret=" + secret)
    assert "issuer=QuickCRM" in uri
    assert qr.svg_data_uri(uri).startswith("data:image/svg+xml")


def test_confirm_needs_the_right_code_and_makes_ten_recovery_codes(db, user):
    secret = two_step.new_secret()
    with pytest.raises(v.Refused) as wrong:
        two_step.confirm(
            db, user, secret, "000000" if code_at(secret, NOW) != "000000" else "1", NOW
        )
    assert wrong.value.field == "code" and user.totp_secret is None
    codes = two_step.confirm(db, user, secret, code_at(secret, NOW), NOW)
    assert user.totp_secret == secret
    assert len(set(codes)) == 10
    stored = db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
    stored = set(stored)
    assert len(stored) == 10 and not any(code.replace("-", "") in stored for code in codes)
    with pytest.raises(v.Refused):
        two_step.confirm(db, user, two_step.new_secret(), "123456", NOW)


@pytest.mark.parametrize("offset", [-1, 1])
def test_a_code_one_step_either_side_is_accepted(db, user, turned_on, offset):
    secret, _ = turned_on
    later = NOW + 10 * STEP
    assert two_step.verify(db, user, code_at(secret, later + offset * STEP), later)


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_away_is_refused(db, user, turned_on, offset):
    secret, _ = turned_on
    later = NOW + 10 * STEP
    assert not two_step.verify(db, user, code_at(secret, later + offset * STEP), later)


def test_each_step_works_once(db, user, turned_on):
    secret, _ = turned_on
    later = NOW + 10 * STEP
    code = code_at(secret, later)
    assert two_step.verify(db, user, code, later)
    assert not two_step.verify(db, user, code, later + timedelta(seconds=5))
    # Nor an earlier step's code once a later one was used.
    assert not two_step.verify(db, user, code_at(secret, later - STEP), later)
    assert two_step.verify(db, user, code_at(secret, later + STEP), later + STEP)


def test_the_code_that_confirmed_cannot_sign_in(db, user, turned_on):
    secret, _ = turned_on
    assert not two_step.verify(db, user, code_at(secret, NOW), NOW)


def test_a_recovery_code_works_once(db, user, turned_on):
    _, codes = turned_on
    assert two_step.recovery_codes_left(db, user) == 10
    assert two_step.verify(db, user, " " + codes[3].upper() + " ", NOW)
    assert not two_step.verify(db, user, codes[3], NOW)
    assert two_step.verify(db, user, codes[4].replace("-", ""), NOW)
    assert two_step.recovery_codes_left(db, user) == 8


@pytest.mark.parametrize("typed", ["", "12345", "abcdefghij", "\x00" * 6, "１２３４５６", None])
def test_nonsense_is_refused(db, user, turned_on, typed):
    assert not two_step.verify(db, user, typed, NOW)


def test_a_user_without_two_step_has_no_code(db, user):
    assert not two_step.verify(db, user, "123456", NOW)


def test_disable_clears_the_secret_and_codes_and_ends_sessions(db, user, turned_on):
    _, codes = turned_on
    session_id = user.get_id()
    two_step.disable(db, user)
    assert user.totp_secret is None and user.totp_last_step is None
    assert two_step.recovery_codes_left(db, user) == 0
    assert users.user_for_session(db, session_id) is None
    assert not two_step.verify(db, user, codes[0], NOW)
    with pytest.raises(v.Refused):
        two_step.disable(db, user)


def test_wrong_codes_are_throttled_per_account(db, user):
    for _ in range(two_step.CODE_ACCOUNT_LIMIT):
        two_step.count_code_attempt(db, user, "192.0.2.1", now=NOW)
    with pytest.raises(v.Refused) as refused:
        two_step.count_code_attempt(db, user, "192.0.2.2", now=NOW)
    assert refused.value.status == 429 and refused.value.retry_after > 0
    two_step.count_code_attempt(db, user, "192.0.2.2", now=NOW + two_step.CODE_WINDOW)
