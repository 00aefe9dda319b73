"""Storing an upload, importing it batch by batch, its report, undoing it.

How it runs (docs/import.md, "Import"): the upload is parsed once and stored in the database in
chunks of ``CHUNK_ROWS`` rows; each request that asks for progress imports the next chunks
for about a second. A chunk is claimed by a conditional UPDATE of the import's
``next_chunk`` as the first statement of its transaction, and its records, its duplicate
keys, its refused rows and the import's counters are committed in that same transaction:
a crash in the middle rolls the claim back with the rest, the next request imports the
chunk again, and no row is imported twice. No worker process is needed and any number of
app servers can share the work.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import BinaryIO

from sqlalchemy import (
    ARRAY,
    Table,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from quickcrm.domain import bulk, categories
from quickcrm.domain import validation as v
from quickcrm.domain.imports import ahead, vcard
from quickcrm.domain.imports.ahead import Settings, clean_chunk
from quickcrm.domain.imports.detect import detect, header_row, read_rows
from quickcrm.domain.imports.mapping import check
from quickcrm.domain.imports.rows import (
    Cleaner,
    Row,
    company_key,
    duplicate_keys,
    spreadsheet_safe,
)
from quickcrm.domain.keys import keys_of, person_key
from quickcrm.domain.leads import NEXT_ACTION_TEXT
from quickcrm.domain.matching import email_domain
from quickcrm.domain.sorting import sort_key
from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import (
    IMPORT_ON_DUPLICATE,
    Activity,
    Company,
    CompanyCategory,
    Contact,
    Import,
    ImportChange,
    ImportChunk,
    ImportKey,
    ImportRefusal,
    Lead,
    LeadCategory,
    Opportunity,
    User,
    next_action_update,
    utcnow,
)

CHUNK_ROWS = 1000
COLUMNS_MAX = 200
HEADER_MAX = 200
PREVIEW_ROWS = 10
KEY_BATCH = 5000
# An upload whose columns were never mapped is forgotten after this long (its chunks hold
# the whole file): ``flask --app wsgi purge``.
ABANDONED_AFTER = timedelta(days=7)


# --- Upload --------------------------------------------------------------------------------


def _header(cell: str, index: int) -> str:
    text = "".join(ch for ch in cell if v.storable(ch)).strip()[:HEADER_MAX]
    return text or f"Column {index + 1}"


def recent_imports(session: Session, limit: int = 20) -> list[Import]:
    """The latest imports, newest first: the import page lists them."""
    return list(session.scalars(select(Import).order_by(Import.id.desc()).limit(limit)))


def store_upload(session: Session, stream: BinaryIO, filename: str, kind: str, by: User) -> Import:
    """Read the whole upload (a seekable binary stream) into an import waiting for its
    mapping, in chunks of ``CHUNK_ROWS`` rows (never more than one chunk in memory);
    flushed, the caller commits.
    Raises ``validation.Refused`` — and stores nothing — for a file that is not usable CSV.
    A vCard (found by its content) is read as rows by ``vcard.read_rows``."""
    if detected := vcard.sniff(stream, filename):
        rows = vcard.read_rows(stream, detected)
    else:
        detected = detect(stream)
        rows = read_rows(stream, detected)
    try:
        found = header_row(rows)  # after a preamble, if any (LinkedIn's "Notes:")
        if found is None:
            raise v.Refused("The file is empty.")
        _, first, rows = found
        headers = [_header(cell, i) for i, cell in enumerate(first)]
        if len(headers) > COLUMNS_MAX:
            raise v.Refused(
                f"The file has {len(headers)} columns; QuickCRM reads up to {COLUMNS_MAX}."
            )
        upload = Import(
            kind=kind,
            status="mapping",
            filename=_header(filename, 0)[:255],
            encoding=detected.encoding,
            delimiter=detected.delimiter,
            headers=json.dumps(headers),
            created_by_id=by.id,
            owner_id=by.id,
        )
        session.add(upload)
        session.flush()
        total, chunks = _store_chunks(session, upload.id, rows)
        if total == 0:
            raise v.Refused("The file has a header row and no rows under it.")
    except BaseException:
        session.rollback()
        raise
    upload.total_rows, upload.chunk_count = total, chunks
    session.flush()
    if chunks > 1:  # ready by the time the admin has checked the columns
        ahead.helper.warm_up()
    return upload


def _store_chunks(session: Session, import_id: int, rows) -> tuple[int, int]:
    total = chunks = 0
    batch: list[list] = []

    def flush() -> None:
        nonlocal chunks
        session.execute(
            insert(ImportChunk.__table__),
            [{"import_id": import_id, "number": chunks, "rows": json.dumps(batch)}],
        )
        chunks += 1
        batch.clear()

    for line, cells in rows:
        batch.append([line, *cells])
        total += 1
        if len(batch) == CHUNK_ROWS:
            flush()
    if batch:
        flush()
    return total, chunks


def headers_of(upload: Import) -> list[str]:
    return json.loads(upload.headers)


def fields_of(upload: Import) -> list[str]:
    return json.loads(upload.mapping) if upload.mapping else []


# --- Mapping and preview -----------------------------------------------------------------


def preview(
    session: Session,
    upload: Import,
    fields: list[str],
    *,
    source: str | None,
    today: date,
    region: str | None,
    value_map: dict[str, dict[str, str | None]] | None = None,
) -> list[Row]:
    """The first rows of the file as ``fields`` would store them (or refuse them)."""
    lines: list[list] = []
    query = (
        select(ImportChunk.rows)
        .where(ImportChunk.import_id == upload.id)
        .order_by(ImportChunk.number)
        .execution_options(yield_per=1)
    )
    with session.execute(query) as chunks:  # closed when left early: a PostgreSQL cursor
        for rows in chunks.scalars():
            lines += json.loads(rows)[: PREVIEW_ROWS - len(lines)]
            if len(lines) >= PREVIEW_ROWS:
                break
    cleaner = Cleaner(
        upload.kind,
        headers_of(upload),
        fields,
        today=today,
        region=region,
        source=source,
        value_map=value_map,
    )
    return [cleaner.clean(r[0], r[1:]) for r in lines]


@owns_transaction("the claim: one conditional UPDATE, so an import starts once")
def start(
    session: Session,
    upload: Import,
    chosen: list[str | None],
    *,
    source: str | None,
    owner: User,
    region: str | None,
    on_duplicate: str = "skip",
    value_map: dict[str, dict[str, str | None]] | None = None,
) -> Import:
    """Check the mapping (``validation.Refused``) and start the import: it is claimed from
    "mapping" to "running" by a conditional UPDATE (a second tap is told so: ``Conflict``), and
    the duplicate keys of the existing records are collected in the same transaction."""
    headers = headers_of(upload)
    fields = check(list(chosen) + [None] * (len(headers) - len(chosen)), headers, upload.kind)
    if on_duplicate not in IMPORT_ON_DUPLICATE:
        raise v.Refused({"on_duplicate": "Choose what to do with duplicates."})
    claimed = session.execute(
        update(Import)
        .where(Import.id == upload.id, Import.status == "mapping")
        .values(
            status="running",
            mapping=json.dumps(fields),
            source=source,
            owner_id=owner.id,
            on_duplicate=on_duplicate,
            value_map=json.dumps(value_map) if value_map else None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.rollback()
        raise v.Conflict("This import has already started.")
    if upload.chunk_count > 1:  # this app process's, which the first polls may reach
        ahead.helper.warm_up()
    _collect_existing_keys(session, upload, region)
    session.commit()
    session.refresh(upload)
    return upload


def _collect_existing_keys(session: Session, upload: Import, region: str | None) -> None:
    """The email and phone keys of every existing lead and contact (contacts only for a
    company import): what a row must not repeat, each with the record it belongs to
    (``ImportKey.target``). Open leads come first, so a key an open lead shares with a
    converted lead or a contact points at the lead a duplicate may fill in or update."""
    sources = [("contact", select(Contact.id, Contact.email, Contact.phone))]
    if upload.kind == "leads":
        lead = select(Lead.id, Lead.email, Lead.phone)
        sources[:0] = [
            ("lead", lead.where(Lead.status == "open")),
            ("lead", lead.where(Lead.status != "open")),
        ]
    seen: set[str] = set()
    pending: list[dict] = []
    for record_type, query in sources:
        rows = session.execute(query.execution_options(yield_per=KEY_BATCH))
        for record_id, email, phone in rows:
            for key in duplicate_keys({"email": email, "phone": phone}, region):
                if key not in seen:
                    seen.add(key)
                    target = f"{record_type}:{record_id}"
                    pending.append({"import_id": upload.id, "key": key, "target": target})
            if len(pending) >= KEY_BATCH:
                _insert(session, ImportKey.__table__, pending)
                pending = []
    if pending:
        _insert(session, ImportKey.__table__, pending)


# --- Batches -----------------------------------------------------------------------------


def run(
    session: Session,
    import_id: int,
    *,
    today: date,
    region: str | None,
    budget: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Import batches of ``import_id`` for up to ``budget`` seconds (at least one batch);
    returns how many this call imported. While a batch is written, a helper process cleans
    the next chunk (``ahead.py``)."""
    deadline = clock() + budget
    done = 0
    while run_batch(session, import_id, today=today, region=region):
        done += 1
        if clock() >= deadline:
            break
    return done


