"""The exception queue's store on PostgreSQL: workers recording one failure at once count attempts on
one record (one ``opened`` step), and a write to a database that does not answer waits, then gives up
as a ``SystemUnavailable`` (the worker leaves the entry pending: it is redelivered)."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis
from revbridge_contracts.process import ErrorClass, ExceptionAction, ExceptionStatus
from revbridge_db.engine import create_engine
from revbridge_process.errors import SystemUnavailable
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.process.support import make_store

pytestmark = pytest.mark.anyio


async def test_concurrent_failures_of_one_key_count_attempts_on_one_record(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    stores = [make_store(engine, redis, prefix) for _ in range(4)]  # four workers
    await asyncio.gather(
        *(
            stores[n % 4].record_exception("invoice_posting", "in_race", ErrorClass.conflict, f"409 #{n}")
            for n in range(12)
        )
    )
    record = await stores[0].get_exception("invoice_posting", "in_race")
    assert record is not None and record.attempts == 12 and record.status == "open"
    assert [h.action for h in record.history] == ["opened"]
    assert [r.id for r in await stores[0].list_exceptions()] == ["invoice_posting:in_race"]

    await stores[0].transition(  # an operator retries; the retry fails in several workers at once
        record.id, allowed=(ExceptionStatus.open,), action=ExceptionAction.retry, to=ExceptionStatus.retrying
    )
    await asyncio.gather(
        *(s.record_exception("invoice_posting", "in_race", ErrorClass.conflict, "409") for s in stores)
    )
    again = await stores[0].get_by_id(record.id)
    assert again is not None and again.status == "open" and again.attempts == 16
    assert [h.action for h in again.history] == ["opened", "retry", "retry_failed"]  # reopened once


async def test_a_write_waits_for_the_database_then_gives_up_as_unavailable(redis: Redis, prefix: str) -> None:
    nowhere = create_engine(url="postgresql://postgres@127.0.0.1:1/nowhere")  # nothing listens on 1
    try:
        store = make_store(nowhere, redis, prefix)
        store._wait = 1.0
        started = time.monotonic()
        with pytest.raises(SystemUnavailable):
            await store.record_exception("onboarding", "800000000000001", ErrorClass.validation, "x")
        assert time.monotonic() - started >= 0.5  # it retried for the wait before giving up
    finally:
        await nowhere.dispose()
