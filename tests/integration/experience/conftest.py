"""A real Redis per test (own key prefix), a folder and a reader of the experience read model, and a
small maker of ledger facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_experience.readmodel.fold import Folder
from revbridge_experience.readmodel.queries import ReadModel

from tests.support.redis import REDIS_URL, isolated_prefix

T0 = dt.datetime(2026, 10, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def prefix() -> Iterator[str]:
    with isolated_prefix() as value:
        yield value


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
def folder(redis: Redis, prefix: str) -> Folder:
    return Folder(redis, prefix)


@pytest.fixture
def model(redis: Redis, prefix: str) -> ReadModel:
    return ReadModel(redis, prefix)


def make(kind: FactKind, key: str, amount: int | None = None, **values: Any) -> Fact:
    """A fact of a USD invoice of contract C1 in 2026-10 (US), ``values`` overriding."""
    defaults: dict[str, Any] = {
        "contract_id": "800000000000001AAA",
        "customer_id": "001000000000001AAA",
        "invoice_id": "in_1",
        "entity": "US",
        "currency": "USD",
        "period": "2026-10",
        "occurred_at": T0,
        "recorded_at": T0 + dt.timedelta(seconds=5),
    }
    record_id = values.pop("record_id", key)
    return fact(kind, key, record_id, amount=amount, **(defaults | values))
