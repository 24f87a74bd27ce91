"""The audit trail: every write through the gateway lands one append-only row in PostgreSQL (refused
ones too), read back through ``GET /experience/v2/audit``; a database that does not answer never
fails a proxied call, and its backlog is written once the database is back."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from revbridge_db import audit
from revbridge_db.engine import create_engine
from revbridge_gateway.trail import AuditTrail, entry

from tests.integration.gateway.conftest import Upstream, in_process_gateway
from tests.support.procs import free_port, running, wait_until
from tests.support.redis import isolated_prefix

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def dead_url(database_url: str) -> str:
    """The same database on a port nothing listens on."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{free_port()}"))


async def until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0.02)


def test_a_write_lands_one_audit_row_that_the_audit_view_pages(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    experience = f"http://127.0.0.1:{port}"
    env = {
        "EXPERIENCE_PORT": str(port),
        "EXPERIENCE_PROCESS_API_URL": f"http://127.0.0.1:{free_port()}",
        "DATABASE_URL": database_url,
    }
    with (
        isolated_prefix() as prefix,
        running(
            "experience-api-audit",
            ["-m", "revbridge_experience.app"],
            f"{experience}/healthz",
            env={**env, "REVBRIDGE_KEY_PREFIX": prefix},
        ),
        Upstream(status=202).serving() as process,
        in_process_gateway(
            tmp_path, experience_url=experience, process_url=process.url, DATABASE_URL=database_url
        ) as gw,
    ):
        gateway = gw.client.app.state.gateway  # type: ignore[attr-defined]
        web = gateway.registry.clients["revops-web"]
        user_token = gateway.tokens.issue(web, list(web.scopes), subject="revops-demo")
        done = gw.call(
            "POST", "/process/v1/exceptions/exc-42/retry", user_token, headers={"traceparent": TRACEPARENT}
        )
        assert done.status_code == 202, done.text
        trial = gw.token("partner-trial")  # onboarding:read only: a start is refused
        refused = gw.call(
            "POST",
            "/process/v1/onboardings",
            trial,
            json={"contract_id": "800000000000001AAA"},
            headers={"Idempotency-Key": "audit-idem-1"},
        )
        assert refused.status_code == 403
        assert gw.call("GET", "/process/v1/onboardings/800000000000001AAA", trial).status_code == 202
        wait_until(lambda: gateway.trail.written == 2, timeout=10, message="the audit rows written")

        reader = gw.token("revops-dashboard")
        first = gw.call("GET", "/experience/v2/audit?limit=1", reader)
        assert first.status_code == 200, first.text
        [newest] = first.json()["items"]
        assert newest["operation"] == "startOnboarding"
        assert (newest["actor"], newest["client"]) == ("partner-trial", "partner-trial")
        assert (newest["outcome"], newest["status"], newest["business_key"]) == (
            "rejected",
            403,
            "audit-idem-1",
        )
        assert first.json()["next_cursor"] == str(newest["id"])

        second = gw.call("GET", f"/experience/v2/audit?limit=1&cursor={newest['id']}", reader).json()
        [row] = second["items"]
        assert second["next_cursor"] is None  # the read was not audited: two rows in all
        assert (row["source"], row["actor"], row["client"]) == ("gateway", "revops-demo", "revops-web")
        assert (row["operation"], row["method"], row["path"]) == (
            "retryException",
            "POST",
            "/process/v1/exceptions/exc-42/retry",
        )
        assert (row["outcome"], row["status"], row["business_key"]) == ("ok", 202, "exc-42")
        assert row["trace_id"] == TRACE_ID
        assert row["detail"]["correlation_id"] == done.headers["x-correlation-id"]
        assert user_token not in json.dumps([newest, row])  # no secret in a row

        only = gw.call("GET", "/experience/v2/audit?actor=revops-demo&business_key=exc-42", reader).json()
        assert [r["id"] for r in only["items"]] == [row["id"]]

        # internal apps with reports:read only: another scope, or a partner, is refused
        narrow = gw.token("revops-dashboard", ["exceptions:read"])
        assert gw.call("GET", "/experience/v2/audit", narrow).status_code == 403
        assert gw.call("GET", "/experience/v2/audit", gw.token("partner-demo")).status_code == 403
        bad = gw.call("GET", "/experience/v2/audit?since=yesterday", reader)
        assert bad.status_code == 422  # refused by the gateway against the contract
        assert [p["name"] for p in bad.json()["invalid_params"]] == ["query.since"]


def test_the_audit_table_refuses_update_and_delete(database_url: str) -> None:
    async def write() -> None:
        engine = create_engine(url=database_url)
        await audit.record(engine, source="gateway", operation="retryException", outcome="ok", actor="a")
        await engine.dispose()

    asyncio.run(write())
    with psycopg.connect(database_url, autocommit=True) as conn:
        for statement in (
            "UPDATE revbridge.audit_event SET actor = 'someone-else'",
            "DELETE FROM revbridge.audit_event",
            "TRUNCATE revbridge.audit_event",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT actor FROM revbridge.audit_event").fetchall() == [("a",)]


def test_a_database_that_does_not_answer_never_fails_a_proxied_write(
    tmp_path: Path, database_url: str
) -> None:
    with (
        Upstream(status=202).serving() as process,
        in_process_gateway(tmp_path, process_url=process.url, DATABASE_URL=dead_url(database_url)) as gw,
    ):
        trail = gw.client.app.state.gateway.trail  # type: ignore[attr-defined]
        token = gw.token("revops-dashboard")
        for n in range(3):
            started = time.perf_counter()
            answer = gw.call("POST", f"/process/v1/exceptions/exc-{n}/retry", token)
            assert answer.status_code == 202, answer.text
            assert time.perf_counter() - started < 1.0
        wait_until(lambda: trail.down, timeout=10, message="the writer to find PostgreSQL down")
        assert (trail.pending, trail.written, trail.dropped) == (3, 0, 0)
        closing = time.perf_counter()
    assert time.perf_counter() - closing < 3.0  # shutdown does not wait for a database that is away
    assert len(process.seen) == 3


def test_the_backlog_is_bounded_and_written_once_the_database_is_back(database_url: str) -> None:
    down = dead_url(database_url)
    target = urlsplit(database_url)

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(target.hostname, target.port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, server_writer), pipe(server_reader, writer), return_exceptions=True)

    def row(n: int) -> dict[str, object]:
        return entry(
            method="POST",
            path=f"/process/v1/exceptions/exc-{n}/retry",
            status=202,
            operation_id="retryException",
            actor="revops-dashboard",
            client="revops-dashboard",
            business_key=f"exc-{n}",
            trace_id=TRACE_ID,
            detail={},
        )

    async def scenario() -> None:
        trail = AuditTrail(create_engine(url=down), capacity=2, max_delay=0.3)
        writer = asyncio.create_task(trail.run())
        for n in range(3):
            trail.add(row(n))
        assert (trail.pending, trail.dropped) == (2, 1)  # past the bound a row is not kept
        await asyncio.wait_for(until(lambda: trail.down), 10)
        # PostgreSQL comes back on the port the trail was given
        server = await asyncio.start_server(forward, "127.0.0.1", urlsplit(down).port)
        try:
            await asyncio.wait_for(until(lambda: not trail.pending), 10)
            assert (trail.pending, trail.written, trail.down) == (0, 2, False)
            await trail.close(writer, 1.0)
        finally:
            server.close()

    asyncio.run(scenario())
    with psycopg.connect(database_url) as conn:
        keys = conn.execute("SELECT business_key FROM revbridge.audit_event ORDER BY id").fetchall()
    assert keys == [("exc-0",), ("exc-1",)]
