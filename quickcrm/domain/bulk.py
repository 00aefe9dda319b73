"""Writing many rows of one table at once, for the CSV import and the restore of a backup.

``insert_rows(connection, table, rows)`` inserts dicts with the same keys in the
connection's transaction:

- PostgreSQL: one COPY, which costs the server half the CPU of a statement per row (the
  lead table has 15 indexes to keep; README, "Import"). psycopg adapts each value by its
  Python type.
- SQLite: INSERTs of many rows each (``VALUES (…), (…), …``), the values converted by the
  columns' own types as ``connection.execute(insert(table), rows)`` would. A table with a
  trigger (the constraints of revision 0015, the search indexes) makes every statement
  write a statement journal, so an executemany of one row per statement took three times
  as long. Not ``insert(table).values(rows)``: SQLAlchemy compiles that again for every
  statement, which cost more than it saved; not the ORM's bulk insert: it splits the rows
  wherever the set of empty fields changes.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table

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
