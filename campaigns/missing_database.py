"""PostgreSQL has no database by DATABASE_URL's name: say how to create it.

`textcast db upgrade` creates the tables, not the database itself (on SQLite the file is made
on first use; PostgreSQL needs the database to exist first).
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

# PostgreSQL's SQLSTATE for a connection to a database that does not exist (invalid_catalog_name).
INVALID_CATALOG_NAME = "3D000"


def is_missing_database(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) == INVALID_CATALOG_NAME


def how_to_create(database_url: str) -> str:
    """One line: which database is missing where, and the command that creates it (never the
    password)."""
    url = make_url(database_url)
    name = url.database or "textcast"
    options = [f"-h {url.host}" if url.host else "", f"-p {url.port}" if url.port else "",
               f"-U {url.username}" if url.username else ""]  # fmt: skip
    createdb = " ".join(["createdb", *filter(None, options), name])
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    return (
        f'the database "{name}" does not exist on {where}: create it with `{createdb}` '
        f'(or CREATE DATABASE "{name}"; in psql), then run `textcast db upgrade`'
    )
