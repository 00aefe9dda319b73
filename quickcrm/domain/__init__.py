"""Domain rules as plain functions over a SQLAlchemy session — no Flask in here."""
