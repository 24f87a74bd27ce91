"""The process API over HTTP with a real Redis and PostgreSQL: starting onboarding publishes one
notification per request (Idempotency-Key replays publish nothing), statuses and exceptions read back,
and a database that does not answer is a 503 problem."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis as sync_redis
from anyio.from_thread import BlockingPortal

# Starlette warns once per run that its TestClient wants httpx2; httpx2 is not installed because
# the netsuite SDK the conformance suite runs breaks beside it (test_netsuite_sdk.py says how).
from fastapi.testclient import TestClient
from revbridge_contracts.events import EventEnvelope
from revbridge_contracts.process import ErrorClass, FlowState, OnboardingStatus
from revbridge_db.engine import create_engine
from revbridge_db.settings import DbSettings
from revbridge_process.app import create_app
from revbridge_process.settings import Settings
from revbridge_process.store import PgStore, utcnow

from tests.integration.process.support import repo_config
from tests.support.procs import free_port
from tests.support.redis import REDIS_URL

CONTRACT = "800000000000001"


@pytest.fixture
def client(prefix: str, database_url: str) -> Iterator[TestClient]:
    settings = Settings(
        REDIS_URL=REDIS_URL, REVBRIDGE_KEY_PREFIX=prefix, system_api_url=f"http://127.0.0.1:{free_port()}"
    )
    app = create_app(settings, repo_config(), DbSettings(DATABASE_URL=database_url))
    with TestClient(app) as test_client:
        yield test_client


def _store_and_portal(client: TestClient) -> tuple[PgStore, BlockingPortal]:
    """The app's own store, called on the app's event loop."""
    assert client.portal is not None
    return client.app.state.store, client.portal  # type: ignore[attr-defined]


def _crm_entries(prefix: str) -> list[EventEnvelope]:
    with sync_redis.Redis.from_url(REDIS_URL, decode_responses=True) as r:
        return [EventEnvelope.from_fields(fields) for _, fields in r.xrange(f"{prefix}events:crm")]


def test_start_onboarding_publishes_once_per_idempotency_key(client: TestClient, prefix: str) -> None:
    headers = {"Idempotency-Key": "k-1", "X-Correlation-Id": "corr-api"}
    first = client.post("/v1/onboardings", json={"contract_id": CONTRACT}, headers=headers)
    assert first.status_code == 202 and first.json()["state"] == "queued"
    replay = client.post("/v1/onboardings", json={"contract_id": CONTRACT}, headers=headers)
    assert replay.status_code == 202

    [published] = _crm_entries(prefix)
    assert (published.type.value, published.source, published.subject) == (
        "crm.contract.activated",
        "api",
        CONTRACT,
    )
    assert published.correlation_id == "corr-api" and published.traceparent

    reused = client.post("/v1/onboardings", json={"contract_id": "800000000000002"}, headers=headers)
    assert reused.status_code == 400 and reused.headers["content-type"] == "application/problem+json"
    assert client.get(f"/v1/onboardings/{CONTRACT}").json()["state"] == "queued"


def test_redrive_of_done_contract_keeps_done_and_publishes(client: TestClient, prefix: str) -> None:
    store, portal = _store_and_portal(client)
    done = OnboardingStatus(
        contract_id=CONTRACT, state=FlowState.done, erp_customer_id="C-1", updated_at=utcnow()
    )
    portal.call(store.put_status, done)
    answer = client.post("/v1/onboardings", json={"contract_id": CONTRACT})
    assert answer.status_code == 202 and answer.json()["state"] == "done"
    assert len(_crm_entries(prefix)) == 1
    keyed = client.post("/v1/onboardings", json={"contract_id": CONTRACT}, headers={"Idempotency-Key": "new"})
    assert keyed.status_code == 202 and len(_crm_entries(prefix)) == 2  # a new key is a new request


def test_unknown_onboarding_and_bad_request_are_problems(client: TestClient) -> None:
    missing = client.get("/v1/onboardings/800000000000999")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    invalid = client.post("/v1/onboardings", json={"contract_id": "short"})
    assert invalid.status_code == 422 and invalid.json()["invalid_params"][0]["name"] == "contract_id"


def test_exceptions_filter_by_flow_and_status(client: TestClient) -> None:
    store, portal = _store_and_portal(client)
    portal.call(store.record_exception, "onboarding", CONTRACT, ErrorClass.mapping_missing, "no WIDGET")
    portal.call(store.record_exception, "invoice_posting", "in_1", ErrorClass.conflict, "409")
    portal.call(store.resolve_exception, "invoice_posting", "in_1")

    everything = client.get("/v1/exceptions").json()["items"]
    assert {r["flow"] for r in everything} == {"onboarding", "invoice_posting"}
    [open_one] = client.get("/v1/exceptions", params={"status": "open"}).json()["items"]
    assert (open_one["business_key"], open_one["owner"], open_one["error_class"]) == (
        CONTRACT,
        "revops",
        "mapping_missing",
    )
    [posting] = client.get("/v1/exceptions", params={"flow": "invoice_posting"}).json()["items"]
    assert posting["status"] == "resolved"


def test_a_database_that_does_not_answer_is_a_503_problem(client: TestClient) -> None:
    store, portal = _store_and_portal(client)
    portal.call(store.record_exception, "onboarding", CONTRACT, ErrorClass.mapping_missing, "no WIDGET")
    portal.call(store.engine.dispose)
    real = store.engine
    store.engine = create_engine(url="postgresql://postgres@127.0.0.1:1/nowhere")  # nothing listens on 1
    store._wait = 0.3  # how long a write waits for the database before it gives up
    record = f"/v1/exceptions/onboarding:{CONTRACT}"
    try:
        for path in ("/v1/exceptions", record, f"/v1/onboardings/{CONTRACT}"):
            started = time.monotonic()
            answer = client.get(path)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert time.monotonic() - started < 2  # a read does not wait
        assert client.post(f"{record}/resolve", json={"note": "x"}).status_code == 503
    finally:
        portal.call(store.engine.dispose)
        store.engine = real
    assert client.get(f"/v1/exceptions/onboarding:{CONTRACT}").json()["status"] == "open"
