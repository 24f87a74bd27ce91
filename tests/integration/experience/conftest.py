"""A real PostgreSQL database per test (migrated), a folder and a reader of the experience read model,
and a small maker of ledger facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_db.engine import create_engine
from revbridge_experience.readmodel.fold import Folder
from revbridge_experience.readmodel.queries import ReadModel
from sqlalchemy.ext.asyncio import AsyncEngine

T0 = dt.datetime(2026, 10, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    value = create_engine(url=database_url)
    yield value
    await value.dispose()


@pytest.fixture
def folder(engine: AsyncEngine) -> Folder:
    return Folder(engine)


@pytest.fixture
def model(engine: AsyncEngine) -> ReadModel:
    return ReadModel(engine)


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