@owns_transaction("a batch is the unit an import resumes from")
def run_batch(
    session: Session,
    import_id: int,
    *,
    today: date,
    region: str | None,
) -> bool:
    """Claim and import the next chunk of ``import_id`` in one transaction; ``False`` when
    there is none left (or the import is not running). The next chunk is handed to the
    helper process to clean while this one is written."""
    claimed = session.execute(
        update(Import)
        .where(
            Import.id == import_id,
            Import.status == "running",
            Import.next_chunk < Import.chunk_count,
        )
        .values(next_chunk=Import.next_chunk + 1)
        .returning(Import.next_chunk)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if claimed is None:
        session.rollback()
        ahead.forget(import_id)
        return False
    number = claimed - 1
    _commit_without_waiting_for_the_disk(session)
    upload = session.get(Import, import_id, populate_existing=True)
    settings = Settings(
        upload.kind,
        tuple(headers_of(upload)),
        tuple(fields_of(upload)),
        today=today,
        region=region,
        source=upload.source,
        value_map=upload.value_map,
    )
    stored = _chunk_rows(session, import_id, number)
    rows = ahead.take(import_id, number, settings, stored)
    if rows is None:
        rows = clean_chunk(settings, stored)
    if number + 1 < upload.chunk_count:
        ahead.start(import_id, number + 1, settings, _chunk_rows(session, import_id, number + 1))
    if upload.kind == "leads":
        with bulk.lead_search_deferred(session.connection(), import_id=import_id):
            outcome = _import_leads(session, upload, rows, region)
    else:
        outcome = _import_companies(session, upload, rows, region)
    refused = [row for row in rows if not row.ok]
    warned = [row for row in outcome.kept if row.warnings]
    reported = [(row, row.reason, False) for row in refused]
    reported += [(row, " ".join(row.warnings), True) for row in warned]
    if reported:
        session.execute(
            insert(ImportRefusal.__table__),
            [
                {
                    "import_id": import_id,
                    "line": row.line,
                    "reason": reason,
                    "cells": json.dumps([_storable(c) for c in row.cells]),
                    "warning": warning,
                }
                for row, reason, warning in reported
            ],
        )
    session.execute(
        delete(ImportChunk).where(ImportChunk.import_id == import_id, ImportChunk.number == number)
    )
    last = number == upload.chunk_count - 1
    session.execute(
        update(Import)
        .where(Import.id == import_id)
        .values(
            rows_done=Import.rows_done + len(rows),
            imported=Import.imported + outcome.imported,
            duplicates=Import.duplicates + outcome.skipped,
            dup_filled=Import.dup_filled + outcome.filled,
            dup_updated=Import.dup_updated + outcome.updated,
            refused=Import.refused + len(refused),
            warned=Import.warned + len(warned),
            updated_at=utcnow(),
            **({"status": "done", "finished_at": utcnow()} if last else {}),
        )
        .execution_options(synchronize_session=False)
    )
    if last:
        session.execute(delete(ImportKey).where(ImportKey.import_id == import_id))
    session.commit()
    session.expire(upload)
    return True


def _commit_without_waiting_for_the_disk(session: Session) -> None:
    """PostgreSQL: this batch's commit returns before its WAL is on disk
    (``synchronous_commit = off`` for this transaction only; SQLite has no such thing).
    Nothing acknowledged can be lost by it: the chunk's claim is in the same transaction
    as its records, so a crash that loses the commit loses the claim too, and the next
    poll imports the chunk again — the progress bar may step back, no row is lost or
    imported twice. The WAL of a thousand leads and their 21 index entries each was
    otherwise written to disk and waited for 50 times an import."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _chunk_rows(session: Session, import_id: int, number: int) -> str | None:
    return session.scalar(
        select(ImportChunk.rows).where(
            ImportChunk.import_id == import_id, ImportChunk.number == number
        )
    )


def _storable(cell: str) -> str:
    """A refused row's cell, kept for the download even when it holds a NUL."""
    return cell if v.storable(cell) else "".join(ch for ch in cell if v.storable(ch))


def _known(session: Session, import_id: int, keys: set[str]) -> dict[str, str | None]:
    """Which of ``keys`` the import knows already, each with its existing record
    (``ImportKey.target``; ``None`` for a key of an earlier row of the file)."""
    if not keys:
        return {}
    found: dict[str, str | None] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), KEY_BATCH):
        among = _among(session, ImportKey.key, ordered[start : start + KEY_BATCH])
        found.update(
            session.execute(
                select(ImportKey.key, ImportKey.target).where(
                    ImportKey.import_id == import_id, among
                )
            ).all()
        )
    return found


