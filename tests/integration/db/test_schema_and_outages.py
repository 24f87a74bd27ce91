"""The database as the services meet it: a schema newer than the code is refused with a clear
message and left untouched; an empty database is migrated at start-up; while PostgreSQL is away,
reads answer 503 problem+json and fact writes wait for it (then defer the flow), losing nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import threading
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from revbridge_contracts.facts import FactKind, fact
from revbridge_db import migrate
from revbridge_db.admin import create_database, drop_database
from revbridge_db.engine import SchemaTooNew, create_engine, ensure_schema
from revbridge_process.facts import LedgerUnavailable, PgFacts

from tests.support.procs import free_port, running
from tests.support.tcp_proxy import tcp_proxy

FUTURE = "0999_from_a_newer_release"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{port}").geturl()


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5432


def _set_version(url: str, version: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE revbridge.alembic_version SET version_num = %s", (version,))


def test_a_database_at_a_newer_schema_is_refused_and_left_untouched(database_url: str) -> None:
    _set_version(database_url, FUTURE)
    cli = subprocess.run(
        [sys.executable, "-m", "revbridge_db", "upgrade", "--url", database_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 2
    assert FUTURE in cli.stderr and "newer than this revbridge" in cli.stderr and migrate.head() in cli.stderr
    service = subprocess.run(
        [sys.executable, "-m", "revbridge_experience.app"],
        env={"DATABASE_URL": database_url, "EXPERIENCE_PORT": str(free_port()), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert service.returncode != 0 and "newer than this revbridge" in service.stdout + service.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version_num FROM revbridge.alembic_version").fetchone() == (FUTURE,)


async def test_an_empty_database_is_migrated_at_start_up(database_url: str) -> None:
    empty = database_url + "_empty"
    create_database(empty)
    engine = create_engine(url=empty)
    try:
        assert await ensure_schema(engine) == migrate.head()
        assert await ensure_schema(engine) == migrate.head()  # at head: nothing to do
        _set_version(empty, FUTURE)
        with pytest.raises(SchemaTooNew, match="newer"):
            await ensure_schema(engine)
    finally:
        await engine.dispose()
        drop_database(empty)


def test_reads_answer_503_while_the_database_is_away_and_recover(database_url: str) -> None:
    with tcp_proxy(*_target(database_url)) as proxy:
        port = free_port()
        env = {
            "DATABASE_URL": _via(database_url, proxy.port),
            "EXPERIENCE_PORT": str(port),
            "EXPERIENCE_PROCESS_API_URL": f"http://127.0.0.1:{free_port()}",
        }
        base = f"http://127.0.0.1:{port}"
        with running("experience-api-outage", ["-m", "revbridge_experience.app"], f"{base}/healthz", env=env):
            assert httpx.get(f"{base}/v2/revenue/summary", timeout=10).status_code == 200
            proxy.down()
            away = httpx.get(f"{base}/v2/revenue/summary", timeout=20)
            assert away.status_code == 503, away.text
            assert away.headers["content-type"] == "application/problem+json"
            assert "database" in away.json()["detail"]
            proxy.up()
            assert httpx.get(f"{base}/v2/revenue/summary", timeout=10).status_code == 200


async def test_a_fact_write_waits_for_the_database_then_defers_the_flow(database_url: str) -> None:
    billed = fact(
        FactKind.invoice_billed,
        "in_1",
        "in_1",
        amount=100,
        currency="USD",
        occurred_at=dt.datetime.now(dt.UTC),
    )
    with tcp_proxy(*_target(database_url)) as proxy:
        engine = create_engine(url=_via(database_url, proxy.port))
        try:
            proxy.down()
            with pytest.raises(LedgerUnavailable):  # away longer than the wait: the flow is deferred
                await PgFacts(engine, wait_seconds=0.5).publish(billed)
            back = threading.Timer(1.0, proxy.up)
            back.start()
            await asyncio.wait_for(PgFacts(engine, wait_seconds=30).publish(billed), timeout=30)
            back.join()
        finally:
            await engine.dispose()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM revbridge.ledger_fact").fetchone() == (1,)
