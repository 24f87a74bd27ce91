"""Replays over HTTP with a real Redis: dead-lettered entries go back to their stream with a fresh
envelope id and leave the dead-letter stream; a business key's event is published on demand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as sync_redis

# Starlette warns once per run that its TestClient wants httpx2; httpx2 is not installed because
# the netsuite SDK the conformance suite runs breaks beside it (test_netsuite_sdk.py says how).
from fastapi.testclient import TestClient
from redis.asyncio import Redis
from revbridge_contracts.events import EventEnvelope, EventType
from revbridge_db.settings import DbSettings
from revbridge_process.app import create_app
from revbridge_process.consumer import Outcome
from revbridge_process.dispatch import FLOW_OF, FLOWS
from revbridge_process.settings import Settings

from tests.integration.process.support import event, make_consumer, repo_config
from tests.support.procs import free_port
from tests.support.redis import REDIS_URL
from tests.unit.process.fakes import FakeSystem


@pytest.fixture
def client(prefix: str, database_url: str) -> Iterator[TestClient]:
    settings = Settings(
        REDIS_URL=REDIS_URL, REVBRIDGE_KEY_PREFIX=prefix, system_api_url=f"http://127.0.0.1:{free_port()}"
    )
    app = create_app(settings, repo_config(), DbSettings(DATABASE_URL=database_url))
    with TestClient(app) as test_client:
        yield test_client


def dead_letter(client: TestClient, prefix: str, envelopes: list[EventEnvelope]) -> None:
    """Dead-letter each envelope the way the worker does after too many deliveries."""

    async def poison() -> None:
        redis = Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            engine = client.app.state.engine  # type: ignore[attr-defined]
            consumer, _ = make_consumer(redis, prefix, engine, FakeSystem(), max_deliveries=1)
            for envelope in envelopes:
                stream = f"{prefix}{envelope.stream.value}"
                entry_id = await redis.xadd(stream, envelope.to_fields())  # type: ignore[arg-type]
                outcome = await consumer.handle(stream, entry_id, envelope.to_fields(), deliveries=2)
                assert outcome == Outcome.dead_lettered
        finally:
            await redis.aclose()

    assert client.portal is not None
    client.portal.call(poison)


def stream(prefix: str, name: str) -> list[tuple[str, dict[str, str]]]:
    with sync_redis.Redis.from_url(REDIS_URL, decode_responses=True) as r:
        return list(r.xrange(f"{prefix}{name}"))  # type: ignore[arg-type]


def test_dead_letters_replay_by_id_then_all_with_fresh_ids(client: TestClient, prefix: str) -> None:
    envelopes = [
        event(EventType.invoice_finalized, "in_1", account="default"),
        event(EventType.contract_activated, "800000000000001"),
        event(EventType.invoice_paid, "in_2"),
    ]
    dead_letter(client, prefix, envelopes)
    page = client.get("/v1/dead-letters", params={"limit": 2}).json()
    rest = client.get("/v1/dead-letters", params={"cursor": page["next_cursor"]}).json()
    listed = page["items"] + rest["items"]
    assert [d["subject"] for d in listed] == ["in_1", "800000000000001", "in_2"] and rest[
        "next_cursor"
    ] is None
    assert listed[0]["stream"] == f"{prefix}events:billing" and "delivered 2 times" in listed[0]["reason"]
    billing_before = len(stream(prefix, "events:billing"))

    one = client.post("/v1/replays", json={"source": "dead_letter", "ids": [listed[0]["id"], "1-1"]})
    assert one.status_code == 202 and one.json()["missing"] == ["1-1"]
    [replayed] = one.json()["replayed"]
    assert replayed["dead_letter_id"] == listed[0]["id"] and replayed["stream"] == f"{prefix}events:billing"
    entry_id, fields = stream(prefix, "events:billing")[-1]
    assert entry_id == replayed["entry_id"] and len(stream(prefix, "events:billing")) == billing_before + 1
    again = EventEnvelope.from_fields(fields)  # a valid envelope again, with a fresh id
    assert again.id != envelopes[0].id and again.id == replayed["event_id"]
    assert (again.subject, again.account, again.correlation_id) == (
        "in_1",
        "default",
        envelopes[0].correlation_id,
    )

    rest_of_them = client.post("/v1/replays", json={"source": "dead_letter", "all": True}).json()
    assert sorted(r["stream"].removeprefix(prefix) for r in rest_of_them["replayed"]) == [
        "events:billing",
        "events:crm",
    ]
    assert stream(prefix, "events:dead-letter") == []
    assert client.get("/v1/dead-letters").json() == {"items": [], "next_cursor": None}


def test_business_key_replay_publishes_the_flows_event(client: TestClient, prefix: str) -> None:
    answer = client.post(
        "/v1/replays",
        json={"source": "business_key", "flow": "invoice_posting", "business_key": "in_7", "account": "eu"},
        headers={"X-Correlation-Id": "corr-replay"},
    )
    assert answer.status_code == 202
    [(_, fields)] = stream(prefix, "events:billing")
    published = EventEnvelope.from_fields(fields)
    assert (published.type, published.subject, published.account, published.source) == (
        EventType.invoice_finalized,
        "in_7",
        "eu",
        "process.replay",
    )
    assert published.correlation_id == "corr-replay"


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_every_flow_the_worker_runs_replays_by_business_key(
    client: TestClient, prefix: str, flow: str
) -> None:
    """Void, uncollectible, credit notes, refunds and dunning as well as onboarding and posting: the
    event published is the one the worker routes to that flow (the dispatch table), never drifting."""
    answer = client.post(
        "/v1/replays",
        json={"source": "business_key", "flow": flow, "business_key": "key_1", "account": "uk"},
    )
    assert answer.status_code == 202, answer.text
    [entry] = answer.json()["replayed"]
    published = EventEnvelope.from_fields(stream(prefix, entry["stream"].removeprefix(prefix))[-1][1])
    assert FLOW_OF[published.type] == flow
    assert (published.subject, published.account) == ("key_1", "uk")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "dead_letter"}, "dead_letter"),
        ({"source": "dead_letter", "ids": ["1-0"], "all": True}, "dead_letter"),
        ({"source": "business_key", "flow": "payroll", "business_key": "x"}, "business_key.flow"),
        ({"source": "time_range"}, "body"),  # the detail says the 'source' tag matches no replay
    ],
)
def test_invalid_replay_requests_name_the_field(client: TestClient, body: dict, field: str) -> None:
    answer = client.post("/v1/replays", json=body)
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert any(p["name"].startswith(field) for p in answer.json()["invalid_params"]), answer.json()
