"""Transient failures retry with backoff honouring Retry-After; system API answers map to our errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from revbridge_process.errors import (
    SystemConflict,
    SystemNotFound,
    SystemRateLimited,
    SystemRejected,
    SystemUnavailable,
)
from revbridge_process.retry import RetryPolicy, with_retries
from revbridge_process.system_client import Reply, SystemApi, retry_after_seconds

pytestmark = pytest.mark.anyio


def test_backoff_grows_is_jittered_and_capped_and_retry_after_wins() -> None:
    policy = RetryPolicy(base_seconds=1.0, max_seconds=5.0, max_retry_after_seconds=30.0)
    assert [policy.delay(n, None, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert policy.delay(3, None, rand=lambda: 0.25) == 1.0
    assert policy.delay(1, 7.0, rand=lambda: 1.0) == 7.0
    assert policy.delay(1, 600.0, rand=lambda: 1.0) == 30.0


async def test_retries_transient_then_succeeds_waiting_retry_after() -> None:
    waits: list[float] = []
    errors = [SystemRateLimited("429", retry_after=3.0), SystemUnavailable("503")]

    async def call() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    assert await with_retries(call, RetryPolicy(attempts=3, base_seconds=0.0), sleep) == "ok"
    assert waits == [3.0, 0.0]


async def test_gives_up_after_attempts_and_never_retries_business_errors() -> None:
    calls = 0

    async def unavailable() -> None:
        nonlocal calls
        calls += 1
        raise SystemUnavailable("503")

    async def no_sleep(_: float) -> None: ...

    with pytest.raises(SystemUnavailable):
        await with_retries(unavailable, RetryPolicy(attempts=3, base_seconds=0.0), no_sleep)
    assert calls == 3

    async def conflict() -> None:
        nonlocal calls
        calls += 1
        raise SystemConflict("409")

    with pytest.raises(SystemConflict):
        await with_retries(conflict, RetryPolicy(attempts=3), no_sleep)
    assert calls == 4


class FakeTransport:
    """Answers each request with ``respond(method, path with its query)``; what it saw is kept."""

    def __init__(self, respond: Callable[[str, str], Reply]) -> None:
        self.respond = respond

    async def send(
        self, method: str, path: str, params: Mapping[str, str] | None, body: bytes | None
    ) -> Reply:
        return self.respond(method, path + (f"?{urlencode(params)}" if params else ""))


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, headers or {}, json.dumps(body).encode())


def _client(status: int, headers: dict[str, str] | None = None) -> SystemApi:
    problem = {"title": "x", "status": status, "detail": "why"}
    return SystemApi(FakeTransport(lambda method, path: reply(status, problem, headers)))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, SystemNotFound),
        (409, SystemConflict),
        (422, SystemRejected),
        (429, SystemRateLimited),
        (503, SystemUnavailable),
        (500, SystemUnavailable),
    ],
)
async def test_system_api_statuses_map_to_errors(status: int, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        await _client(status, {"Retry-After": "2"}).get_contract("800000000000001")
    assert "why" in str(caught.value)
    if isinstance(caught.value, SystemUnavailable):
        assert caught.value.retry_after == 2.0


async def test_client_sends_keyed_paths_and_parses_canonical_models() -> None:
    seen: list[str] = []

    def respond(method: str, path: str) -> Reply:
        seen.append(f"{method} {path}")
        return reply(200, {"record_type": "invoice", "internal_id": "77", "external_id": "in/1"})

    ref = await SystemApi(FakeTransport(respond)).get_erp_customer("in/1")
    assert ref.internal_id == "77" and seen == ["GET /v1/erp/customers/in%2F1"]


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("5") == 5.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


async def test_refund_listing_pages_the_accounts_refunds_and_translates_errors() -> None:
    seen: list[str] = []

    def respond(method: str, path: str) -> Reply:
        seen.append(path)
        if "cursor" in path:
            return reply(429, {"detail": "throttled"}, {"Retry-After": "3"})
        refund = {"id": "re_1", "charge_id": "ch_1", "amount": 500, "currency": "USD", "status": "succeeded"}
        return reply(200, {"items": [refund], "next_cursor": "re_1"})

    api = SystemApi(FakeTransport(respond))
    page = await api.list_refunds("uk")
    assert [r.id for r in page.items] == ["re_1"] and page.next_cursor == "re_1"
    with pytest.raises(SystemRateLimited) as caught:
        await api.list_refunds("uk", page.next_cursor)
    assert caught.value.retry_after == 3.0
    assert seen == ["/v1/billing/uk/refunds?limit=100", "/v1/billing/uk/refunds?limit=100&cursor=re_1"]
