"""Backups: a consistent copy of the whole database taken while the app runs, and
restoring one into an empty database.

Two formats; ``restore`` reads either (it looks at the file's first bytes), into SQLite or
PostgreSQL alike:

- **SQLite file** — what ``flask backup`` writes on SQLite: SQLite's online backup API
  copies the database as it is at one moment, while the app keeps writing.
- **JSON** — what ``flask backup`` writes on PostgreSQL (``--json`` on SQLite) and what
  Admin → *Download backup* sends on both::

      {"format": "quickcrm-backup", "version": 1, "revision": "<alembic revision>",
       "database": "postgresql", "created_at": "...",
       "tables": [{"name": "user", "columns": ["id", ...], "rows": [[1, ...], ...]}, ...]}

  every table of the models in foreign-key order, each row an array in ``columns`` order;
  datetimes are ISO 8601 with their UTC offset, dates and times of day ISO, decimals and
  UUIDs strings, bytes base64 — nothing is lost. PostgreSQL is read in one
  ``REPEATABLE READ``, read-only transaction; SQLite from an online-backup copy, so every
  table is of the same moment.

The lead search index (revision ``0005_lead_search``) is not copied into JSON: it is
derived from the leads, and the target database rebuilds it as the leads are inserted.

``restore`` loads a backup in one transaction, tables in foreign-key order, then sets
PostgreSQL's sequences past the restored ids. It refuses (``validation.Refused``, nothing
written):

- a database that is not at the backup's migration revision (restore into a database
  migrated to the backup's revision, then ``flask db upgrade``);
- a database that is not empty: any row in any table, except the rows the migrations
  seed (``SEEDED``: the default stages and lost reasons, as ``db upgrade`` leaves them),
  which the backup's own stages and lost reasons replace;
- a file that is not a QuickCRM backup, or one that is damaged.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

import ijson
from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    Table,
    TypeDecorator,
    bindparam,
    create_engine,
    delete,
    func,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from quickcrm.domain import bulk
from quickcrm.domain import validation as v
from quickcrm.domain.stages import DEFAULT_LOST_REASONS, DEFAULT_STAGES
from quickcrm.domain.transactions import owns_transaction
from quickcrm.models import Base, utcnow

FORMAT = "quickcrm-backup"
VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
BATCH = 1000
# Tables holding files (card photos and voice notes, up to 10 MB each) are read this many
# rows at a time, and a restore sends its rows once they hold this many bytes: a backup of
# any size is written and restored in a bounded amount of memory.
FILE_BATCH = 4
BATCH_BYTES = 8 * 1024 * 1024

# What a backup holds: the business data and the accounts — not what the app keeps to run.
# Left out: throttling counters (``rate_limit``: their keys are what someone typed), the
# web-to-lead API's stored answers for Idempotency-Key retries (``api_request``: each lead
# it made is in ``lead``), and files uploaded for an import nobody started (``import`` in
# "mapping" with its chunks, keys and refusals). An import that is running keeps its rows,
# so a restored one can finish. A left-out table is still listed, with no rows, so a restore
# knows the backup is whole. (``offline_action`` stays: it is what keeps a phone's queued
# Done or Snooze from being applied twice when it is sent again after a restore.)
# One-time password links (``password_token``) are left out too: a restore never revives a
# link that was sent, used or expired.
# The scheduler's rows (``scheduled_job``: leases, next runs) are the running servers' own:
# left out, and a restore into a database the servers already check keeps theirs.
LEFT_OUT = frozenset(("rate_limit", "api_request", "password_token", "scheduled_job"))
SERVERS_OWN = frozenset(("scheduled_job",))
UNSTARTED_IMPORT = "mapping"


def kept_rows(table: Table):
    """The SELECT of the rows of ``table`` that a backup keeps, in primary-key order."""
    statement = select(table).order_by(*table.primary_key.columns)
    if table.name in LEFT_OUT:
        return statement.where(literal(False))
    imports = Base.metadata.tables["import"]
    if table is imports:
        return statement.where(imports.c.status != UNSTARTED_IMPORT)
    if "import_id" in table.c and table.name.startswith("import_"):
        started = select(imports.c.id).where(imports.c.status != UNSTARTED_IMPORT)
        return statement.where(table.c.import_id.in_(started))
    return statement


def _leave_out(conn: Connection) -> None:
    """Remove from a copied database what ``kept_rows`` leaves out."""
    imports = Base.metadata.tables["import"]
    for name in LEFT_OUT:
        conn.execute(delete(Base.metadata.tables[name]))
    # The chunks, keys and refusals go with their import (ON DELETE CASCADE; and by hand,
    # as a plain SQLite connection may not enforce foreign keys).
    unstarted = select(imports.c.id).where(imports.c.status == UNSTARTED_IMPORT)
    for name in ("import_chunk", "import_key", "import_refusal"):
        table = Base.metadata.tables[name]
        conn.execute(delete(table).where(table.c.import_id.in_(unstarted)))
    conn.execute(delete(imports).where(imports.c.status == UNSTARTED_IMPORT))


# The tables the migrations fill (0001 the stages, 0003 the lost reasons): a freshly
# migrated database holds these rows, and restore replaces them with the backup's.
SEEDED: dict[str, tuple[tuple[str, ...], frozenset[tuple]]] = {
    "stage": (
        ("name", "position", "probability", "outcome"),
        frozenset(
            (name, position, probability, outcome)
            for position, (name, probability, outcome) in enumerate(DEFAULT_STAGES, 1)
        ),
    ),
    "lost_reason": (
        ("name", "position"),
        frozenset((name, position) for position, name in enumerate(DEFAULT_LOST_REASONS, 1)),
    ),
}


def tables() -> list[Table]:
    """Every table of the models, each after the tables it refers to."""
    return list(Base.metadata.sorted_tables)


# --- writing -------------------------------------------------------------------------------


def write_backup(engine: Engine, path: str | Path, *, as_json: bool = False) -> str:
    """Write a backup of the database behind ``engine`` to ``path``: a SQLite file on
    SQLite (JSON with ``as_json``), JSON on PostgreSQL. Written beside ``path`` first and
    then renamed, so ``path`` is never half a backup. Returns the format written."""
    target = Path(path)
    if not target.parent.is_dir():
        raise v.Refused(f"There is no folder {target.parent} to write the backup into.")
    partial = target.with_name(f".{target.name}.partial")
    kind = "json" if as_json or engine.dialect.name != "sqlite" else "sqlite"
    try:
        partial.unlink(missing_ok=True)
        # For this user only, as the database is: it holds password and token hashes.
        os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        if kind == "sqlite":
            sqlite_copy(engine, partial)
            _prune_copy(partial)
        else:
            with partial.open("wb") as out:
                for chunk in json_backup(engine):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise v.Refused(f"Could not write {target}: {exc.strerror or exc}.") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return kind


@owns_transaction("it writes the backup file, a database of its own")
def sqlite_copy(engine: Engine, path: str | Path) -> None:
    """Copy the SQLite database behind ``engine`` into a new file ``path`` with SQLite's
    online backup API (one consistent moment, while others write), as one self-contained
    file (rollback journal, not WAL)."""
    raw = engine.raw_connection()
    try:
        target = sqlite3.connect(str(path))
        try:
            raw.driver_connection.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
            target.commit()
        finally:
            target.close()
    finally:
        raw.close()


def _prune_copy(path: Path) -> None:
    """Leave out of a SQLite copy what a backup does not hold, and VACUUM it so nothing of
    those rows stays in the file's free pages."""
    copy = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with copy.begin() as conn:
            _leave_out(conn)
        with copy.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM")
    finally:
        copy.dispose()


