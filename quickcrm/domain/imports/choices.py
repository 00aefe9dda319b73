"""The admin's choices on the mapping page (docs/import.md, "Import"): what each column is
by default and why (the mapping remembered for these headers, else the guess), the values a
value column holds and what each becomes, and remembering the mapping for next time."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quickcrm.domain.imports.mapping import (
    FIELDS,
    VALUE_FIELDS,
    Guess,
    fold,
    guess_columns,
    guess_values,
)
from quickcrm.models import TEMPERATURES, Import, ImportChunk, ImportMapping, utcnow

CHOSEN_BY_YOU = "chosen by you"
# The rows the guesses look at, and how many distinct values a value column offers.
GUESS_ROWS = 10
VALUES_SHOWN = 20
# column_values reads at most this many chunks (of run.CHUNK_ROWS rows) for its values.
VALUE_CHUNKS = 5
# What a value of each value field may become, as the selects list them: stored → label
# ("" stores nothing).
VALUE_CHOICES = {
    "temperature": {
        **{t: t.capitalize() for t in reversed(TEMPERATURES)},
        "": "No temperature",
    },
}
ValueMap = dict[str, dict[str, str | None]]


def header_key(headers: list[str]) -> str:
    """What identifies a header set: the SHA-256 of the folded headers, one per line."""
    return hashlib.sha256("\n".join(fold(h) for h in headers).encode()).hexdigest()


def _chunks(session: Session, upload: Import, limit: int):
    query = (
        select(ImportChunk.rows)
        .where(ImportChunk.import_id == upload.id)
        .order_by(ImportChunk.number)
        .limit(limit)
        .execution_options(yield_per=1)
    )
    with session.execute(query) as chunks:  # closed when left early: a PostgreSQL cursor
        for rows in chunks.scalars():
            yield [row[1:] for row in json.loads(rows)]


def first_rows(session: Session, upload: Import, limit: int = GUESS_ROWS) -> list[list[str]]:
    """The cells of the file's first ``limit`` data rows (what the guesses look at)."""
    found: list[list[str]] = []
    for rows in _chunks(session, upload, VALUE_CHUNKS):
        found += rows[: limit - len(found)]
        if len(found) >= limit:
            break
    return found


def column_values(session: Session, upload: Import, index: int, limit: int = 20) -> list[str]:
    """The distinct non-empty values (stripped) of column ``index`` in the stored rows, in
    the order they first appear: at most ``limit``, from the first ``VALUE_CHUNKS`` chunks."""
    seen: dict[str, None] = {}
    for rows in _chunks(session, upload, VALUE_CHUNKS):
        for cells in rows:
            value = cells[index].strip() if index < len(cells) else ""
            if value and value not in seen:
                seen[value] = None
                if len(seen) >= limit:
                    return list(seen)
    return list(seen)


def recall(session: Session, kind: str, headers: list[str]) -> ImportMapping | None:
    """The mapping last chosen for a file of ``kind`` with these headers, if any."""
    return session.scalar(
        select(ImportMapping).where(
            ImportMapping.kind == kind, ImportMapping.header_key == header_key(headers)
        )
    )


def remember(
    session: Session,
    kind: str,
    headers: list[str],
    fields: list[str],
    value_map: ValueMap | None,
) -> ImportMapping:
    """Keep ``fields`` (one per column) and ``value_map`` as the mapping of this header set,
    replacing the one kept before; flushed, the caller commits. Two admins remembering the
    same header set at once: the later one wins."""
    values = json.dumps(value_map) if value_map else None
    kept = recall(session, kind, headers)
    if kept is None:
        kept = ImportMapping(kind=kind, header_key=header_key(headers), mapping="[]")
        try:
            with session.begin_nested():
                session.add(kept)
                session.flush()
        except IntegrityError:  # another request kept it first: replace theirs
            kept = recall(session, kind, headers)
    kept.mapping, kept.value_map, kept.saved_at = json.dumps(fields), values, utcnow()
    session.flush()
    return kept


@dataclass(frozen=True)
class Defaults:
    """What the mapping page offers before the admin changes anything: a field and its
    reason per column, and the value map remembered with the mapping."""

    guesses: list[Guess]
    value_map: ValueMap = field(default_factory=dict)


def defaults(session: Session, upload: Import, *, day: Callable[[datetime], str]) -> Defaults:
    """The remembered field of each column where there is one (and it is still a choice),
    else the guess; ``day`` writes the date of the import it was chosen for."""
    headers = json.loads(upload.headers)
    guesses = guess_columns(headers, upload.kind, first_rows(session, upload))
    kept = recall(session, upload.kind, headers)
    if kept is None:
        return Defaults(guesses)
    reason = f"as chosen for your import of {day(kept.saved_at)}"
    fields = _json(kept.mapping, list)
    if len(fields) == len(headers):
        guesses = [
            Guess(f, reason) if f in FIELDS[upload.kind] else g
            for g, f in zip(guesses, fields, strict=True)
        ]
    value_map = {
        name: {
            str(k): v
            for k, v in values.items()
            if v is None or (isinstance(v, str) and v in VALUE_CHOICES[name])
        }
        for name, values in _json(kept.value_map, dict).items()
        if name in VALUE_CHOICES and isinstance(values, dict)
    }
    return Defaults(guesses, value_map)


def _json(text: str | None, kind: type):
    try:
        found = json.loads(text or "null")
    except ValueError:
        return kind()
    return found if isinstance(found, kind) else kind()


@dataclass(frozen=True)
class ValueChoice:
    """One distinct value of a value column: its input's name, and what it becomes."""

    name: str
    value: str
    chosen: str  # a key of VALUE_CHOICES[field] ("" for nothing)


@dataclass(frozen=True)
class ValueColumn:
    """A column chosen as a value field (Temperature), with its values."""

    index: int
    header: str
    field: str
    values: list[ValueChoice]


def value_columns(
    session: Session,
    upload: Import,
    fields: list[str],
    posted: Mapping[str, str],
    remembered: ValueMap,
    *,
    strict: bool,
) -> tuple[list[ValueColumn], ValueMap, dict[str, str]]:
    """Each column chosen as a value field with its values and what each becomes: as
    ``posted`` (``value_<column>_<n>``, n the value's place in ``column_values``), else as
    ``remembered``, else guessed. Returns the columns, the value map they make and the
    errors: a posted choice that is none of the offered ones is an error when ``strict``
    (starting the import), and is set aside for the default otherwise (the preview)."""
    headers = json.loads(upload.headers)
    columns: list[ValueColumn] = []
    value_map: ValueMap = {}
    errors: dict[str, str] = {}
    for index, name in enumerate(fields):
        if name not in VALUE_FIELDS or index >= len(headers):
            continue
        offered = VALUE_CHOICES[name]
        values = column_values(session, upload, index, VALUES_SHOWN)
        guessed = guess_values(name, values)
        kept = remembered.get(name, {})
        choices = []
        for n, value in enumerate(values):
            key = f"value_{index}_{n}"
            default = kept[value] if value in kept else guessed.get(value)
            default = default if default in offered else ""
            chosen = posted.get(key)
            if chosen not in offered:
                if chosen is not None and strict:
                    labels = ", ".join(offered.values())
                    errors[key] = f"Choose one of {labels}."
                chosen = default
            choices.append(ValueChoice(key, value, chosen))
            value_map.setdefault(name, {})[value] = chosen or None
        columns.append(ValueColumn(index, headers[index], name, choices))
    return columns, value_map, errors
