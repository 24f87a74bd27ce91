"""The account-wide NetSuite budget against a real NetSuite sandbox and a real Redis: two clients
sharing one Redis never exceed the account's concurrency together, a 429 from NetSuite halves the
limit both of them share for its Retry-After (once for requests sent together), and a 429 at one
slot pauses both."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from revbridge_system.adapters.netsuite.budget import NetSuiteBudget
from revbridge_system.adapters.netsuite.client import NetSuiteErp
from revbridge_system.adapters.netsuite.settings import NetSuiteSettings
from revbridge_system.errors import NotFound, RateLimited

from tests.support.procs import sandbox
from tests.support.redis import REDIS_URL, isolated_prefix

pytestmark = pytest.mark.anyio
ACCOUNT_LIMIT = 3


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def netsuite() -> Iterator[str]:
    """A NetSuite sandbox whose account allows 3 concurrent requests (429 past that)."""
    with sandbox("netsuite", env={"NETSUITE_SANDBOX_CONCURRENCY": str(ACCOUNT_LIMIT)}) as base:
        yield base


@pytest.fixture
def admin(netsuite: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{netsuite}/__sandbox", timeout=10) as client:
        client.delete("/faults").raise_for_status()
        yield client
        client.delete("/faults").raise_for_status()


@pytest.fixture
def prefix() -> Iterator[str]:
    with isolated_prefix() as value:
        yield value


class Clock:
    """A shared injected clock; ``sleep`` moves it instead of waiting, and records each wait."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds
        await asyncio.sleep(0)


@asynccontextmanager
async def client(netsuite: str, prefix: str | None, **budget: Any) -> AsyncIterator[NetSuiteErp]:
    """A NetSuite client as a system API replica builds it, with its own Redis connection."""
    redis = Redis.from_url(REDIS_URL)
    shared = NetSuiteBudget(redis, prefix, limit=ACCOUNT_LIMIT, **budget) if prefix is not None else None
    erp = NetSuiteErp(NetSuiteSettings(base_url=netsuite), budget=shared)
    try:
        yield erp
    finally:
        await erp.aclose()
        await redis.aclose()


async def _lookup(erp: NetSuiteErp, n: int) -> None:
    with contextlib.suppress(NotFound):  # an unknown customer: the answer does not matter, the call does
        await erp.get_customer(f"budget-probe-{n}")


def _throttled(admin: httpx.Client) -> int:
    log = admin.get("/requests", params={"limit": 1000}).json()
    return sum(1 for entry in log if entry["status"] == 429)


async def _burst(netsuite: str, prefix: str | None, admin: httpx.Client) -> int:
    """Two clients, 12 slow lookups each, all at once; returns how many NetSuite answered 429."""
    admin.post("/reset").raise_for_status()
    admin.post(
        "/faults",
        json={
            "kind": "latency",
            "latency_ms": 100,
            "path": "/services/rest/record/v1/customer/*",
            "count": None,
        },
    ).raise_for_status()
    async with client(netsuite, prefix) as first, client(netsuite, prefix) as second:
        calls = [_lookup(erp, n) for erp in (first, second) for n in range(12)]
        results = await asyncio.gather(*calls, return_exceptions=True)
    admin.delete("/faults").raise_for_status()
    rejected = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, RateLimited) for r in rejected), rejected
    return _throttled(admin)


async def test_two_clients_sharing_the_budget_never_exceed_the_account_limit(
    netsuite: str, admin: httpx.Client, prefix: str
) -> None:
    assert await _burst(netsuite, None, admin) > 0  # without the budget the account limit is hit
    assert await _burst(netsuite, prefix, admin) == 0


def _one_429(admin: httpx.Client, retry_after: int) -> None:
    admin.post(
        "/faults",
        json={
            "kind": "rate_limit",
            "retry_after": retry_after,
            "path": "/services/rest/record/v1/customer/*",
            "count": 1,
        },
    ).raise_for_status()


async def test_a_429_halves_the_shared_limit_for_its_retry_after(
    netsuite: str, admin: httpx.Client, prefix: str
) -> None:
    clock = Clock()
    timing = {"clock": clock, "sleep": clock.sleep, "max_wait_seconds": 10.0}
    _one_429(admin, 1)
    async with client(netsuite, prefix, **timing) as first, client(netsuite, prefix, **timing) as second:
        with pytest.raises(RateLimited):  # NetSuite's 429, passed on to the caller
            await first.get_customer("budget-probe-a")
        budget_a = first._http._transport._budget  # type: ignore[attr-defined]
        budget_b = second._http._transport._budget  # type: ignore[attr-defined]
        assert await budget_a.limit_now() == await budget_b.limit_now() == ACCOUNT_LIMIT // 2
        assert await budget_b.cooldown_remaining() == 0
        sent_before = len(admin.get("/requests", params={"limit": 1000}).json())
        await _lookup(second, 1)  # the other client still sends at once, within the smaller limit
        assert clock.slept == []
        assert len(admin.get("/requests", params={"limit": 1000}).json()) == sent_before + 1
        deadline = asyncio.get_running_loop().time() + 5
        while await budget_a.limit_now() != ACCOUNT_LIMIT:  # whole again after the Retry-After
            assert asyncio.get_running_loop().time() < deadline, "the halved limit never expired"
            await asyncio.sleep(0.05)


