"""The async engine (SQLAlchemy 2 on psycopg 3) and the schema check of every service's start-up.

A service calls ``ensure_schema`` before it serves: a database behind the code is upgraded (under an
advisory lock, so several services starting together migrate once); a database *ahead* of the code
(a newer revbridge migrated it) is refused with ``SchemaTooNew``, because the old code would write
rows the new schema does not expect. ``DatabaseUnavailable`` is what callers see when PostgreSQL
does not answer: reads answer 503, writes wait and retry.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from revbridge_db.settings import DbSettings

T = TypeVar("T")
MIGRATION_LOCK = 7_311_001
"""pg_advisory_lock key held while one process migrates."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer revbridge than this one."""


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL did not answer (down, restarting, unreachable)."""


def sqlalchemy_url(url: str) -> str:
    """``postgresql://...`` as the psycopg 3 dialect's URL (any other scheme is taken as given)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def libpq_url(url: str) -> str:
    """The URL for psycopg or libpq tools (``psql``, ``pg_dump``): without the dialect."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_engine(settings: DbSettings | None = None, url: str | None = None) -> AsyncEngine:
    s = settings or DbSettings()
    return create_async_engine(
        sqlalchemy_url(url or s.url),
        pool_size=s.pool_size,
        max_overflow=s.pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5},
    )


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is not there (as opposed to a bad statement)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


async def retrying(
    call: Callable[[], Awaitable[T]], *, wait_seconds: float = 30.0, first_delay: float = 0.2
) -> T:
    """Run ``call``; while the database is unavailable, retry with backoff for ``wait_seconds``,
    then raise ``DatabaseUnavailable``. Other errors pass through at once."""
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + wait_seconds, first_delay
    while True:
        try:
            return await call()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            if loop.time() + delay > deadline:
                raise DatabaseUnavailable(f"PostgreSQL is unavailable: {type(exc).__name__}") from exc
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


async def ensure_schema(engine: AsyncEngine, *, migrate: bool = True) -> str:
    """Bring the database to this code's head, or refuse; returns the revision it is at."""
    from revbridge_db import migrate as migrations

    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        try:
            current = await conn.run_sync(migrations.current_revision)
            migrations.refuse_newer(current)
            if current != migrations.head():
                if not migrate:
                    raise SchemaTooNew(
                        f"database schema is at {current or 'nothing'}, this revbridge needs "
                        f"{migrations.head()}: run `revbridge db upgrade`"
                    )
                await conn.run_sync(migrations.upgrade_connection)
                await conn.commit()
            return migrations.head()
        except BaseException:
            await conn.rollback()
            raise
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            await conn.commit()


@contextlib.asynccontextmanager
async def open_database(
    settings: DbSettings | None = None, *, wait_seconds: float = 60.0
) -> AsyncIterator[AsyncEngine]:
    """A service's database: the engine, once the schema is at this code's head (migrated when
    behind, ``SchemaTooNew`` when ahead); waits up to ``wait_seconds`` for PostgreSQL to answer."""
    s = settings or DbSettings()
    engine = create_engine(s)
    try:
        await retrying(lambda: ensure_schema(engine, migrate=s.migrate_on_start), wait_seconds=wait_seconds)
        yield engine
    finally:
        await engine.dispose()
