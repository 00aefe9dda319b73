"""Writing many rows of one table at once, for the CSV import and the restore of a backup.

``lead_search_deferred(connection)`` puts many new leads into SQLite's lead search
indexes in one statement each, after they are inserted, instead of row by row.

``insert_rows(connection, table, rows)`` inserts dicts with the same keys in the
connection's transaction:

- PostgreSQL: one COPY, which costs the server half the CPU of a statement per row (the
  lead table has 15 indexes to keep; docs/speed.md, "Import: 50,000 rows"). psycopg adapts
  each value by its Python type.
- SQLite: INSERTs of many rows each (``VALUES (…), (…), …``), the values converted by the
  columns' own types as ``connection.execute(insert(table), rows)`` would. A table with a
  trigger (the constraints of revision 0015, the search indexes) makes every statement
  write a statement journal, so an executemany of one row per statement took three times
  as long. Not ``insert(table).values(rows)``: SQLAlchemy compiles that again for every
  statement, which cost more than it saved; not the ORM's bulk insert: it splits the rows
  wherever the set of empty fields changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Table, text

# SQLite: rows per multi-row INSERT, and the most bound values one statement may have.
SQLITE_ROWS_PER_INSERT = 500
SQLITE_VARIABLES = 32_766


def insert_rows(connection: Connection, table: Table, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts with the same keys: the columns to fill) into ``table``."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy(connection, table, rows)
    else:
        _multi_row_inserts(connection, table, rows)


def _copy(connection: Connection, table: Table, rows: list[dict]) -> None:
    columns = list(rows[0])
    names = ", ".join(f'"{column}"' for column in columns)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def _multi_row_inserts(connection: Connection, table: Table, rows: list[dict]) -> None:
    columns = list(rows[0])
    dialect = connection.dialect
    convert = [
        (name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns
    ]
    one_row = "(" + ", ".join("?" * len(columns)) + ")"
    names = ", ".join(f'"{name}"' for name in columns)
    per_statement = min(SQLITE_ROWS_PER_INSERT, SQLITE_VARIABLES // len(columns))
    for start in range(0, len(rows), per_statement):
        some = rows[start : start + per_statement]
        values = [
            value if process is None or value is None else process(value)
            for row in some
            for name, process in convert
            for value in (row[name],)
        ]
        connection.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({names}) VALUES ' + ", ".join([one_row] * len(some)),
            tuple(values),
        )


# SQLite's lead search indexes (FTS5 tables of revisions 0005 and 0012, not in the models)
# and the triggers that put each new lead into them.
SEARCH_TRIGGERS = {"lead_search_insert": "lead_search", "lead_words_insert": "lead_words"}


@contextmanager
def lead_search_deferred(connection: Connection, *, import_id: int | None = None) -> Iterator[None]:
    """SQLite: leads inserted inside get into the lead search indexes by one ``INSERT …
    SELECT`` each at the end (about three times faster than the insert triggers row by
    row): the leads of ``import_id`` made inside (an import batch), or every lead (a
    restore, into an empty database). The triggers are dropped for the transaction and
    made again from their own stored SQL. SQLite has one writer at a time and DDL is
    transactional: no other lead can slip past the indexes, and a failure rolls the
    triggers back with the rest (nothing is done after an exception: the caller rolls
    back). PostgreSQL's indexes need nothing (revision 0013 gave its GIN indexes a pending
    list)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    stored = {}
    for trigger in SEARCH_TRIGGERS:
        sql = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
            {"name": trigger},
        ).scalar_one_or_none()
        if sql:
            stored[trigger] = sql
    before = connection.execute(text("SELECT coalesce(max(id), 0) FROM lead")).scalar_one()
    for trigger in stored:
        connection.exec_driver_sql(f"DROP TRIGGER {trigger}")
    yield
    made = "id > :before" + (" AND import_id = :import_id" if import_id is not None else "")
    for trigger, sql in stored.items():
        index = SEARCH_TRIGGERS[trigger]
        columns = ", ".join(
            row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({index})")
        )
        fill = f"INSERT INTO {index} (rowid, {columns}) SELECT id, {columns} FROM lead"
        connection.execute(text(f"{fill} WHERE {made}"), {"before": before, "import_id": import_id})
        connection.exec_driver_sql(sql)
