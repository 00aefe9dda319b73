"""Who commits (docs/architecture.md, "Transactions").

A domain function flushes and never commits: the request or CLI command that called it
commits once, when every step succeeded. The few that must own their transaction say so
with ``@owns_transaction("why")`` above their ``def``; tests/unit/test_transactions.py
lists them and fails on a ``.commit()`` anywhere else in quickcrm/domain/.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

# "module.function" → why it commits itself.
OWNERS: dict[str, str] = {}


def owns_transaction(reason: str) -> Callable[[F], F]:
    """Mark a domain function that commits (or begins and ends) its own transaction, and
    say why; it changes nothing else about the function."""

    def mark(function: F) -> F:
        OWNERS[f"{function.__module__}.{function.__qualname__}"] = reason
        return function

    return mark