def json_backup(engine: Engine, batch: int = BATCH) -> Iterator[bytes]:
    """The JSON backup of the database behind ``engine``, as UTF-8 chunks, read in one
    consistent snapshot and ``batch`` rows at a time."""
    if engine.dialect.name == "sqlite":
        with _sqlite_snapshot(engine) as snapshot, snapshot.connect() as conn:
            yield from _json_chunks(conn, "sqlite", batch)
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield from _json_chunks(conn, engine.dialect.name, batch)


@contextmanager
def _sqlite_snapshot(engine: Engine) -> Iterator[Engine]:
    """An engine on an online-backup copy of the SQLite database, made next to it (not in a
    memory-backed /tmp) and removed afterwards."""
    folder = Path(engine.url.database or ".").resolve().parent
    fd, name = tempfile.mkstemp(prefix=".quickcrm-snapshot-", suffix=".sqlite3", dir=folder)
    os.close(fd)
    try:
        sqlite_copy(engine, name)
        snapshot = _read_only_engine(Path(name))
        try:
            yield snapshot
        finally:
            snapshot.dispose()
    finally:
        Path(name).unlink(missing_ok=True)


def _read_only_engine(path: Path) -> Engine:
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=NullPool
    )


def _json_chunks(conn: Connection, database: str, batch: int) -> Iterator[bytes]:
    head = {
        "format": FORMAT,
        "version": VERSION,
        "revision": _revision(conn),
        "database": database,
        "created_at": utcnow().isoformat(),
    }
    yield (json.dumps(head)[:-1] + ', "tables": [\n').encode()
    for index, table in enumerate(tables()):
        about = {"name": table.name, "columns": [column.name for column in table.columns]}
        yield (("," if index else "") + json.dumps(about)[:-1] + ', "rows": [\n').encode()
        statement = kept_rows(table)
        result = conn.execute(statement.execution_options(yield_per=_batch(table, batch)))
        separator = ""
        for rows in result.partitions():
            lines = ",\n".join(
                json.dumps([encode(value) for value in row], ensure_ascii=False) for row in rows
            )
            yield (separator + lines).encode("utf-8")
            separator = ",\n"
        yield b"\n]}\n"
    yield b"]}\n"


