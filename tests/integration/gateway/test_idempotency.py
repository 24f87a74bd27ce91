"""Idempotency-Key on startOnboarding (``x-idempotency: required``), stored in the real Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import redis
from revbridge_gateway.idempotency import KEEP_SECONDS, fingerprint

from tests.support.redis import REDIS_URL

from .conftest import InProcess, Upstream, in_process_gateway

pytestmark = pytest.mark.integration

ONBOARDINGS = "/process/v1/onboardings"
BODY = {"contract_id": "800000000000001AAA"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory) -> Iterator[tuple[InProcess, Upstream]]:
    with (
        Upstream().serving() as upstream,
        in_process_gateway(tmp_path_factory.mktemp("keys"), process_url=upstream.url) as gateway,
    ):
        yield gateway, upstream


def post(gw: InProcess, key: str | None, body: object = BODY, client: str = "partner-demo"):
    headers = {"Idempotency-Key": key} if key else {}
    return gw.call("POST", ONBOARDINGS, gw.token(client), json=body, headers=headers)


def test_missing_key_is_400_and_nothing_reaches_upstream(gw):
    gateway, upstream = gw
    before = len(upstream.seen)
    response = post(gateway, None)
    assert response.status_code == 400
    assert response.json()["type"].endswith("idempotency_key_missing")
    assert len(upstream.seen) == before


def test_repeat_returns_the_stored_answer_without_calling_upstream_again(gw):
    gateway, upstream = gw
    key = uuid.uuid4().hex
    first = post(gateway, key)
    calls = len(upstream.seen)
    again = post(gateway, key, body={"contract_id": BODY["contract_id"]})  # same body, new token
    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(upstream.seen) == calls


def test_stored_answer_is_kept_24_hours_per_client(gw):
    gateway, _ = gw
    key = uuid.uuid4().hex
    post(gateway, key)
    store = gateway.client.app.state.gateway.idempotency
    r = redis.Redis.from_url(REDIS_URL)
    try:
        ttl = r.ttl(store.key("partner-demo", key))
    finally:
        r.close()
    assert KEEP_SECONDS - 60 < ttl <= KEEP_SECONDS


def test_same_key_with_a_different_body_is_422(gw):
    gateway, _ = gw
    key = uuid.uuid4().hex
    assert post(gateway, key).status_code == 202
    response = post(gateway, key, body={"contract_id": "800000000000002BBB"})
    assert response.status_code == 422
    assert response.json()["type"].endswith("idempotency_mismatch")


def test_same_key_while_the_first_call_runs_is_409(gw):
    gateway, upstream = gw
    key = uuid.uuid4().hex
    store = gateway.client.app.state.gateway.idempotency
    marker = {"state": "running", "fp": fingerprint("POST", "/v1/onboardings", BODY, b""), "owner": "other"}
    r = redis.Redis.from_url(REDIS_URL)
    try:  # another replica has claimed the key and is calling the process API right now
        r.set(store.key("partner-demo", key), json.dumps(marker), ex=60)
    finally:
        r.close()
    before = len(upstream.seen)
    response = post(gateway, key)
    assert response.status_code == 409
    assert response.json()["type"].endswith("idempotency_in_flight")
    assert len(upstream.seen) == before


def test_keys_are_per_client(gw):
    gateway, _ = gw
    key = uuid.uuid4().hex
    assert post(gateway, key).status_code == 202
    # a token minted directly for another (internal) client with the write scope
    token = gateway.token("revops-dashboard", ["onboarding:write"])
    other = gateway.call(
        "POST",
        ONBOARDINGS,
        token,
        json={"contract_id": "800000000000002BBB"},
        headers={"Idempotency-Key": key},
    )
    assert other.status_code == 202 and "idempotent-replayed" not in other.headers  # not a 422: its own key


def test_upstream_failure_releases_the_key_so_a_retry_runs(gw):
    gateway, upstream = gw
    key = uuid.uuid4().hex
    upstream.status = 500
    try:
        failed = post(gateway, key)
    finally:
        upstream.status = 202
    before = len(upstream.seen)
    retried = post(gateway, key)
    assert failed.status_code == 500
    assert retried.status_code == 202 and "idempotent-replayed" not in retried.headers
    assert len(upstream.seen) == before + 1
