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
    update,
)
from sqlalchemy.orm import Session

from quickcrm.domain import bulk
from quickcrm.domain import validation as v
from quickcrm.domain.imports import ahead
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
from quickcrm.domain.leads import NEXT_ACTION_TEXT
from quickcrm.domain.matching import email_domain
from quickcrm.domain.sorting import sort_key
from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import (
    IMPORT_ON_DUPLICATE,
    Activity,
    Company,
    Contact,
    Import,
    ImportChunk,
    ImportKey,
    ImportRefusal,
    Lead,
    Opportunity,
    User,
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
    Raises ``validation.Refused`` — and stores nothing — for a file that is not usable CSV."""
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
    _collect_existing_keys(session, upload, region)
    session.commit()
    session.refresh(upload)
    return upload


def _collect_existing_keys(session: Session, upload: Import, region: str | None) -> None:
    """The email and phone keys of every existing lead and contact (contacts only for a
    company import): what a row must not repeat."""
    sources = [select(Contact.email, Contact.phone)]
    if upload.kind == "leads":
        sources.insert(0, select(Lead.email, Lead.phone))
    seen: set[str] = set()
    pending: list[dict] = []
    for query in sources:
        for email, phone in session.execute(query.execution_options(yield_per=KEY_BATCH)):
            for key in duplicate_keys({"email": email, "phone": phone}, region):
                if key not in seen:
                    seen.add(key)
                    pending.append({"import_id": upload.id, "key": key})
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
            imported, duplicates = _import_leads(session, upload, rows, region)
    else:
        imported, duplicates = _import_companies(session, upload, rows, region)
    refused = [row for row in rows if not row.ok]
    if refused:
        session.execute(
            insert(ImportRefusal.__table__),
            [
                {
                    "import_id": import_id,
                    "line": row.line,
                    "reason": row.reason,
                    "cells": json.dumps([_storable(c) for c in row.cells]),
                }
                for row in refused
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
            imported=Import.imported + imported,
            duplicates=Import.duplicates + duplicates,
            refused=Import.refused + len(refused),
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


def _chunk_rows(session: Session, import_id: int, number: int) -> str | None:
    return session.scalar(
        select(ImportChunk.rows).where(
            ImportChunk.import_id == import_id, ImportChunk.number == number
        )
    )


def _storable(cell: str) -> str:
    """A refused row's cell, kept for the download even when it holds a NUL."""
    return cell if v.storable(cell) else "".join(ch for ch in cell if v.storable(ch))


def _known(session: Session, import_id: int, keys: set[str]) -> set[str]:
    if not keys:
        return set()
    found: set[str] = set()
    ordered = sorted(keys)
    for start in range(0, len(ordered), KEY_BATCH):
        among = _among(session, ImportKey.key, ordered[start : start + KEY_BATCH])
        found.update(
            session.scalars(select(ImportKey.key).where(ImportKey.import_id == import_id, among))
        )
    return found


def _among(session: Session, column, values: list):
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one parameter
    instead of thousands (a batch's 2,000 keys took the server 24 ms to parse and plan)."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=ARRAY(column.type)))


def _new_people(session: Session, upload: Import, rows: list[Row]):
    """The rows whose email and phone no existing record and no earlier row has, and
    their keys; the others are duplicates."""
    keyed = [(row, row.keys) for row in rows if row.ok]
    seen = _known(session, upload.id, {key for _, keys in keyed for key in keys})
    fresh, new_keys, duplicates = [], [], 0
    for row, keys in keyed:
        if any(key in seen for key in keys):
            duplicates += 1
            continue
        seen.update(keys)
        new_keys.extend(keys)
        fresh.append(row)
    return fresh, new_keys, duplicates


def _remember(session: Session, import_id: int, keys: list[str]) -> None:
    if keys:
        _insert(session, ImportKey.__table__, [{"import_id": import_id, "key": k} for k in keys])


def _insert(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert ``rows`` in the session's transaction (``bulk.insert_rows``)."""
    bulk.insert_rows(session.connection(), table, rows)


def _import_leads(
    session: Session, upload: Import, rows: list[Row], region: str | None
) -> tuple[int, int]:
    fresh, new_keys, duplicates = _new_people(session, upload, rows)
    if not fresh:
        return 0, duplicates
    now = utcnow()
    leads = []
    for row in fresh:
        values = dict(row.values)
        leads.append(
            {
                **values,
                "name_sort": sort_key(values["name"]),
                "uuid": uuid.uuid4(),
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
    actions = [
        {
            "kind": "task",
            "text": NEXT_ACTION_TEXT,
            "due_on": dated[key],
            "done": False,
            "author_id": upload.created_by_id,
            "assignee_id": upload.owner_id,
            "lead_id": lead_id,
            "created_at": now,
            "updated_at": now,
        }
        for key, lead_id in ids
    ]
    if actions:
        _insert(session, Activity.__table__, actions)
    _remember(session, upload.id, new_keys)
    return len(fresh), duplicates


def _import_companies(
    session: Session, upload: Import, rows: list[Row], region: str | None
) -> tuple[int, int]:
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
    people = [row for row in ok if row.values.get("name")]
    fresh, new_keys, duplicates = _new_people(session, upload, people)
    contacts = [
        {
            "company_id": companies[company_key(row.values)],
            "name": row.values["name"],
            "name_sort": sort_key(row.values["name"]),
            "title": row.values.get("title"),
            "email": row.values.get("email"),
            "phone": row.values.get("phone"),
            "phone_key": v.phone_key(row.values.get("phone"), region),
            "owner_id": upload.owner_id,
            "import_id": upload.id,
            "created_at": now,
            "updated_at": now,
        }
        for row in fresh
    ]
    if contacts:
        session.execute(insert(Contact.__table__), contacts)
    _remember(session, upload.id, new_keys)
    # A row without a person whose company existed already adds nothing: a duplicate.
    made_by = {company["name_key"] for company in new_companies.values()}
    bare = [row for row in ok if not row.values.get("name")]
    counted: set[str] = set()
    bare_new = 0
    for row in bare:
        key = company_key(row.values)
        if key in made_by and key not in counted:
            counted.add(key)
            bare_new += 1
    imported = len(fresh) + bare_new
    return imported, len(ok) - imported


# --- Report and undo ---------------------------------------------------------------------


def refusals_csv(session: Session, upload: Import) -> Iterator[str]:
    """The refused rows as CSV — their line, the reason, then their cells — with a UTF-8
    byte order mark (so Excel reads it as UTF-8) and formulas neutralised, in the header row
    too."""
    out = io.StringIO()
    writer = csv.writer(out)

    def take() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(["Line", "Reason", *map(spreadsheet_safe, headers_of(upload))])
    yield "\ufeff" + take()
    query = (
        select(ImportRefusal.line, ImportRefusal.reason, ImportRefusal.cells)
        .where(ImportRefusal.import_id == upload.id)
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
    """Remove what a finished import created: its leads that were not converted since (and
    their activities), or its contacts and the companies nothing else refers to now.
    Claimed from "done" to "undone" by a conditional UPDATE; returns how many records
    were removed."""
    claimed = session.execute(
        update(Import)
        .where(Import.id == upload.id, Import.status == "done")
        .values(status="undone", undone_at=utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.rollback()
        raise v.Conflict("Only a finished import can be undone, once.")
    if upload.kind == "leads":
        removed = _undo_leads(session, upload.id)
    else:
        removed = _undo_companies(session, upload.id)
    session.execute(update(Import).where(Import.id == upload.id).values(removed=removed))
    session.commit()
    session.refresh(upload)
    return removed


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
    """What is left of an import's records now (for the undo confirmation)."""
    if upload.kind == "leads":
        query = select(func.count()).where(Lead.import_id == upload.id, Lead.status != "converted")
        return {"leads": session.scalar(query) or 0}
    return {
        "companies": session.scalar(select(func.count()).where(Company.import_id == upload.id))
        or 0,
        "contacts": session.scalar(select(func.count()).where(Contact.import_id == upload.id)) or 0,
    }