def _among(session: Session, column, values: list):
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one parameter
    instead of thousands (a batch's 2,000 keys took the server 24 ms to parse and plan)."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=ARRAY(column.type)))


@dataclass
class Outcome:
    """What a batch did with its rows that were not refused."""

    imported: int = 0
    # Duplicates that changed nothing: skipped, or nothing to fill in or update.
    skipped: int = 0
    filled: int = 0
    updated: int = 0
    # The rows whose values went in (a new record, or one filled in or updated): those
    # with warnings are reported.
    kept: list[Row] = field(default_factory=list)

    def count_changed(self, mode: str, rows: list[Row], unchanged: int) -> None:
        self.kept += rows
        self.skipped += unchanged
        if mode == "fill":
            self.filled += len(rows)
        else:
            self.updated += len(rows)


@dataclass
class _People:
    """A batch's people sorted by their duplicate keys."""

    fresh: list[Row] = field(default_factory=list)
    # Keys to remember as an earlier row's: those of the fresh rows and of the rows below.
    new_keys: list[str] = field(default_factory=list)
    # The first row repeating an existing record, with that record ("lead:12"), when
    # duplicates fill in or update; and its keys that named the record (``held``).
    matches: list[tuple[Row, str]] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    skipped: int = 0


def _sort_people(session: Session, upload: Import, rows: list[Row]) -> _People:
    """The rows whose email and phone no existing record and no earlier row has; the
    others are duplicates: skipped, except the first row repeating an existing record when
    the import fills in or updates (a row repeating an earlier row is always skipped)."""
    keyed = [(row, row.keys) for row in rows if row.ok]
    known = _known(session, upload.id, {key for _, keys in keyed for key in keys})
    upsert = upload.on_duplicate != "skip"
    people = _People()
    taken: set[str] = set()
    for row, keys in keyed:
        hits = [key for key in keys if key in known]
        if not hits:
            known.update(dict.fromkeys(keys))
            people.new_keys.extend(keys)
            people.fresh.append(row)
            continue
        targets = [known[key] for key in hits]
        if not upsert or None in targets or targets[0] in taken:
            people.skipped += 1
            continue
        taken.add(targets[0])
        people.matches.append((row, targets[0]))
        people.held.extend(hits)
        people.new_keys.extend(key for key in keys if key not in known)
        known.update(dict.fromkeys(keys))  # a later row repeating this one is skipped
    return people


def _remember(session: Session, import_id: int, people: _People) -> None:
    """Keep the keys of this batch's rows as an earlier row's, so a later batch skips a
    row that repeats one (the keys of a filled or updated record no longer name it)."""
    if people.new_keys:
        _insert(
            session,
            ImportKey.__table__,
            [{"import_id": import_id, "key": key, "target": None} for key in people.new_keys],
        )
    if people.held:
        key = ImportKey.__table__
        session.execute(
            update(key)
            .where(key.c.import_id == bindparam("_import_id"), key.c.key == bindparam("_key"))
            .values(target=None),
            [{"_import_id": import_id, "_key": held} for held in people.held],
        )


def _insert(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert ``rows`` in the session's transaction (``bulk.insert_rows``)."""
    bulk.insert_rows(session.connection(), table, rows)


# --- Duplicates that fill in or update -----------------------------------------------------

# What a duplicate may fill in or update on the record it repeats (a lead's next-action
# date becomes a follow-up task; a contact's company stays as it is).
# (Not the potential value: the earlier values are kept as JSON text, which has no decimal.)
LEAD_FIELDS = (
    "name",
    "company_name",
    "email",
    "phone",
    "note",
    "temperature",
    "source",
    "contact_name",
    "address",
)
CONTACT_FIELDS = ("name", "title", "email", "phone")
# Fields an update fills in but never replaces.
FILL_ONLY = ("source",)
# Between a lead's note and the note an update adds below it.
NOTE_GAP = "\n\n"


def _empty(value) -> bool:
    return value is None or value == ""


def _same(name: str, old: str, new: str, region: str | None) -> bool:
    """Whether ``new`` says what ``old`` says: an email in another case, a phone number
    written otherwise, are the same."""
    if name == "email":
        return old.casefold() == new.casefold()
    if name == "phone":
        key = v.phone_key(old, region)
        return key is not None and key == v.phone_key(new, region)
    return old == new


def _changes(mode: str, record: dict, values: dict, region: str | None) -> dict[str, list]:
    """What a duplicate row changes on ``record`` (its fields as they are): field →
    [earlier value, new value]. *Fill* sets the empty fields only; *update* every field the
    row has a value for, except the note, which gets the row's note added below it, and
    the source, which is only ever filled in: where a lead first came from stays (the
    forecast counts by it)."""
    changes = {}
    for name, old in record.items():
        new = values.get(name)
        if _empty(new):
            continue
        if not _empty(old):
            if mode == "fill" or name in FILL_ONLY or _same(name, old, new, region):
                continue
            if name == "note":
                if new in old:  # this file's note is there already (imported twice)
                    continue
                new = old + NOTE_GAP + new
        changes[name] = [old, new]
    return changes


def _by_id(matches: list[tuple[Row, str]], record_type: str) -> dict[int, Row]:
    prefix = f"{record_type}:"
    return {int(t.removeprefix(prefix)): row for row, t in matches if t.startswith(prefix)}


def _changed_already(session: Session, import_id: int, record_type: str, ids: list[int]):
    """Which of ``ids`` this import changed in an earlier batch (a row that repeats one by
    its other key): they are not changed twice."""
    query = select(ImportChange.record_id).where(
        ImportChange.import_id == import_id,
        ImportChange.record_type == record_type,
        _among(session, ImportChange.record_id, ids),
    )
    if record_type == "lead":
        query = query.union(
            select(Activity.lead_id)
            .join(ImportChange, ImportChange.record_id == Activity.id)
            .where(
                ImportChange.import_id == import_id,
                ImportChange.record_type == "activity",
                _among(session, Activity.lead_id, ids),
            )
        )
    return set(session.scalars(query))


def _write_changes(
    session: Session,
    upload: Import,
    table: Table,
    record_type: str,
    changed: dict[int, dict[str, list]],
    now,
) -> None:
    """Set each record's new values and record its earlier ones (``ImportChange``)."""
    _write_values(
        session, table, {i: {n: c[1] for n, c in f.items()} for i, f in changed.items()}, now
    )
    if changed:
        session.execute(
            insert(ImportChange.__table__),
            [
                {
                    "import_id": upload.id,
                    "record_type": record_type,
                    "record_id": record_id,
                    "before": json.dumps(fields),
                }
                for record_id, fields in changed.items()
            ],
        )


def _write_values(session: Session, table: Table, values: dict[int, dict], now) -> None:
    """``UPDATE table SET … WHERE id = …`` for each record, one executemany per set of
    fields (with the name's sort key when the name changes)."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for record_id, fields in values.items():
        fields = dict(fields, updated_at=now)
        if "name" in fields:
            fields["name_sort"] = sort_key(fields["name"])
        fields.update(keys_of(table.name, fields))
        params = {f"_{name}": value for name, value in fields.items()}
        groups.setdefault(tuple(sorted(fields)), []).append({"_id": record_id, **params})
    for names, params in groups.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({name: bindparam(f"_{name}") for name in names})
        )
        session.execute(statement, params)


def _matched(session: Session, upload: Import, matches, model, names, *where):
    """The records of ``model`` that the rows of ``matches`` repeat, with ``names`` as they
    are now — except those this import changed in an earlier batch (a row repeating one by
    its other key): (an ``Outcome`` counting the matches of another kind of record as
    skipped, the rows by record id, the records)."""
    record_type = model.__tablename__
    rows = _by_id(matches, record_type)
    outcome = Outcome(skipped=len(matches) - len(rows))
    if not rows:
        return outcome, rows, []
    ids = sorted(rows)
    done = _changed_already(session, upload.id, record_type, ids)
    table = model.__table__
    current = session.execute(
        select(table.c.id, *(table.c[name] for name in names)).where(
            _among(session, table.c.id, ids), *where
        )
    ).all()
    return outcome, rows, [record for record in current if record.id not in done]


def _fill_or_update_leads(
    session: Session, upload: Import, matches: list[tuple[Row, str]], region: str | None, now
) -> Outcome:
    """The open leads the rows of ``matches`` repeat, filled in or updated from them (a
    lead import leaves converted and closed leads, and contacts, as they are)."""
    mode = upload.on_duplicate
    outcome, rows, current = _matched(
        session, upload, matches, Lead, (*LEAD_FIELDS, "next_action_on"), Lead.status == "open"
    )
    changed: dict[int, dict[str, list]] = {}
    tasks, kept = [], []
    for lead in current:
        row = rows[lead.id]
        record = {name: getattr(lead, name) for name in LEAD_FIELDS}
        fields = _changes(mode, record, row.values, region)
        due = row.values.get("next_action_on")
        if due and (
            lead.next_action_on is None or (mode == "update" and due != lead.next_action_on)
        ):
            tasks.append(_follow_up(upload, lead.id, due, now))
        elif not fields:
            continue
        if fields:
            changed[lead.id] = fields
        kept.append(row)
    outcome.count_changed(mode, kept, len(rows) - len(kept))
    _write_changes(session, upload, Lead.__table__, "lead", changed, now)
    if tasks:
        activity = Activity.__table__
        added = session.execute(insert(activity).returning(activity.c.id), tasks).scalars().all()
        session.execute(
            insert(ImportChange.__table__),
            [
                {"import_id": upload.id, "record_type": "activity", "record_id": i, "before": None}
                for i in added
            ],
        )
        session.execute(next_action_update({task["lead_id"] for task in tasks}))
    return outcome


def _follow_up(upload: Import, lead_id: int, due: date, now) -> dict:
    """The follow-up task of a lead's next-action date, as ``_import_leads`` adds it."""
    return {
        "kind": "task",
        "text": NEXT_ACTION_TEXT,
        "due_on": due,
        "done": False,
        "author_id": upload.created_by_id,
        "assignee_id": upload.owner_id,
        "lead_id": lead_id,
        "created_at": now,
        "updated_at": now,
    }


def _fill_or_update_contacts(
    session: Session, upload: Import, matches: list[tuple[Row, str]], region: str | None, now
) -> Outcome:
    """The contacts the rows of ``matches`` repeat, filled in or updated from them (their
    company stays as it is)."""
    mode = upload.on_duplicate
    outcome, rows, current = _matched(session, upload, matches, Contact, CONTACT_FIELDS)
    changed: dict[int, dict[str, list]] = {}
    kept = []
    for contact in current:
        row = rows[contact.id]
        record = {name: getattr(contact, name) for name in CONTACT_FIELDS}
        fields = _changes(mode, record, row.values, region)
        if not fields:
            continue
        if "phone" in fields:  # what contact matching compares (quickcrm/domain/matching.py)
            old, new = fields["phone"]
            fields["phone_key"] = [v.phone_key(old, region), v.phone_key(new, region)]
        changed[contact.id] = fields
        kept.append(row)
    outcome.count_changed(mode, kept, len(rows) - len(kept))
    _write_changes(session, upload, Contact.__table__, "contact", changed, now)
    return outcome


# --- New records -----------------------------------------------------------------------------


def _import_leads(session: Session, upload: Import, rows: list[Row], region: str | None) -> Outcome:
    people = _sort_people(session, upload, rows)
    now = utcnow()
    outcome = _fill_or_update_leads(session, upload, people.matches, region, now)
    outcome.skipped += people.skipped
    _remember(session, upload.id, people)
    fresh = people.fresh
    if not fresh:
        return outcome
    leads = []
    tagged: dict[uuid.UUID, list[str]] = {}
    for row in fresh:
        values = dict(row.values)
        names = values.pop("categories", None)
        values["uuid"] = uuid.uuid4()
        if names:
            tagged[values["uuid"]] = names
        leads.append(
            {
                **values,
                **keys_of("lead", {"name": None, "email": None, "phone": None, **values}),
                "name_sort": sort_key(values["name"]),
                "status": "open",
                "owner_id": upload.owner_id,
                "captured_at": now,
                "created_at": now,
                "updated_at": now,
                "import_id": upload.id,
            }
        )
    _insert(session, Lead.__table__, leads)
    dated = {lead["uuid"]: lead["next_action_on"] for lead in leads if lead["next_action_on"]}
    ids = (
        session.execute(
            select(Lead.uuid, Lead.id).where(_among(session, Lead.uuid, list(dated)))
        ).all()
        if dated
        else []
    )
    actions = [_follow_up(upload, lead_id, dated[key], now) for key, lead_id in ids]
    if actions:
        _insert(session, Activity.__table__, actions)
    if tagged:
        _tag(session, Lead, LeadCategory, "lead_id", tagged)
    outcome.imported += len(fresh)
    outcome.kept += fresh
    return outcome


def _import_companies(
    session: Session, upload: Import, rows: list[Row], region: str | None
) -> Outcome:
    """Each row's company (found by its name key among the companies that exist, or made
    once for the first row that names it) and the person of the row as a contact at it."""
    ok = [row for row in rows if row.ok]
    keys = {company_key(row.values) for row in ok}
    companies = dict(
        session.execute(
            select(Company.name_key, Company.id).where(
                Company.name_key.in_(sorted(keys)), Company.merged_into_id.is_(None)
            )
        ).all()
    )
    now = utcnow()
    new_companies: dict[str, dict] = {}
    for row in ok:
        key = company_key(row.values)
        if key in companies or key in new_companies:
            continue
        values = row.values
        person = bool(values.get("name"))
        new_companies[key] = {
            "name": values["company_name"],
            "name_sort": sort_key(values["company_name"]),
            "name_key": key,
            "type": "prospect",
            "website": values.get("website"),
            "industry": values.get("industry"),
            "address": values.get("address"),
            "email_domain": email_domain(values.get("email")),
            "phone": None if person else values.get("phone"),
            "phone_key": None if person else v.phone_key(values.get("phone"), region),
            "owner_id": upload.owner_id,
            "import_id": upload.id,
            "created_at": now,
            "updated_at": now,
        }
    # The categories of the companies made here (those that exist keep theirs).
    tagged: dict[str, list[str]] = {}
    for row in ok:
        key = company_key(row.values)
        if key in new_companies:
            names = tagged.setdefault(key, [])
            names += [n for n in row.values.get("categories") or () if n not in names]
    if new_companies:
        made = list(new_companies.values())
        session.execute(insert(Company.__table__), made)
        companies |= dict(
            session.execute(
                select(Company.name_key, Company.id).where(
                    Company.import_id == upload.id, Company.name_key.in_(list(new_companies))
                )
            ).all()
        )
    if any(tagged.values()):
        ids = {key: companies[key] for key in tagged if tagged[key]}
        _tag(session, Company, CompanyCategory, "company_id", tagged, ids)
    people = _sort_people(session, upload, [row for row in ok if row.values.get("name")])
    outcome = _fill_or_update_contacts(session, upload, people.matches, region, now)
    outcome.skipped += people.skipped
    contacts = [
        {
            "company_id": companies[company_key(row.values)],
            "name": row.values["name"],
            "name_sort": sort_key(row.values["name"]),
            "name_key": person_key(row.values["name"]),
            "title": row.values.get("title"),
            "email": row.values.get("email"),
            "phone": row.values.get("phone"),
            "phone_key": v.phone_key(row.values.get("phone"), region),
            "owner_id": upload.owner_id,
            "import_id": upload.id,
            "created_at": now,
            "updated_at": now,
        }
        for row in people.fresh
    ]
    if contacts:
        session.execute(insert(Contact.__table__), contacts)
    _remember(session, upload.id, people)
    # A row without a person whose company existed already adds nothing: a duplicate.
    made_by = {company["name_key"] for company in new_companies.values()}
    counted: set[str] = set()
    for row in ok:
        key = company_key(row.values)
        if row.values.get("name"):
            continue
        if key in made_by and key not in counted:
            counted.add(key)
            outcome.kept.append(row)
        else:
            outcome.skipped += 1
    outcome.kept += people.fresh
    outcome.imported = len(people.fresh) + len(counted)
    return outcome


def _tag(session: Session, model, link, column: str, tagged: dict, ids: dict | None = None):
    """The new records' categories, by name (``tagged``: a lead's uuid, or a company's name
    key in ``ids``, → names). A name not in Admin → Categories is added to it: an import is
    an admin's (docs/import.md, "Categories")."""
    if ids is None:
        ids = dict(
            session.execute(
                select(model.uuid, model.id).where(_among(session, model.uuid, list(tagged)))
            ).all()
        )
    wanted = list(dict.fromkeys(name for names in tagged.values() for name in names))
    known = {c.name.lower(): c.id for c in categories.by_names(session, wanted, create=True)}
    rows = [
        {column: ids[key], "category_id": known[name.lower()]}
        for key, names in tagged.items()
        if key in ids
        for name in dict.fromkeys(names)
        if name.lower() in known
    ]
    unique = list({(row[column], row["category_id"]): row for row in rows}.values())
    if unique:
        session.execute(insert(link.__table__), unique)


# --- Report and undo ---------------------------------------------------------------------


def refusals_csv(session: Session, upload: Import, warnings: bool = False) -> Iterator[str]:
    """The refused rows as CSV — their line, the reason, then their cells — or (``warnings``)
    the rows imported with a warning, with it; a UTF-8 byte order mark (so Excel reads it as
    UTF-8) and formulas neutralised, in the header row too."""
    out = io.StringIO()
    writer = csv.writer(out)

    def take() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    said = "Warning" if warnings else "Reason"
    writer.writerow(["Line", said, *map(spreadsheet_safe, headers_of(upload))])
    yield "\ufeff" + take()
    query = (
        select(ImportRefusal.line, ImportRefusal.reason, ImportRefusal.cells)
        .where(ImportRefusal.import_id == upload.id, ImportRefusal.warning.is_(warnings))
        .order_by(ImportRefusal.line)
        .execution_options(yield_per=1000)
    )
    for count, (line, reason, cells) in enumerate(session.execute(query), start=1):
        writer.writerow([line, spreadsheet_safe(reason), *map(spreadsheet_safe, json.loads(cells))])
        if count % 200 == 0:
            yield take()
    yield take()


@owns_transaction("the claim: one conditional UPDATE, so an import is undone once")
def undo(session: Session, upload: Import) -> int:
    """Undo a finished import: put back the fields it filled in or updated on records that
    existed (``_put_back``), delete the follow-up tasks it added to them, and remove what it
    created: its leads that were not converted since (and their activities), or its
    contacts and the companies nothing else refers to now. Claimed from "done" to "undone"
    by a conditional UPDATE; returns how many records were removed."""
    claimed = session.execute(
        update(Import)
        .where(Import.id == upload.id, Import.status == "done")
        .values(status="undone", undone_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.rollback()
        raise v.Conflict("Only a finished import can be undone, once.")
    _put_back(session, upload.id)
    if upload.kind == "leads":
        removed = _undo_leads(session, upload.id)
    else:
        removed = _undo_companies(session, upload.id)
    session.execute(update(Import).where(Import.id == upload.id).values(removed=removed))
    session.commit()
    session.refresh(upload)
    return removed


def _put_back(session: Session, import_id: int) -> None:
    """Each record the import changed gets its earlier values back — a field only while it
    still holds what the import wrote: one edited since is left as the user made it — and
    the follow-up tasks it added are deleted (unless done since: a record of work)."""
    changes = session.execute(
        select(ImportChange.record_type, ImportChange.record_id, ImportChange.before).where(
            ImportChange.import_id == import_id
        )
    ).all()
    now = utcnow()
    for record_type, model, fields in (
        ("lead", Lead, LEAD_FIELDS),
        ("contact", Contact, (*CONTACT_FIELDS, "phone_key")),
    ):
        recorded = {i: json.loads(before) for kind, i, before in changes if kind == record_type}
        if not recorded:
            continue
        columns = [model.__table__.c[name] for name in fields]
        current = session.execute(
            select(model.id, *columns).where(_among(session, model.id, sorted(recorded)))
        )
        earlier = {}
        for record in current:
            back = {
                name: old
                for name, (old, new) in recorded[record.id].items()
                if getattr(record, name) == new
            }
            if back:
                earlier[record.id] = back
        _write_values(session, model.__table__, earlier, now)
    tasks = sorted(i for kind, i, _ in changes if kind == "activity")
    if tasks:
        mine = _among(session, Activity.id, tasks)
        leads = set(session.scalars(select(Activity.lead_id).where(mine, Activity.done.is_(False))))
        session.execute(delete(Activity).where(mine, Activity.done.is_(False)))
        session.execute(next_action_update(leads - {None}))


def _undo_leads(session: Session, import_id: int) -> int:
    mine = select(Lead.id).where(Lead.import_id == import_id, Lead.status != "converted")
    session.execute(delete(Activity).where(Activity.lead_id.in_(mine)))
    return session.execute(
        delete(Lead).where(Lead.import_id == import_id, Lead.status != "converted")
    ).rowcount


def _undo_companies(session: Session, import_id: int) -> int:
    contact_used = (
        exists().where(Activity.contact_id == Contact.id)
        | exists().where(Opportunity.contact_id == Contact.id)
        | exists().where(Lead.contact_id == Contact.id)
    )
    removed = session.execute(
        delete(Contact).where(Contact.import_id == import_id, ~contact_used)
    ).rowcount
    other = Company.__table__.alias("other")
    company_used = (
        exists().where(Contact.company_id == Company.id)
        | exists().where(Opportunity.company_id == Company.id)
        | exists().where(Activity.company_id == Company.id)
        | exists().where(Lead.company_id == Company.id)
        | exists().where(other.c.merged_into_id == Company.id)
    )
    removed += session.execute(
        delete(Company).where(Company.import_id == import_id, ~company_used)
    ).rowcount
    return removed


def counts(session: Session, upload: Import) -> dict[str, int]:
    """What is left of an import's records now, and how many records it changed that undoing
    puts back (``changed``: leads or contacts; ``tasks``: follow-up tasks it added), for the
    undo confirmation."""
    changed = select(func.count()).where(ImportChange.import_id == upload.id)
    left = {
        "changed": session.scalar(changed.where(ImportChange.record_type != "activity")) or 0,
        "tasks": session.scalar(changed.where(ImportChange.record_type == "activity")) or 0,
    }
    if upload.kind == "leads":
        query = select(func.count()).where(Lead.import_id == upload.id, Lead.status != "converted")
        return left | {"leads": session.scalar(query) or 0}
    return left | {
        "companies": session.scalar(select(func.count()).where(Company.import_id == upload.id))
        or 0,
        "contacts": session.scalar(select(func.count()).where(Contact.import_id == upload.id)) or 0,
    }
