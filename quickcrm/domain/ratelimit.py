"""Rate limits counted in the database, so every app server shares them: the iCal feed per
user, sign-in attempts per account and per address, first-run attempts per address (and the
API's tokens to come).

A limit is a fixed window per key: the first hit starts a window of ``window``; hits past
``limit`` inside it are refused until it ends. One row per key in ``rate_limit``, counted
by one INSERT … ON CONFLICT DO UPDATE (SQLite and PostgreSQL both have it), so two app
servers hitting the same key at once can never both read the old count.

Keys are stored as an HMAC-SHA256 under a secret derived from the app's secret key, never
as typed: a sign-in key holds what was typed into the email box (a password, by mistake),
and a plain SHA-256 of that could be reversed by guessing from a copy of the database at
the speed of SHA-256 (billions a second), far cheaper than the users' scrypt hashes. The
secret is not in the database, so a dump or a backup holds only digests. The app sets it
once per process at start (``use_secret_key``), so callers pass plain keys.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import RateLimit, UTCDateTime, utcnow

# The secret keys are hashed under; until the app sets it from its secret key (every app
# server has the same one, so they share counts), one of this process's own.
_secret = secrets.token_bytes(32)
# Rows whose window started longer ago than this are deleted: no window may be longer.
RETENTION = timedelta(days=2)
PURGE_BATCH = 200
# An IPv6 client usually holds a whole /64: count it as one address.
IPV6_PREFIX = 64


@owns_transaction("a throttling count is kept even when the request fails")
def hit(
    session: Session,
    key: str,
    *,
    limit: int,
    window: timedelta,
    now: datetime | None = None,
) -> tuple[bool, int]:
    """Count one request for ``key``; commits.

    Returns ``(allowed, retry_after)``: ``allowed`` is False once ``key`` has had more than
    ``limit`` hits in its current window, and ``retry_after`` is then the whole seconds
    until that window ends (0 when allowed).
    """
    if not timedelta(0) < window <= RETENTION:
        raise ValueError(f"a rate limit window must be positive and at most {RETENTION}")
    now = now or utcnow()
    table = RateLimit.__table__
    moment = literal(now, UTCDateTime())
    # In DO UPDATE the table's columns are the row as it was: a window that is over starts
    # again at this hit.
    over = table.c.window_start <= now - window
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(key=stored_key(key), window_start=now, hits=1)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "window_start": case((over, moment), else_=table.c.window_start),
                "hits": case((over, 1), else_=table.c.hits + 1),
            },
        )
        .returning(table.c.hits, table.c.window_start)
    )
    hits, started = session.execute(statement).one()
    session.commit()
    if hits == 1:
        # A new window: the moment to sweep away keys nobody has used for a while.
        _purge(session, now)
    if hits <= limit:
        return True, 0
    return False, max(1, math.ceil((started + window - now).total_seconds()))


@owns_transaction("a throttling count is kept even when the request fails")
def reset(session: Session, *keys: str) -> None:
    """Forget the hits of ``keys`` (a sign-in that succeeded); commits."""
    stored = [stored_key(key) for key in keys]
    session.execute(delete(RateLimit).where(RateLimit.key.in_(stored)))
    session.commit()


def address_key(scope: str, address: str | None) -> str:
    """The key of a client ``address`` for the limit ``scope``: an IPv6 address counts as
    its /64 network, an IPv4 one as itself."""
    raw = (address or "").strip()
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return f"{scope}:addr:{raw or 'unknown'}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"{scope}:addr:{ip.ipv4_mapped}"
        return f"{scope}:addr:{ipaddress.ip_network(f'{ip}/{IPV6_PREFIX}', strict=False)}"
    return f"{scope}:addr:{ip}"


def use_secret_key(secret_key: str | bytes) -> None:
    """Hash keys from now on under a secret derived from the app's ``secret_key``."""
    global _secret
    if isinstance(secret_key, str):
        secret_key = secret_key.encode("utf-8")
    _secret = hmac.new(secret_key, b"quickcrm rate-limit keys", hashlib.sha256).digest()


def stored_key(key: str) -> str:
    """``key`` as it is stored: its hex HMAC-SHA256 (64 characters, whatever the key holds:
    NUL bytes, lone surrogates, 5,000 characters)."""
    return hmac.new(_secret, key.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


@owns_transaction("a throttling count is kept even when the request fails")
def _purge(session: Session, now: datetime) -> None:
    """Delete a batch of rows whose window ended long ago; commits. Rows another
    transaction holds are skipped, so two purges never wait on each other."""
    stale = (
        select(RateLimit.key)
        .where(RateLimit.window_start < now - RETENTION)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(RateLimit).where(RateLimit.key.in_(stale)))
    session.commit()
