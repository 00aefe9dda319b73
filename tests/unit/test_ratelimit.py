"""Rate limits counted in the database: fixed windows per key, shared by every app server."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from quickcrm.domain import ratelimit
from quickcrm.models import RateLimit

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def hits(db, key, count, *, limit=3, window=MINUTE, step=timedelta(seconds=1)):
    return [
        ratelimit.hit(db, key, limit=limit, window=window, now=START + i * step)
        for i in range(count)
    ]


def test_the_hit_past_the_limit_is_refused_until_the_window_ends(db):
    answers = hits(db, "sign-in:ana@example.com", 5)
    # The window began at START: the 4th hit (START + 3 s) waits 57 s, the 5th 56 s.
    assert answers == [(True, 0), (True, 0), (True, 0), (False, 57), (False, 56)]
    later = START + MINUTE
    assert ratelimit.hit(db, "sign-in:ana@example.com", limit=3, window=MINUTE, now=later) == (
        True,
        0,
    )


def test_keys_are_counted_apart_and_reset_forgets_one(db):
    hits(db, "a", 3)
    assert ratelimit.hit(db, "b", limit=3, window=MINUTE, now=START)[0]
    assert not ratelimit.hit(db, "a", limit=3, window=MINUTE, now=START)[0]
    ratelimit.reset(db, "a")
    assert ratelimit.hit(db, "a", limit=3, window=MINUTE, now=START)[0]


def test_hostile_keys_are_counted_under_a_digest(db):
    for key in ("x" * 5000, "nul\x00byte", "lone \ud800 surrogate"):
        answers = hits(db, key, 4)
        assert [allowed for allowed, _ in answers] == [True, True, True, False]
    stored = set(db.scalars(select(RateLimit.key)))
    assert len(stored) == 3 and all(re.fullmatch("[0-9a-f]{64}", key) for key in stored)


def test_keys_are_stored_as_an_hmac_under_the_apps_secret_key(app, db, monkeypatch):
    """What a key holds (an email, or a password typed into the email box) is not in the
    table, and without the app's secret key its digest cannot be matched to a guess."""
    # The secret is the process's: another app made earlier in this run (a test of its own
    # instance folder) may have set its own.
    monkeypatch.setattr(ratelimit, "_secret", ratelimit._secret)
    ratelimit.use_secret_key(app.config["SECRET_KEY"])
    key = "sign-in:account:my secret words"
    ratelimit.hit(db, key, limit=3, window=MINUTE)
    stored = db.scalar(select(RateLimit.key))
    assert stored == ratelimit.stored_key(key) and "secret" not in stored
    guesses = (key, "my secret words")
    assert stored not in {hashlib.sha256(guess.encode()).hexdigest() for guess in guesses}
    # The app's secret key decides the digest: the same on every app server, and another
    # secret key gives another one.
    ratelimit.use_secret_key(app.config["SECRET_KEY"])
    assert ratelimit.stored_key(key) == stored
    ratelimit.use_secret_key(b"another secret key")
    assert ratelimit.stored_key(key) != stored


def test_a_window_longer_than_rows_are_kept_is_refused(db):
    with pytest.raises(ValueError):
        ratelimit.hit(db, "k", limit=1, window=ratelimit.RETENTION + MINUTE)


def test_keys_unused_for_days_are_swept_away(db):
    ratelimit.hit(db, "old", limit=3, window=MINUTE, now=START)
    ratelimit.hit(db, "new", limit=3, window=MINUTE, now=START + timedelta(days=3))
    assert set(db.scalars(select(RateLimit.key))) == {ratelimit.stored_key("new")}


def test_two_servers_at_once_never_both_slip_through(app):
    """Twelve requests at the same moment, each on its own connection, against a limit of
    five: exactly five are allowed, whatever the interleaving."""
    maker = app.extensions["quickcrm.sessionmaker"]
    answers: list[bool] = []
    barrier = threading.Barrier(12)

    def request() -> None:
        with maker() as session:
            barrier.wait()
            allowed, _ = ratelimit.hit(session, "api:token:1", limit=5, window=MINUTE)
            answers.append(allowed)

    threads = [threading.Thread(target=request) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [False] * 7 + [True] * 5
    with maker() as session:
        assert session.scalar(select(func.sum(RateLimit.hits))) == 12


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "sign-in:addr:203.0.113.7"),
        ("::ffff:203.0.113.7", "sign-in:addr:203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "sign-in:addr:2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "sign-in:addr:2001:db8:1:2::/64"),
        (None, "sign-in:addr:unknown"),
        ("not an address", "sign-in:addr:not an address"),
    ],
)
def test_an_address_is_its_ipv4_or_its_ipv6_slash_64(address, key):
    assert ratelimit.address_key("sign-in", address) == key
