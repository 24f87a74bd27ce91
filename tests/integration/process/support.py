"""Wiring for the worker's integration tests: a real Redis (unique key prefix), a real PostgreSQL (a
migrated database of the test's own), the real consumer and store, and the hand-written fake of the
system API port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from revbridge_contracts.events import EventEnvelope, EventType
from revbridge_db.engine import create_engine
from revbridge_process.config import Config, load_config
from revbridge_process.consumer import Consumer
from revbridge_process.dispatch import FlowDeps
from revbridge_process.flows.onboarding import StepRun
from revbridge_process.retry import RetryPolicy
from revbridge_process.store import PgStore
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.redis import REDIS_URL, isolated_prefix
from tests.unit.process.fakes import FakeSystem

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"
GROUP = "process"


def repo_config() -> Config:
    return load_config(REPO_CONFIG)


async def no_sleep(_: float) -> None:
    """In-process backoff is unit-tested; here it must not slow the suite."""


@pytest.fixture
def prefix() -> Any:
    with isolated_prefix() as value:
        yield value


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test's own migrated database."""
    value = create_engine(url=database_url)
    yield value
    await value.dispose()


def make_store(engine: AsyncEngine, redis: Redis, prefix: str, **options: Any) -> PgStore:
    """The store as the composition roots build it (no wait for a database that is down)."""
    return PgStore(engine, redis, prefix, repo_config().exceptions, wait_seconds=0, **options)


class Clock:
    """An injected wall clock (epoch seconds) that moves only when the test says so."""

    def __init__(self, start: float = 1_900_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_consumer(
    redis: Redis,
    prefix: str,
    engine: AsyncEngine,
    system: FakeSystem,
    name: str = "worker-a",
    max_deliveries: int = 5,
    clock: Clock | None = None,
    writeback: StepRun | None = None,
    **options: Any,
) -> tuple[Consumer, PgStore]:
    config = repo_config()
    store = make_store(engine, redis, prefix)
    consumer = Consumer(
        redis,
        prefix,
        FlowDeps(system, config, store, crm_writeback=writeback),
        store,
        group=GROUP,
        name=name,
        policy=RetryPolicy(attempts=2, base_seconds=0.0),
        max_deliveries=max_deliveries,
        sleep=no_sleep,
        now=clock or Clock(),
        **options,
    )
    return consumer, store


def event(type_: EventType, subject: str, **fields: Any) -> EventEnvelope:
    return EventEnvelope(
        type=type_,
        source="stripe.webhook" if type_.value.startswith("billing") else "salesforce.push",
        subject=subject,
        **fields,
    )


async def pending_count(redis: Redis, stream: str) -> int:
    summary = await redis.xpending(stream, GROUP)
    return int(summary["pending"])
