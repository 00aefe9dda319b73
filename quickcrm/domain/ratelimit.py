"""Rate limits counted in the database, so every app server shares them: the iCal feed per
user, sign-in attempts per account and per address, first-run attempts per address (and the
API's tokens to come).

A limit is a fixed window per key: the first hit starts a window of ``window``; hits past
``limit`` inside it are refused until it ends. One row per key in ``rate_limit``, counted
by one INSERT … ON CONFLICT DO UPDATE (SQLite and PostgreSQL both have it), so two app
servers hitting the same key at once can never both read the old count.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from quickcrm.models import RateLimit, UTCDateTime, utcnow

KEY_MAX = 200  # the column's length
# Rows whose window started longer ago than this are deleted: no window may be longer.
RETENTION = timedelta(days=2)
PURGE_BATCH = 200
# An IPv6 client usually holds a whole /64: count it as one address.
IPV6_PREFIX = 64


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


def reset(session: Session, key: str) -> None:
    """Forget the hits of ``key`` (a sign-in that succeeded); commits."""
    session.execute(delete(RateLimit).where(RateLimit.key == stored_key(key)))
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


def stored_key(key: str) -> str:
    """``key`` as it is stored: itself when it fits the column and is plain printable text,
    else a digest of it (keys may carry what a client typed: NUL bytes, lone surrogates,
    a 5,000-character email)."""
    if len(key) <= KEY_MAX and key.isprintable():
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest}"


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
