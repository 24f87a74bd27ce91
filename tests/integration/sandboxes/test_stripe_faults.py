"""The Stripe sandbox's faults come from the common engine: each kind, switched on, produces exactly
that failure in Stripe's error shape; switched off, none. Seeded error rates repeat exactly.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from tests.support.procs import sandbox

pytestmark = pytest.mark.integration

KEY = "sk_test_revbridge_demo"
AUTH = {"Authorization": f"Bearer {KEY}"}


# Rules the sandbox starts with (the environment route); the first test checks them, the
# clean-up after each test clears them along with everything the tests add.
START_RULES = [{"path": "/v1/events*", "method": "GET", "status": 503, "probability": 0.5}]


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    env = {"STRIPE_SANDBOX_FAULTS": json.dumps(START_RULES), "STRIPE_SANDBOX_FAULT_SEED": "7"}
    with sandbox("stripe", env=env) as url:
        yield url


@pytest.fixture(autouse=True)
def no_faults_left(base: str) -> Iterator[None]:
    yield
    httpx.delete(f"{base}/__sandbox/faults")


def add_fault(base: str, rule: dict[str, Any] | list[dict[str, Any]]) -> None:
    response = httpx.post(f"{base}/__sandbox/faults", json=rule)
    assert response.status_code == 200, response.text


def statuses(base: str, n: int, path: str = "/v1/customers") -> list[int]:
    with httpx.Client(base_url=base, headers=AUTH) as http:
        return [http.get(path, params={"limit": 1}).status_code for _ in range(n)]


def test_faults_from_the_environment_apply_from_start_up(base: str) -> None:
    plan = httpx.get(f"{base}/__sandbox/faults").json()
    first = statuses(base, 20, "/v1/events")
    httpx.post(f"{base}/__sandbox/faults/seed", json={"seed": 7})
    second = statuses(base, 20, "/v1/events")

    assert plan["seed"] == 7 and plan["data"][0]["path"] == "/v1/events*"
    assert first == second and set(first) == {200, 503}


def test_seeded_error_rate_repeats_the_same_sequence_and_stops_when_cleared(base: str) -> None:
    rule = {"path": "/v1/customers*", "method": "GET", "kind": "error", "status": 503, "probability": 0.5}
    httpx.post(f"{base}/__sandbox/faults/seed", json={"seed": 42})
    add_fault(base, rule)
    first = statuses(base, 30)
    httpx.post(f"{base}/__sandbox/faults/seed", json={"seed": 42})
    second = statuses(base, 30)
    httpx.delete(f"{base}/__sandbox/faults")

    assert first == second
    assert set(first) == {200, 503}
    assert set(statuses(base, 10)) == {200}


def test_error_fault_renders_api_error_once(base: str) -> None:
    add_fault(base, {"path_prefix": "/v1/products", "method": "GET", "status": 502})
    failed = httpx.get(f"{base}/v1/products", headers=AUTH)

    assert failed.status_code == 502
    assert failed.json()["error"]["type"] == "api_error"
    assert failed.headers["request-id"].startswith("req_")
    assert httpx.get(f"{base}/v1/products", headers=AUTH).status_code == 200


def test_rate_limit_is_429_rate_limit_with_retry_after(base: str) -> None:
    add_fault(base, {"path": "/v1/prices*", "kind": "rate_limit", "retry_after": 3})
    limited = httpx.get(f"{base}/v1/prices", headers=AUTH)

    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert limited.json()["error"]["code"] == "rate_limit"
    assert httpx.get(f"{base}/v1/prices", headers=AUTH).status_code == 200


def test_latency_delays_then_serves(base: str) -> None:
    add_fault(base, {"path": "/v1/customers*", "kind": "latency", "latency_ms": 400, "count": 1})
    started = time.monotonic()
    slow = httpx.get(f"{base}/v1/customers", headers=AUTH)
    slow_s = time.monotonic() - started
    started = time.monotonic()
    httpx.get(f"{base}/v1/customers", headers=AUTH)

    assert slow.status_code == 200 and slow_s >= 0.4
    assert time.monotonic() - started < 0.4


def test_timeout_holds_the_request_past_the_client_deadline(base: str) -> None:
    add_fault(base, {"path": "/v1/invoices*", "kind": "timeout", "hang_seconds": 2})
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{base}/v1/invoices", headers=AUTH, timeout=0.3)
    assert httpx.get(f"{base}/v1/invoices", headers=AUTH, timeout=0.3).status_code == 200


def test_commit_then_drop_stores_the_write_for_the_sdk_retry(base: str) -> None:
    add_fault(base, {"path": "/v1/customers", "method": "POST", "kind": "commit_then_drop"})
    email = f"{uuid.uuid4().hex[:8]}@dropped.test"
    client = stripe.StripeClient(
        KEY,
        base_addresses={"api": base},
        max_network_retries=2,
    )
    created = client.v1.customers.create(params={"email": email})
    found = httpx.get(f"{base}/v1/customers", params={"email": email}, headers=AUTH).json()["data"]
    log = httpx.get(f"{base}/__sandbox/requests", params={"limit": 5}).json()["data"]
    posts = [e for e in log if e["method"] == "POST" and e["path"] == "/v1/customers"][-2:]

    assert [c["id"] for c in found] == [created.id]
    assert created.last_response.headers.get("idempotent-replayed") == "true"
    assert [p["status"] for p in posts] == [500, 200]
    assert posts[0]["headers"]["idempotency-key"] == posts[1]["headers"]["idempotency-key"]
