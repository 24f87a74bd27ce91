"""A real PostgreSQL for tests: one database per test run (migrated once, then used as the template
of a fresh database per test that asks for one), all dropped afterwards.

The server is the one at ``DATABASE_URL`` (``make test`` starts a project-local one when none
answers). Databases are named ``rbtest_<pid>_...``; those of a run whose process is gone (killed
before it could drop them) are dropped at the next run's start.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from revbridge_db import migrate
from revbridge_db.admin import drop_database, split_database
from revbridge_db.engine import libpq_url, sqlalchemy_url
from revbridge_db.settings import DEFAULT_URL
from sqlalchemy import create_engine

SERVER_URL = os.environ.get("DATABASE_URL", DEFAULT_URL)
RUN = f"rbtest_{os.getpid()}"
_counter = itertools.count(1)


def url_of(name: str) -> str:
    parts = urlsplit(libpq_url(SERVER_URL))
    return urlunsplit(parts._replace(path="/" + name))


def _admin() -> psycopg.Connection:
    return psycopg.connect(split_database(SERVER_URL)[0], autocommit=True, connect_timeout=5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_orphans() -> None:
    """Drop the databases of earlier runs whose process is gone."""
    with _admin() as conn:
        names = [
            r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'rbtest\\_%'")
        ]
        for name in names:
            pid = name.split("_")[1]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def template_database() -> Iterator[str]:
    """This run's migrated database, the template of every ``fresh_database``."""
    drop_orphans()
    name = f"{RUN}_tpl"
    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = url_of(name)
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        migrate.upgrade_connection(conn)
    engine.dispose()
    try:
        yield url
    finally:
        drop_database(url)


@contextmanager
def fresh_database(template_url: str) -> Iterator[str]:
    """A new database cloned from the template (about 0.1 s); dropped afterwards."""
    name = f"{RUN}_{next(_counter)}"
    with _admin() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(split_database(template_url)[1])
            )
        )
    url = url_of(name)
    try:
        yield url
    finally:
        drop_database(url)
