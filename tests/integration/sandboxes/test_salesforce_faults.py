"""Faults in the Salesforce sandbox through the common engine: each kind does exactly what it says.

The sandbox runs as a real process; rules come from the admin endpoint or from the environment
(``SALESFORCE_SANDBOX_FAULTS`` / ``SALESFORCE_SANDBOX_FAULT_SEED``), and every answer is checked
for Salesforce's error array, so client retry tables meet the production wire format.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.procs import sandbox

pytestmark = pytest.mark.integration

CLIENT_ID = "fault-client"
CLIENT_SECRET = "fault-secret"
V = "/services/data/v59.0"
ENV = {"SALESFORCE_SANDBOX_CLIENT_ID": CLIENT_ID, "SALESFORCE_SANDBOX_CLIENT_SECRET": CLIENT_SECRET}


def token(base: str) -> str:
    data = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    return str(httpx.post(f"{base}/services/oauth2/token", data=data).json()["access_token"])


def error_code(response: httpx.Response) -> str:
    return str(response.json()[0]["errorCode"])


# Configured from the environment on a path nothing else here calls (v58.0); reset restores it.
ENV_RULE = {"path": "/services/data/v58.0/*", "kind": "error", "status": 503, "probability": 0.5}


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    env = {**ENV, "SALESFORCE_SANDBOX_FAULTS": json.dumps([ENV_RULE]), "SALESFORCE_SANDBOX_FAULT_SEED": "7"}
    with sandbox("salesforce", env=env) as url:
        yield url


@pytest.fixture
def sf(base: str) -> Iterator[httpx.Client]:
    httpx.post(f"{base}/__sandbox/reset").raise_for_status()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token(base)}"}) as client:
        yield client


def add_fault(sf: httpx.Client, **rule: object) -> None:
    httpx.post(f"{sf.base_url}/__sandbox/faults", json=rule).raise_for_status()


def statuses(sf: httpx.Client, n: int, version: str = "v59.0") -> list[int]:
    return [sf.get(f"/services/data/{version}/sobjects/").status_code for _ in range(n)]


def test_seeded_error_rate_from_env_repeats_the_same_sequence_after_reset(sf: httpx.Client) -> None:
    first = statuses(sf, 30, "v58.0")
    failed = sf.get("/services/data/v58.0/sobjects/")
    while failed.status_code != 503:
        failed = sf.get("/services/data/v58.0/sobjects/")
    httpx.post(f"{sf.base_url}/__sandbox/reset").raise_for_status()
    second = statuses(sf, 30, "v58.0")
    httpx.post(f"{sf.base_url}/__sandbox/faults/seed", json={"seed": 7}).raise_for_status()
    third = statuses(sf, 30, "v58.0")
    assert set(first) == {200, 503}
    assert first == second == third
    assert error_code(failed) == "SERVER_UNAVAILABLE"
    assert set(statuses(sf, 10)) == {200}  # other paths are untouched


def test_rate_limit_answers_429_request_limit_exceeded_with_retry_after_once(sf: httpx.Client) -> None:
    add_fault(sf, path="/services/data/*", kind="rate_limit", retry_after=7)
    limited = sf.get(f"{V}/sobjects/")
    assert (limited.status_code, limited.headers["Retry-After"], error_code(limited)) == (
        429,
        "7",
        "REQUEST_LIMIT_EXCEEDED",
    )
    assert "Sforce-Limit-Info" in limited.headers
    assert sf.get(f"{V}/sobjects/").status_code == 200


def test_error_500_is_unknown_exception_and_only_matches_its_method(sf: httpx.Client) -> None:
    add_fault(sf, path="/services/data/*", method="POST", status=500)
    assert sf.get(f"{V}/sobjects/").status_code == 200
    failed = sf.post(f"{V}/sobjects/Account/", json={"Name": "x"})
    assert (failed.status_code, error_code(failed)) == (500, "UNKNOWN_EXCEPTION")
    rows = sf.get(f"{V}/query", params={"q": "SELECT Id FROM Account"}).json()
    assert rows["totalSize"] == 0  # the failed create wrote nothing


def test_latency_delays_then_serves_normally(sf: httpx.Client) -> None:
    add_fault(sf, path="/services/data/*", kind="latency", latency_ms=400)
    started = time.monotonic()
    slow = sf.post(f"{V}/sobjects/Account/", json={"Name": "slow"})
    slow_elapsed = time.monotonic() - started
    started = time.monotonic()
    fast = sf.post(f"{V}/sobjects/Account/", json={"Name": "fast"})
    fast_elapsed = time.monotonic() - started
    assert (slow.status_code, fast.status_code) == (201, 201)
    assert slow_elapsed >= 0.4 > fast_elapsed


def test_timeout_holds_the_request_past_the_client_deadline(sf: httpx.Client) -> None:
    add_fault(sf, path="/services/data/*", kind="timeout", hang_seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        sf.get(f"{V}/sobjects/", timeout=0.3)
    assert sf.get(f"{V}/sobjects/", timeout=2).status_code == 200


def test_commit_then_drop_answers_500_but_the_record_exists(sf: httpx.Client) -> None:
    add_fault(sf, path="/services/data/*/sobjects/Account*", method="POST", kind="commit_then_drop")
    dropped = sf.post(f"{V}/sobjects/Account/", json={"Name": "Committed"})
    assert (dropped.status_code, error_code(dropped)) == (500, "UNKNOWN_EXCEPTION")
    rows = sf.get(f"{V}/query", params={"q": "SELECT Name FROM Account"}).json()["records"]
    assert [r["Name"] for r in rows] == ["Committed"]


def test_without_rules_or_after_clearing_nothing_fails(sf: httpx.Client) -> None:
    httpx.delete(f"{sf.base_url}/__sandbox/faults").raise_for_status()
    assert set(statuses(sf, 10, "v58.0")) == {200}
    assert set(statuses(sf, 10)) == {200}
    add_fault(sf, path="/services/data/*", status=503, probability=0.9)
    assert 503 in statuses(sf, 10)
    assert httpx.delete(f"{sf.base_url}/__sandbox/faults").json()["data"] == []
    assert set(statuses(sf, 20)) == {200}
