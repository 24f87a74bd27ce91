"""The ``revbridge`` operator CLI against a real process API (a subprocess on a free port), a real Redis
and PostgreSQL: every command goes over HTTP, and each outcome has the exit code a script can branch
on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as sync_redis
from click.testing import CliRunner, Result
from redis.asyncio import Redis
from revbridge_contracts.events import EventType
from revbridge_contracts.process import ErrorClass
from revbridge_db.engine import create_engine
from revbridge_process.cli import main

from tests.integration.process.support import event, make_store
from tests.support.postgres import fresh_database
from tests.support.procs import free_port, running
from tests.support.redis import REDIS_URL, isolated_prefix

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture(scope="module")
def api(pg_template: str) -> Iterator[tuple[str, str, str]]:
    """(base URL, key prefix, database URL) of a process API started once for this module."""
    port = free_port()
    with isolated_prefix() as prefix, fresh_database(pg_template) as database_url:
        env = {
            "PROCESS_PORT": str(port),
            "REDIS_URL": REDIS_URL,
            "DATABASE_URL": database_url,
            "REVBRIDGE_KEY_PREFIX": prefix,
            "REVBRIDGE_CONFIG_DIR": str(REPO_CONFIG),
            "PROCESS_SYSTEM_API_URL": f"http://127.0.0.1:{free_port()}",
        }
        base = f"http://127.0.0.1:{port}"
        with running("process-api-cli", ["-m", "revbridge_process"], f"{base}/healthz", env=env):
            yield base, prefix, database_url


def cli(base: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--api", base, *args])


def record(api: tuple[str, str, str], flow: str, key: str, error_class: ErrorClass) -> str:
    _, prefix, database_url = api

    async def go() -> str:
        redis = Redis.from_url(REDIS_URL, decode_responses=True)
        engine = create_engine(url=database_url)
        try:
            store = make_store(engine, redis, prefix)
            return (await store.record_exception(flow, key, error_class, "seeded by the test")).id
        finally:
            await engine.dispose()
            await redis.aclose()

    return asyncio.run(go())


def test_exception_commands_act_through_the_api_with_script_friendly_exit_codes(
    api: tuple[str, str, str],
) -> None:
    base = api[0]
    record_id = record(api, "onboarding", "800000000000021", ErrorClass.mapping_missing)
    record(api, "invoice_posting", "in_cli", ErrorClass.conflict)

    listed = cli(base, "exceptions", "list", "--owner", "revops", "--json")
    assert listed.exit_code == 0, listed.output
    assert [r["id"] for r in json.loads(listed.stdout)] == [record_id]
    table = cli(base, "exceptions", "list", "--status", "open")
    assert table.exit_code == 0 and "in_cli" in table.stdout and "800000000000021" in table.stdout
    nobody = cli(base, "exceptions", "list", "--owner", "nobody")
    assert nobody.exit_code == 1  # the documented code for an empty answer, said plainly, not as an error
    assert nobody.stdout.strip() == "no exceptions with owner nobody" and "error" not in nobody.stderr
    assert cli(base, "exceptions", "list", "--status", "sleeping").exit_code == 2

    assert cli(base, "exceptions", "show", "onboarding:nope").exit_code == 1
    bad_owner = cli(base, "exceptions", "reassign", record_id, "--owner", "nobody")
    assert bad_owner.exit_code == 4 and "owner" in bad_owner.stderr
    moved = cli(base, "exceptions", "reassign", record_id, "--owner", "tax-ops", "--json")
    assert moved.exit_code == 0 and json.loads(moved.stdout)["owner"] == "tax-ops"

    retried = cli(base, "exceptions", "retry", record_id, "--json")
    assert retried.exit_code == 0 and json.loads(retried.stdout)["status"] == "retrying"
    resolved = cli(base, "exceptions", "resolve", record_id, "--note", "mapping added")
    assert resolved.exit_code == 0 and "mapping added" in resolved.stdout
    assert "revbridge-cli:" in resolved.stdout  # who acted, in the history
    assert cli(base, "exceptions", "retry", record_id).exit_code == 4  # resolved: 409
    assert cli(base, "exceptions", "resolve", record_id).exit_code == 2  # --note is required


def test_replay_all_dead_letters_in_chunks_then_nothing_to_do(api: tuple[str, str, str]) -> None:
    base, prefix, _ = api
    with sync_redis.Redis.from_url(REDIS_URL, decode_responses=True) as r:
        r.delete(f"{prefix}events:billing")
        for n in range(120):
            envelope = event(EventType.invoice_paid, f"in_{n}", account="default")
            r.xadd(
                f"{prefix}events:dead-letter",
                envelope.to_fields()
                | {
                    "dead_letter_reason": "delivered 6 times",
                    "dead_letter_stream": f"{prefix}events:billing",
                    "dead_letter_entry_id": f"{n + 1}-0",
                },
            )
        first = r.xrange(f"{prefix}events:dead-letter", count=1)[0][0]

    one = cli(base, "replay", "dead-letter", first, "--json")
    assert one.exit_code == 0 and json.loads(one.stdout)["replayed"][0]["dead_letter_id"] == first
    everything = cli(base, "replay", "dead-letter", "--all")
    assert everything.exit_code == 0 and "replayed 119 dead letter(s)" in everything.stdout
    with sync_redis.Redis.from_url(REDIS_URL, decode_responses=True) as r:
        assert r.xlen(f"{prefix}events:billing") == 120 and r.xlen(f"{prefix}events:dead-letter") == 0

    assert cli(base, "replay", "dead-letter", "--all").exit_code == 1
    assert cli(base, "replay", "dead-letter").exit_code == 2
    missing = cli(base, "replay", "dead-letter", "1-1")
    assert missing.exit_code == 1 and "1-1" in missing.stderr


def test_replay_key_publishes_and_an_unreachable_api_is_exit_3(api: tuple[str, str, str]) -> None:
    base, prefix, _ = api
    published = cli(base, "replay", "key", "onboarding", "800000000000022", "--json")
    assert published.exit_code == 0, published.output
    [entry] = json.loads(published.stdout)["replayed"]
    assert entry["stream"] == f"{prefix}events:crm"
    refunds = cli(base, "replay", "key", "refund_posting", "ch_1", "--account", "uk", "--json")
    assert refunds.exit_code == 0, refunds.output  # every flow the worker runs, not only the first two
    assert json.loads(refunds.stdout)["replayed"][0]["stream"] == f"{prefix}events:billing"
    assert cli(base, "replay", "key", "payroll", "x").exit_code == 2
    nobody = cli(f"http://127.0.0.1:{free_port()}", "exceptions", "list")
    assert nobody.exit_code == 3 and "unreachable" in nobody.stderr


def test_time_range_and_reconcile_commands_refuse_bad_usage_with_exit_codes(
    api: tuple[str, str, str],
) -> None:
    base = api[0]
    assert cli(base, "replay").exit_code == 2  # neither a range nor a subcommand
    assert cli(base, "replay", "--since", "yesterday-ish").exit_code == 2
    backwards = cli(base, "replay", "--since", "2026-05-02T00:00:00Z", "--until", "2026-05-01T00:00:00Z")
    assert backwards.exit_code == 2 and "--until" in backwards.output
    assert cli(base, "replay", "--since", "6h", "key", "onboarding", "x").exit_code == 2
    assert cli(base, "reconcile", "--pair", "everything").exit_code == 2
    assert cli(base, "reconcile", "--latest").exit_code == 1  # none has run in this deployment
    refunds = cli(base, "reconcile", "--pair", "refund", "--json")  # every pair the API compares
    assert refunds.exit_code == 4 and '"refund"' in refunds.stdout  # it ran; the system API is not there
    # the system API below is not there: the range cannot be read, and the CLI says the API failed
    down = cli(base, "replay", "--since", "6h", "--source", "billing")
    assert down.exit_code == 4 and "503" in down.stderr