def _batch(table: Table, rows: int = BATCH) -> int:
    """How many rows of ``table`` to read at a time: fewer where a row may hold a file."""
    holds_files = any(isinstance(column.type, LargeBinary) for column in table.columns)
    return min(rows, FILE_BATCH) if holds_files else rows


def encode(value: object) -> object:
    """A column's value as JSON can hold it without loss."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _revision(conn: Connection) -> str | None:
    """The database's Alembic revision(s), or ``None`` when it was never migrated."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    heads = sorted(conn.scalars(text("SELECT version_num FROM alembic_version")))
    return ",".join(heads) or None


# --- reading a backup ----------------------------------------------------------------------


@dataclass
class Source:
    """An opened backup: its revision, and per table its columns and rows (``None`` for a
    table it does not have)."""

    revision: str | None
    columns: Callable[[str], list[str] | None]
    rows: Callable[[str], Iterator[tuple]]


@contextmanager
def open_backup(path: str | Path) -> Iterator[Source]:
    """The backup at ``path``, a SQLite file or JSON (told apart by the first bytes)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise v.Refused(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if head.startswith(SQLITE_MAGIC):
        with _sqlite_source(path) as source:
            yield source
    elif head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        yield _json_source(path)
    else:
        raise v.Refused(f"{path} is not a QuickCRM backup: neither a SQLite file nor JSON.")


def _json_source(path: Path) -> Source:
    """A JSON backup, read as a stream (ijson's C parser), never whole: a first pass takes
    the header and each table's name and columns, skipping the rows; ``rows(name)`` then
    reads that table's rows as the restore asks for them — in the file's order, which is
    the restore's, so the file is read twice in all. A 38 MB backup of 100,000 leads took
    150 MB more memory with ``json.load`` (docs/speed.md, "Exports and backups")."""
    head, found, damaged = _json_outline(path)
    if head.get("format") != FORMAT:
        raise v.Refused(f"{path} is JSON but not a QuickCRM backup.")
    if head.get("version") != VERSION:
        raise v.Refused(
            f"{path} is a QuickCRM backup of format version {head.get('version')!r}; "
            f"this version of QuickCRM reads version {VERSION}."
        )
    if damaged:
        raise v.Refused(f"{path} is damaged: a table is not as a QuickCRM backup has it.")
    reader = _JsonRows(path, [entry["name"] for entry in found.values()])

    def columns(name: str) -> list[str] | None:
        return list(found[name]["columns"]) if name in found else None

    def rows(name: str) -> Iterator[tuple]:
        names = found[name]["columns"]
        table, width = Base.metadata.tables[name], len(names)
        decoders = [_decoder(table.c[column]) for column in names]
        for number, row in enumerate(reader.rows(name), 1):
            if not isinstance(row, list) or len(row) != width:
                raise v.Refused(
                    f"{path} is damaged: row {number} of {name} has not {width} values."
                )
            try:
                yield tuple(decode(value) for decode, value in zip(decoders, row, strict=True))
            except (ValueError, TypeError, InvalidOperation, binascii.Error) as exc:
                raise v.Refused(f"{path} is damaged: row {number} of {name}: {exc}.") from None

    return Source(head.get("revision"), columns, rows)


SCALARS = frozenset(("null", "boolean", "integer", "double", "number", "string"))


def _json_events(path: Path) -> Iterator[tuple[str, str, object]]:
    """The JSON file's parse events (ijson), past a UTF-8 byte order mark; a file that is
    not JSON raises ``validation.Refused``."""
    try:
        with path.open("rb") as fh:
            if fh.read(3) != b"\xef\xbb\xbf":
                fh.seek(0)
            yield from ijson.parse(fh, use_float=True)
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise v.Refused(f"{path} is not a QuickCRM backup: it is not valid JSON ({exc}).") from None


def _json_outline(path: Path) -> tuple[dict, dict[str, dict], bool]:
    """The backup's header values, its tables (name → name and columns) in the file's
    order, and whether a table is not as a backup has it (no name, columns that are not
    names, no list of rows, its name after its rows)."""
    head: dict = {}
    found: dict[str, dict] = {}
    damaged = False
    entry: dict | None = None
    listed = False  # whether "tables" is a list
    events = _json_events(path)
    first = next(events, None)
    if first is None or first[1] != "start_map":
        for _ in events:  # the rest must parse too: invalid JSON says so first
            pass
        raise v.Refused(f"{path} is JSON but not a QuickCRM backup.")
    for prefix, event, value in events:
        if event in SCALARS and "." not in prefix:
            head[prefix] = value
        elif prefix == "tables":
            listed = listed or event == "start_array"
            damaged |= event in SCALARS | {"start_map"}
        elif prefix == "tables.item":
            if event == "start_map":
                entry = {"columns": []}
            elif event == "end_map" and entry is not None:
                whole = isinstance(entry.get("name"), str) and entry.get("rows") is True
                damaged |= not whole or entry.get("bad", False) or entry.get("name") in found
                if whole:
                    found[entry["name"]] = entry
                entry = None
            elif event in SCALARS or event == "start_array":
                damaged = True
        elif entry is not None and prefix == "tables.item.name":
            entry["name"] = value if event == "string" else None
        elif entry is not None and prefix == "tables.item.columns":
            entry["bad"] = entry.get("bad", False) or event in SCALARS | {"start_map"}
        elif entry is not None and prefix == "tables.item.columns.item":
            if event == "string":
                entry["columns"].append(value)
            else:
                entry["bad"] = True
        elif entry is not None and prefix == "tables.item.rows":
            if event == "start_array":
                entry["rows"] = "name" in entry
            elif event in SCALARS or event == "start_map":
                entry["bad"] = True
    return head, found, damaged or not listed


class _JsonRows:
    """The rows of a JSON backup's tables, read forwards: asked for the tables in the file's
    order, one pass serves them all; asked for one it has passed, it starts again."""

    def __init__(self, path: Path, names: list[str]):
        self.path = path
        self.index = {name: number for number, name in enumerate(names)}
        self.stream: Iterator[tuple[int, object]] | None = None
        self.ahead: tuple[int, object] | None = None  # the next table's first row, read
        self.at = -1  # the index of the table being read

    def rows(self, name: str) -> Iterator[object]:
        wanted = self.index[name]
        # Passed already: a table before the one being read, or that one itself once its
        # rows were read past (unless its first row is the one read ahead).
        passed = wanted < self.at or (wanted == self.at and self.ahead is None)
        if self.stream is None or passed:
            self.stream, self.ahead, self.at = _json_rows(self.path), None, -1
        while True:
            item = self.ahead or next(self.stream, None)
            self.ahead = None
            if item is None:
                return
            table, row = item
            self.at = table
            if table > wanted:
                self.ahead = item
                return
            if table == wanted:
                yield row


def _json_rows(path: Path) -> Iterator[tuple[int, object]]:
    """Every row of the file as (the number of its table in the file, the row): a list of
    its values, or what stands in its place (a row that is not a flat list is damaged)."""
    table = -1
    row: list | None = None
    nested = 0
    for prefix, event, value in _json_events(path):
        if prefix == "tables.item" and event == "start_map":
            table += 1
        elif prefix == "tables.item.rows.item":
            if event == "start_array" and row is None:
                row, nested = [], 0
            elif event == "end_array" and row is not None:
                yield table, (row if not nested else None)
                row = None
            elif event in SCALARS:
                yield table, value
            elif event == "start_map":
                yield table, None
        elif row is not None and prefix == "tables.item.rows.item.item":
            if event in SCALARS:
                row.append(value)
            elif event in ("start_map", "start_array"):
                nested += 1


def _decoder(column) -> Callable[[object], object]:
    """How a JSON value becomes the Python value of ``column`` (a wrong type is refused)."""
    column_type = column.type
    while isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    try:
        kind = column_type.python_type
    except NotImplementedError:
        return lambda value: value
    parse: Callable[[object], object]
    if kind is datetime:
        parse = datetime.fromisoformat
    elif kind is date:
        parse = date.fromisoformat
    elif kind is time:
        parse = time.fromisoformat
    elif kind is Decimal:
        parse = Decimal
    elif kind is uuid.UUID:
        parse = uuid.UUID
    elif kind is bytes:
        parse = base64.b64decode
    else:
        accepted = {int: (int,), float: (int, float), bool: (bool,), str: (str,)}.get(kind)
        if accepted is None:
            return lambda value: value

        def parse(value: object) -> object:
            if not isinstance(value, accepted) or (kind is not bool and isinstance(value, bool)):
                raise TypeError(f"{value!r} is not a {kind.__name__} for {column.name}")
            return value

        return lambda value: None if value is None else parse(value)

    def convert(value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not text for {column.name}")
        return parse(value)

    return convert


@contextmanager
def _sqlite_source(path: Path) -> Iterator[Source]:
    engine = _read_only_engine(path)
    try:
        with engine.connect() as conn:
            try:
                revision = _revision(conn)
                present = {
                    name: [column["name"] for column in inspect(conn).get_columns(name)]
                    for name in inspect(conn).get_table_names()
                }
            except DBAPIError as exc:
                raise v.Refused(f"{path} is a damaged SQLite file: {exc.orig}.") from None
            if revision is None:
                raise v.Refused(f"{path} is a SQLite file but not a QuickCRM database.")

            def columns(name: str) -> list[str] | None:
                return present.get(name)

            def rows(name: str) -> Iterator[tuple]:
                table = Base.metadata.tables[name]
                try:
                    result = conn.execute(
                        select(*(table.c[column] for column in present[name])).order_by(
                            *table.primary_key.columns
                        ),
                        execution_options={"yield_per": _batch(table)},
                    )
                    for partition in result.partitions():
                        yield from (tuple(row) for row in partition)
                except (DBAPIError, ValueError) as exc:
                    raise v.Refused(f"{path} is damaged: table {name}: {exc}.") from None

            yield Source(revision, columns, rows)
    finally:
        engine.dispose()


# --- restoring -----------------------------------------------------------------------------


@owns_transaction("a restore is one transaction on a connection of its own")
def restore(engine: Engine, path: str | Path) -> dict[str, int]:
    """Load the backup at ``path`` into the empty database behind ``engine`` in one
    transaction; returns how many rows each table received. Raises ``validation.Refused``
    (nothing written) for a database that is not empty or a file that is no backup."""
    with open_backup(path) as source:
        try:
            with engine.begin() as conn:
                _check_target(conn, source)
                with bulk.lead_search_deferred(conn):
                    counts = {table.name: _load(conn, table, source) for table in tables()}
                if conn.dialect.name == "postgresql":
                    _reset_sequences(conn)
        except v.Refused:
            raise
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise v.Refused(
                f"The backup could not be loaded, nothing was restored: {reason}"
            ) from None
    return counts


def _check_target(conn: Connection, source: Source) -> None:
    current = _revision(conn)
    if current is None:
        raise v.Refused(
            "This database has no QuickCRM tables yet: run `flask --app wsgi db upgrade` first."
        )
    if source.revision != current:
        raise v.Refused(
            f"The backup was made at database revision {source.revision}, this database is at "
            f"{current}. Restore into a database migrated to the backup's revision "
            f"(`flask --app wsgi db upgrade {source.revision}`), then run "
            "`flask --app wsgi db upgrade`."
        )
    for table in tables():
        theirs = source.columns(table.name)
        if theirs is None:
            raise v.Refused(f"The backup has no table {table.name}: it is incomplete.")
        if sorted(theirs) != sorted(column.name for column in table.columns):
            raise v.Refused(f"The backup's table {table.name} has other columns than this one.")
    holding = [table.name for table in tables() if _holds_data(conn, table)]
    if holding:
        raise v.Refused(
            "This database is not empty (it holds " + ", ".join(holding) + "): restore only "
            "into a new database that `flask --app wsgi db upgrade` has just created."
        )
    for name in SEEDED:
        conn.execute(delete(Base.metadata.tables[name]))


def _holds_data(conn: Connection, table: Table) -> bool:
    """Whether ``table`` has rows other than those the migrations seed (or the servers
    write by themselves)."""
    if table.name in SERVERS_OWN:
        return False
    if table.name in SEEDED:
        names, seeded = SEEDED[table.name]
        present = {tuple(row) for row in conn.execute(select(*(table.c[n] for n in names)))}
        return not present <= seeded
    return conn.scalar(select(literal(1)).select_from(table).limit(1)) is not None


def _load(conn: Connection, table: Table, source: Source) -> int:
    """Insert the backup's rows of ``table`` in batches. A column referring to its own
    table (a company merged into another) is filled in afterwards, once every row exists;
    so are the columns an UPDATE would otherwise stamp (``updated_at``)."""
    names = source.columns(table.name) or []
    own = {fk.parent.name for fk in table.foreign_keys if fk.column.table is table}
    stamped = {column.name for column in table.columns if column.onupdate is not None}
    key = next(iter(table.primary_key.columns))
    later: list[dict] = []
    count = size = 0
    batch: list[dict] = []
    for values in source.rows(table.name):
        row = dict(zip(names, values, strict=True))
        if own and any(row[name] is not None for name in own):
            later.append({"_key": row[key.name], **{f"_{n}": row[n] for n in own | stamped}})
            row.update(dict.fromkeys(own))
        batch.append(row)
        count += 1
        size += sum(len(value) for value in values if isinstance(value, bytes | str))
        if len(batch) >= BATCH or size >= BATCH_BYTES:
            bulk.insert_rows(conn, table, batch)
            batch, size = [], 0
    bulk.insert_rows(conn, table, batch)
    if later:
        conn.execute(
            table.update()
            .where(key == bindparam("_key"))
            .values({name: bindparam(f"_{name}") for name in own | stamped}),
            later,
        )
    return count


def _reset_sequences(conn: Connection) -> None:
    """Set each PostgreSQL id sequence past the largest restored id."""
    quote_table = conn.dialect.identifier_preparer.format_table
    for table in tables():
        columns = list(table.primary_key.columns)
        if len(columns) != 1:
            continue
        sequence = conn.scalar(
            select(func.pg_get_serial_sequence(quote_table(table), columns[0].name))
        )
        if sequence is None:
            continue
        largest = conn.scalar(select(func.max(columns[0])))
        conn.execute(select(func.setval(sequence, (largest or 0) + 1, False)))
