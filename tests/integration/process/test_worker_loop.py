"""The worker loop itself: it joins the group, handles what arrives, and stops cleanly when told."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis
from revbridge_db.settings import DbSettings
from revbridge_process.settings import Settings
from revbridge_process.worker import run
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.process.support import make_store, pending_count, repo_config
from tests.support.procs import free_port
from tests.support.redis import REDIS_URL

pytestmark = pytest.mark.anyio


async def test_worker_loop_handles_entries_and_stops_on_request(
    redis: Redis, prefix: str, engine: AsyncEngine, database_url: str
) -> None:
    settings = Settings(
        REDIS_URL=REDIS_URL,
        REVBRIDGE_KEY_PREFIX=prefix,
        block_ms=200,
        system_api_url=f"http://127.0.0.1:{free_port()}",
    )
    config = repo_config()
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, config, stop, DbSettings(DATABASE_URL=database_url)))
    stream = f"{prefix}events:billing"
    entry_id = str(await redis.xadd(stream, {"garbage": "1"}))  # no system call needed to handle this one

    store = make_store(engine, redis, prefix)
    deadline = time.monotonic() + 10
    while await store.get_exception("intake", f"{stream}/{entry_id}") is None:
        assert time.monotonic() < deadline, "the worker never handled the entry"
        await asyncio.sleep(0.05)
    assert await pending_count(redis, stream) == 0

    stop.set()
    await asyncio.wait_for(task, timeout=5)
    groups = await redis.xinfo_groups(stream)
    assert [g["name"] for g in groups] == ["process"]
