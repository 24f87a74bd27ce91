"""Faults in the NetSuite sandbox come from the common engine: each kind does exactly what it says.

The sandbox runs as a real process; rules are posted to ``/__sandbox/faults`` (or given in the
environment at start-up) and the answers are checked on the wire, in NetSuite's error shape.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.integration.sandboxes.test_netsuite_sandbox import (
    REC,
    SANDBOX_ENV,
    error_code,
    shared_sandbox,
    tba,
)
from tests.support.procs import sandbox, wait_until

pytestmark = pytest.mark.integration

CURRENCY = f"{REC}/currency/1"
SUBSIDIARY = f"{REC}/subsidiary/1"
ENV_RULES = [{"path": SUBSIDIARY, "kind": "error", "status": 500, "probability": 0.5}]


@pytest.fixture(scope="module")
def base() -> str:
    return shared_sandbox()


@pytest.fixture(scope="module")
def limited() -> Iterator[str]:
    """A second process: concurrency limit 2 and fault rules given in the environment."""
    env = {
        **SANDBOX_ENV,
        "NETSUITE_SANDBOX_CONCURRENCY": "2",
        "NETSUITE_SANDBOX_FAULTS": json.dumps(ENV_RULES),
        "NETSUITE_SANDBOX_FAULT_SEED": "7",
    }
    with sandbox("netsuite", env=env) as url:
        yield url


@pytest.fixture
def ns(base: str) -> Iterator[httpx.Client]:
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    with httpx.Client(base_url=base, auth=tba(), timeout=10) as client:
        yield client
    httpx.delete(f"{base}/__sandbox/faults").raise_for_status()


def add_fault(base: str, **rule: Any) -> None:
    httpx.post(f"{base}/__sandbox/faults", json=rule).raise_for_status()


def statuses(ns: httpx.Client, n: int, path: str = CURRENCY) -> list[int]:
    return [ns.get(path).status_code for _ in range(n)]


def test_without_rules_no_call_fails(base: str, ns: httpx.Client) -> None:
    assert httpx.get(f"{base}/__sandbox/faults").json()["data"] == []
    assert set(statuses(ns, 20)) == {200}


def test_seeded_error_rate_repeats_the_same_sequence_and_matches_the_seed(
    base: str, ns: httpx.Client
) -> None:
    add_fault(base, path=f"{REC}/currency/*", kind="error", status=503, probability=0.4)
    runs = []
    for _ in range(2):
        httpx.post(f"{base}/__sandbox/faults/seed", json={"seed": 1234}).raise_for_status()
        runs.append(statuses(ns, 30))
    rng = random.Random(1234)
    expected = [503 if rng.random() < 0.4 else 200 for _ in range(30)]
    assert runs[0] == runs[1] == expected and {200, 503} == set(expected)
    failed = ns.get(CURRENCY)
    while failed.status_code != 503:
        failed = ns.get(CURRENCY)
    assert error_code(failed) == "SERVICE_UNAVAILABLE" and failed.json()["status"] == 503
    assert set(statuses(ns, 5, f"{REC}/subsidiary/1")) == {200}  # other paths are untouched


def test_rate_limit_answers_429_with_retry_after_once(base: str, ns: httpx.Client) -> None:
    add_fault(base, path=f"{REC}/customer*", kind="rate_limit", retry_after=7)
    limited = ns.get(f"{REC}/customer")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert error_code(limited) == "CONCURRENCY_LIMIT_EXCEEDED"
    assert ns.get(f"{REC}/customer").status_code == 200


def test_latency_delays_and_then_serves_normally(base: str, ns: httpx.Client) -> None:
    add_fault(base, path=CURRENCY, kind="latency", latency_ms=400)
    started = time.monotonic()
    slow = ns.get(CURRENCY)
    elapsed = time.monotonic() - started
    assert slow.status_code == 200 and slow.json()["symbol"] == "USD" and elapsed >= 0.4
    started = time.monotonic()
    assert ns.get(CURRENCY).status_code == 200 and time.monotonic() - started < 0.4


def test_timeout_hangs_past_the_client_deadline_then_frees_its_slot(base: str, ns: httpx.Client) -> None:
    add_fault(base, path=CURRENCY, kind="timeout", hang_seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        ns.get(CURRENCY, timeout=0.3)
    wait_until(
        lambda: httpx.get(f"{base}/__sandbox/governance").json()["in_flight"] == 0,
        timeout=5,
        message="the hung request to finish",
    )
    assert ns.get(CURRENCY).status_code == 200


def test_commit_then_drop_answers_500_but_the_write_happened(base: str, ns: httpx.Client) -> None:
    add_fault(base, path=f"{REC}/customer/*", method="PUT", kind="commit_then_drop")
    lost = ns.put(f"{REC}/customer/eid:ghost", json={"companyName": "Ghost", "subsidiary": {"id": "1"}})
    assert lost.status_code == 500 and error_code(lost) == "UNEXPECTED_ERROR"
    assert ns.get(f"{REC}/customer/eid:ghost").json()["companyName"] == "Ghost"


def test_first_sandboxes_short_form_is_understood(base: str, ns: httpx.Client) -> None:
    fault = {"path_prefix": f"{REC}/invoice", "method": "GET", "status": 502, "latency_ms": 50}
    add_fault(base, **fault)
    assert httpx.get(f"{base}/__sandbox/faults").json()["data"][0]["path"] == f"{REC}/invoice*"
    assert statuses(ns, 2, f"{REC}/invoice") == [502, 200]


def test_faults_from_the_environment_apply_from_start_and_come_back_on_reset(limited: str) -> None:
    with httpx.Client(base_url=limited, auth=tba(), timeout=10) as ns:
        first = statuses(ns, 20, SUBSIDIARY)
        httpx.post(f"{limited}/__sandbox/reset").raise_for_status()
        assert statuses(ns, 20, SUBSIDIARY) == first
    rng = random.Random(7)
    assert first == [500 if rng.random() < 0.5 else 200 for _ in range(20)]


def test_requests_past_the_concurrency_limit_get_429(limited: str) -> None:
    fault = {"path": f"{REC}/customer", "method": "GET", "kind": "latency", "latency_ms": 1500, "count": 2}
    add_fault(limited, **fault)
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = [pool.submit(httpx.get, f"{limited}{REC}/customer", auth=tba(), timeout=15) for _ in range(2)]
        wait_until(
            lambda: httpx.get(f"{limited}/__sandbox/governance").json()["in_flight"] == 2,
            timeout=5,
            message="two requests in flight",
        )
        blocked = httpx.get(f"{limited}{CURRENCY}", auth=tba())
        assert [future.result().status_code for future in slow] == [200, 200]
    assert blocked.status_code == 429 and error_code(blocked) == "CONCURRENCY_LIMIT_EXCEEDED"
    assert httpx.get(f"{limited}{CURRENCY}", auth=tba()).status_code == 200