async def test_429s_to_requests_sent_together_halve_the_limit_once(
    netsuite: str, admin: httpx.Client, prefix: str
) -> None:
    """Two requests in flight at once, both refused: the second 429 answers a request sent under the
    old limit, so the limit is halved once (3 -> 1) and the account does not cool down."""
    admin.post(
        "/faults",
        json={
            "kind": "rate_limit",
            "retry_after": 30,
            "latency_ms": 300,  # both are sent before either answer comes back
            "path": "/services/rest/record/v1/customer/*",
            "count": 2,
        },
    ).raise_for_status()
    async with client(netsuite, prefix) as first, client(netsuite, prefix) as second:
        results = await asyncio.gather(
            first.get_customer("budget-probe-a"),
            second.get_customer("budget-probe-b"),
            return_exceptions=True,
        )
        assert [type(r) for r in results] == [RateLimited, RateLimited]
        budget = first._http._transport._budget  # type: ignore[attr-defined]
        assert await budget.limit_now() == ACCOUNT_LIMIT // 2
        assert await budget.cooldown_remaining() == 0

        _one_429(admin, 30)  # a request sent after the halving is news: now the account cools down
        with pytest.raises(RateLimited):
            await second.get_customer("budget-probe-c")
        assert await budget.cooldown_remaining() > 0


async def test_a_429_at_one_slot_pauses_every_holder_for_its_retry_after(
    netsuite: str, admin: httpx.Client, prefix: str
) -> None:
    clock = Clock()
    timing = {"clock": clock, "sleep": clock.sleep, "max_wait_seconds": 10.0}
    async with client(netsuite, prefix, **timing) as first, client(netsuite, prefix, **timing) as second:
        for _ in range(2):  # 3 -> 1 slot, then a 429 at one slot: the account cools down
            _one_429(admin, 7)
            with pytest.raises(RateLimited):
                await first.get_customer("budget-probe-a")
        budget_a = first._http._transport._budget  # type: ignore[attr-defined]
        budget_b = second._http._transport._budget  # type: ignore[attr-defined]
        assert await budget_a.cooldown_remaining() == await budget_b.cooldown_remaining() == 7

        sent_before = len(admin.get("/requests", params={"limit": 1000}).json())
        await _lookup(second, 1)  # the other client waits out the cool-down, then sends
        assert clock.slept == [7.0]
        assert len(admin.get("/requests", params={"limit": 1000}).json()) == sent_before + 1
        await _lookup(first, 2)  # over: no more waiting
        assert clock.slept == [7.0]


async def test_a_cool_down_longer_than_the_caller_may_wait_answers_429_at_once(
    netsuite: str, admin: httpx.Client, prefix: str
) -> None:
    clock = Clock()
    async with client(netsuite, prefix, clock=clock, sleep=clock.sleep, max_wait_seconds=10.0) as erp:
        budget = erp._http._transport._budget  # type: ignore[attr-defined]
        while not await budget.cooldown_remaining():  # 429s until the limit is one slot, then a pause
            await budget.throttle(60)
        sent_before = len(admin.get("/requests", params={"limit": 1000}).json())
        with pytest.raises(RateLimited) as caught:
            await erp.get_customer("budget-probe-b")
        assert caught.value.retry_after == "60" and clock.slept == []
        assert len(admin.get("/requests", params={"limit": 1000}).json()) == sent_before


async def test_leases_of_a_dead_holder_expire(prefix: str) -> None:
    clock = Clock()
    redis = Redis.from_url(REDIS_URL)
    try:
        budget = NetSuiteBudget(
            redis, prefix, limit=2, lease_seconds=35, max_wait_seconds=60, clock=clock, sleep=clock.sleep
        )
        held = [budget.slot(), budget.slot()]
        for slot in held:  # entered and never left: the holder died mid-request
            await slot.__aenter__()
        assert await budget.holders() == 2
        budget._local = asyncio.Semaphore(2)  # a fresh process; only the shared leases remain
        started = clock.now
        async with budget.slot():  # waits (on the injected clock) until the dead leases run out
            assert await budget.holders() == 1
            assert 0 < await redis.pttl(budget.leases_key) <= 35_000  # the key itself is bounded
        assert 35 <= clock.now - started < 36  # the lease time, on the injected clock
        assert not await redis.exists(budget.leases_key)  # the last lease given back: nothing left
    finally:
        await redis.aclose()
