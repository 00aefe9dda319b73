"""Who commits (docs/architecture.md, "Transactions"): the request or CLI command, once.
The domain functions that own their transaction are these, each marked
``@owns_transaction`` with its reason; a ``.commit()`` anywhere else in quickcrm/domain/
fails here."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from quickcrm.domain import transactions

DOMAIN = Path(transactions.__file__).parent

OWNERS = {
    # throttling counts, kept even when the request fails
    "quickcrm.domain.ratelimit.hit",
    "quickcrm.domain.ratelimit.reset",
    "quickcrm.domain.ratelimit._purge",
    # a UNIQUE key settles a resend racing the first
    "quickcrm.domain.offline.commit_once",
    "quickcrm.domain.web_leads.store_web_lead",
    # claims: one conditional UPDATE
    "quickcrm.domain.leads.lead._move",
    "quickcrm.domain.convert.convert_lead",
    "quickcrm.domain.convert.undo_conversion",
    "quickcrm.domain.merge.merge_leads",
    "quickcrm.domain.merge.undo_merge",
    "quickcrm.domain.imports.run.start",
    "quickcrm.domain.imports.run.undo",
    # the unit an import resumes from
    "quickcrm.domain.imports.run.run_batch",
    # scheduled jobs: the scheduler's lease and result, each purge batch
    "quickcrm.domain.scheduler.ensure",
    "quickcrm.domain.scheduler.claim",
    "quickcrm.domain.scheduler.finish",
    "quickcrm.domain.reminders.claim",
    "quickcrm.domain.reminders.mark",
    # the VAPID key: made once, the first INSERT wins
    "quickcrm.domain.push.vapid_key",
    "quickcrm.domain.housekeeping._delete_old",
    "quickcrm.domain.housekeeping._delete_abandoned_uploads",
    "quickcrm.domain.housekeeping._delete_spent",
    # the backup file and a restore, each on a connection of its own
    "quickcrm.domain.backup.sqlite_copy",
    "quickcrm.domain.backup.restore",
}


def _module(path: Path) -> str:
    parts = path.relative_to(DOMAIN.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _marked(function: ast.FunctionDef) -> bool:
    for decorator in function.decorator_list:
        call = decorator.func if isinstance(decorator, ast.Call) else decorator
        if getattr(call, "id", getattr(call, "attr", None)) == "owns_transaction":
            return True
    return False


def _scan() -> tuple[set[str], list[str]]:
    """The functions marked ``@owns_transaction``, and every ``.commit()`` outside them
    (as "module:line")."""
    marked: set[str] = set()
    bare: list[str] = []

    def walk(node: ast.AST, module: str, names: list[str], owned: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inside = [*names, child.name]
                mark = not isinstance(child, ast.ClassDef) and _marked(child)
                if mark:
                    marked.add(".".join([module, *inside]))
                walk(child, module, inside, owned or mark)
                continue
            call = isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
            if call and child.func.attr == "commit" and not owned:
                bare.append(f"{module}:{child.lineno}")
            walk(child, module, names, owned)

    for path in sorted(DOMAIN.rglob("*.py")):
        walk(ast.parse(path.read_text(encoding="utf-8")), _module(path), [], False)
    return marked, bare


def test_no_domain_function_commits_unless_it_owns_its_transaction():
    _, bare = _scan()
    assert bare == [], (
        "A domain function flushes; the view or CLI command commits. One that must own "
        "its transaction says why with @owns_transaction and joins OWNERS in this test."
    )


def test_the_functions_that_own_their_transaction_are_these():
    marked, _ = _scan()
    assert marked == OWNERS


def test_each_owner_says_why():
    for name in OWNERS:
        importlib.import_module(name.rsplit(".", 1)[0])
    assert set(transactions.OWNERS) == OWNERS
    assert all(len(reason) > 20 for reason in transactions.OWNERS.values())
