"""Creating and dropping whole databases (``make run``'s first start, a test run's own database)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from revbridge_db.engine import libpq_url


def split_database(url: str) -> tuple[str, str]:
    """``(URL of the maintenance database 'postgres', the database's name)``."""
    parts = urlsplit(libpq_url(url))
    name = parts.path.lstrip("/") or "revbridge"
    return urlunsplit(parts._replace(path="/postgres")), name


def create_database(url: str) -> bool:
    """Create the database ``url`` names unless it exists; whether it was created now."""
    admin, name = split_database(url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    admin, name = split_database(url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
