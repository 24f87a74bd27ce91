"""The exception queue's actions over HTTP with a real Redis and PostgreSQL: filters and paging, retry
re-publishing the flow's event (the worker's success resolves the record), resolve and reassign with
their full history kept, an audit row per action, and the problems an operator gets for an unknown
id, a forbidden transition or an unknown owner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
import redis as sync_redis

# Starlette warns once per run that its TestClient wants httpx2; httpx2 is not installed because
# the netsuite SDK the conformance suite runs breaks beside it (test_netsuite_sdk.py says how).
from fastapi.testclient import TestClient
from redis.asyncio import Redis
from revbridge_contracts.events import EventEnvelope
from revbridge_contracts.process import ErrorClass
from revbridge_db.audit import AuditFilter, page
from revbridge_db.settings import DbSettings
from revbridge_process.app import create_app
from revbridge_process.consumer import Outcome
from revbridge_process.exception_queue import Filters
from revbridge_process.settings import Settings
from revbridge_process.store import PgStore
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.process.support import make_consumer, make_store, repo_config
from tests.support.procs import free_port
from tests.support.redis import REDIS_URL
from tests.unit.process.fakes import FakeSystem, account, contract

CONTRACT = "800000000000001"


@pytest.fixture
def client(prefix: str, database_url: str) -> Iterator[TestClient]:
    settings = Settings(
        REDIS_URL=REDIS_URL, REVBRIDGE_KEY_PREFIX=prefix, system_api_url=f"http://127.0.0.1:{free_port()}"
    )
    app = create_app(settings, repo_config(), DbSettings(DATABASE_URL=database_url))
    with TestClient(app) as test_client:
        yield test_client


def _store(client: TestClient) -> PgStore:
    return client.app.state.store  # type: ignore[attr-defined,no-any-return]


def _engine(client: TestClient) -> AsyncEngine:
    return client.app.state.engine  # type: ignore[attr-defined,no-any-return]


def _record(client: TestClient, flow: str, key: str, error_class: ErrorClass, **kw: str) -> str:
    store = _store(client)
    assert client.portal is not None
    return client.portal.call(lambda: store.record_exception(flow, key, error_class, "why", **kw)).id


def _entries(prefix: str, stream: str) -> list[EventEnvelope]:
    with sync_redis.Redis.from_url(REDIS_URL, decode_responses=True) as r:
        return [EventEnvelope.from_fields(fields) for _, fields in r.xrange(f"{prefix}events:{stream}")]


def test_list_filters_by_owner_class_key_and_overdue_and_pages(client: TestClient) -> None:
    _record(client, "onboarding", CONTRACT, ErrorClass.mapping_missing)  # revops, due in 24 h
    _record(client, "invoice_posting", "in_1", ErrorClass.conflict)  # finance-ops
    for n in range(3):
        _record(client, "onboarding", f"80000000000010{n}", ErrorClass.tax_code_missing)  # tax-ops

    def keys(**params: object) -> list[str]:
        return sorted(r["business_key"] for r in client.get("/v1/exceptions", params=params).json()["items"])

    assert keys(owner="finance-ops") == ["in_1"]
    assert keys(error_class="mapping_missing") == [CONTRACT]
    assert keys(business_key="in_1", flow="invoice_posting") == ["in_1"]
    assert keys(overdue="true") == []
    bad = client.get("/v1/exceptions", params={"error_class": "nonsense"})
    assert bad.status_code == 422 and bad.json()["invalid_params"][0]["name"] == "query.error_class"
    typo = client.get("/v1/exceptions", params={"ownr": "revops"})  # never "everything" by mistake
    assert typo.status_code == 422 and typo.json()["invalid_params"][0]["name"] == "query.ownr"

    first = client.get("/v1/exceptions", params={"limit": 2}).json()
    second = client.get("/v1/exceptions", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = client.get("/v1/exceptions", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    ids = [r["id"] for page in (first, second, third) for r in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None


def test_overdue_lists_live_records_past_their_sla(client: TestClient, prefix: str) -> None:
    _record(client, "invoice_posting", "in_late", ErrorClass.upstream_unavailable)  # paged after 1 h
    _record(client, "onboarding", CONTRACT, ErrorClass.upstream_unavailable)  # 4 h SLA
    _record(client, "onboarding", "800000000000009", ErrorClass.upstream_unavailable)
    client.post("/v1/exceptions/onboarding:800000000000009/resolve", json={"note": "gone"})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)

    async def overdue_in_two_hours() -> list[str]:
        redis = Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            store = make_store(_engine(client), redis, prefix, now=lambda: later)
            return [r.business_key for r in await store.list_exceptions(filters=Filters(overdue=True))]
        finally:
            await redis.aclose()

    assert client.portal is not None
    assert client.portal.call(overdue_in_two_hours) == ["in_late"]


def test_retry_republishes_the_event_and_the_workers_success_resolves_it(
    client: TestClient, prefix: str
) -> None:
    record_id = _record(client, "invoice_posting", "in_9", ErrorClass.upstream_unavailable, account="eu")
    answer = client.post(f"/v1/exceptions/{record_id}/retry", headers={"X-Revbridge-Client-Id": "ops-1"})
    assert answer.status_code == 202 and answer.json()["status"] == "retrying"
    assert [(h["action"], h.get("by")) for h in answer.json()["history"]] == [
        ("opened", "worker"),
        ("retry", "ops-1"),
    ]
    [published] = _entries(prefix, "billing")
    assert (published.type.value, published.subject, published.account, published.source) == (
        "billing.invoice.finalized",
        "in_9",
        "eu",
        "process.retry",
    )

    system = FakeSystem()
    system.add(contract(CONTRACT), account())
    assert client.portal is not None

    async def run_worker() -> list[Outcome]:
        redis = Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            consumer, _ = make_consumer(redis, prefix, _engine(client), system)
            await consumer.ensure_groups()
            return await consumer.read_new(block_ms=100)
        finally:
            await redis.aclose()

    outcomes = client.portal.call(run_worker)
    assert outcomes == [Outcome.failed]  # the fake has no such invoice: failed again, reopened
    reopened = client.get(f"/v1/exceptions/{record_id}").json()
    assert reopened["status"] == "open" and reopened["history"][-1]["action"] == "retry_failed"

    onboarding_id = _record(client, "onboarding", CONTRACT, ErrorClass.upstream_unavailable)
    assert client.post(f"/v1/exceptions/{onboarding_id}/retry").status_code == 202
    assert client.portal.call(run_worker) == [Outcome.done]
    resolved = client.get(f"/v1/exceptions/{onboarding_id}").json()
    assert resolved["status"] == "resolved" and resolved["history"][-1]["action"] == "resolved_by_flow"
    again = client.post(f"/v1/exceptions/{onboarding_id}/retry")
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"

    # the steps the worker took by itself are in the audit trail too, beside the operator's retries
    trail = client.portal.call(lambda: page(_engine(client), AuditFilter()))[::-1]
    assert [(r["source"], r["operation"], r["actor"], r["business_key"]) for r in trail] == [
        ("worker", "exception.opened", "worker", record_id),
        ("process", "exception.retry", None, record_id),
        ("worker", "exception.retry_failed", "worker", record_id),
        ("worker", "exception.opened", "worker", onboarding_id),
        ("process", "exception.retry", None, onboarding_id),
        ("worker", "exception.resolved_by_flow", "worker", onboarding_id),
        ("process", "exception.retry", None, onboarding_id),
    ]


def test_resolve_and_reassign_keep_history_and_refuse_what_the_lifecycle_forbids(client: TestClient) -> None:
    record_id = _record(client, "onboarding", CONTRACT, ErrorClass.mapping_missing)
    unknown_owner = client.post(f"/v1/exceptions/{record_id}/reassign", json={"owner": "nobody"})
    assert unknown_owner.status_code == 422
    assert unknown_owner.json()["invalid_params"] == [
        {"name": "owner", "reason": unknown_owner.json()["invalid_params"][0]["reason"]}
    ]
    moved = client.post(f"/v1/exceptions/{record_id}/reassign", json={"owner": "tax-ops", "note": "VAT"})
    assert moved.status_code == 200 and moved.json()["owner"] == "tax-ops"
    _record(client, "onboarding", CONTRACT, ErrorClass.mapping_missing)  # the same failure again
    assert client.get(f"/v1/exceptions/{record_id}").json()["owner"] == "tax-ops"  # reassignment holds

    assert client.post(f"/v1/exceptions/{record_id}/resolve", json={}).status_code == 422
    done = client.post(f"/v1/exceptions/{record_id}/resolve", json={"note": "mapping added"})
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert [h["action"] for h in done.json()["history"]] == ["opened", "reassign", "resolve"]
    assert done.json()["history"][-2]["by"] == "operator"  # no gateway headers: the operator's own call
    assert done.json()["history"][-1]["note"] == "mapping added"
    assert client.post(f"/v1/exceptions/{record_id}/resolve", json={"note": "x"}).status_code == 409
    assert client.post(f"/v1/exceptions/{record_id}/reassign", json={"owner": "revops"}).status_code == 409

    missing = client.post("/v1/exceptions/onboarding:nope/resolve", json={"note": "x"})
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/exceptions/onboarding:nope").status_code == 404


def test_intake_records_have_nothing_to_retry_and_a_slash_in_the_key_is_addressable(
    client: TestClient,
) -> None:
    record_id = _record(client, "intake", "rb:events:crm/1-0", ErrorClass.bad_event)
    assert "/" not in record_id
    path = f"/v1/exceptions/{record_id}"
    assert client.get(path).json()["business_key"] == "rb:events:crm/1-0"
    refused = client.post(f"{path}/retry")
    assert refused.status_code == 409 and "intake" in refused.json()["detail"]
    assert client.get(path).json()["status"] == "open"


def test_resolved_records_and_their_whole_history_are_kept(client: TestClient, prefix: str) -> None:
    record_id = _record(client, "onboarding", CONTRACT, ErrorClass.mapping_missing)
    for n in range(3):
        client.post(f"/v1/exceptions/{record_id}/reassign", json={"owner": ("tax-ops", "revops")[n % 2]})
    client.post(f"/v1/exceptions/{record_id}/resolve", json={"note": "done"})
    with sync_redis.Redis.from_url(REDIS_URL) as r:
        assert list(r.scan_iter(match=f"{prefix}process:exception*")) == []  # nothing of it in Redis

    kept = client.get(f"/v1/exceptions/{record_id}").json()
    assert kept["status"] == "resolved"
    assert [h["action"] for h in kept["history"]] == ["opened", "reassign", "reassign", "reassign", "resolve"]
    assert kept["history"][-1]["note"] == "done" and all(h["at"] for h in kept["history"])
    assert [r["id"] for r in client.get("/v1/exceptions", params={"status": "resolved"}).json()["items"]] == [
        record_id
    ]

    _record(client, "onboarding", CONTRACT, ErrorClass.mapping_missing)  # seen again: reopened
    reopened = client.get(f"/v1/exceptions/{record_id}").json()
    assert (reopened["status"], reopened["attempts"], reopened["owner"]) == ("open", 1, "revops")
    assert [h["action"] for h in reopened["history"]][-3:] == ["reassign", "resolve", "opened"]
    assert len(reopened["history"]) == 6  # the earlier life's history is kept


def test_exceptions_and_statuses_survive_losing_redis(client: TestClient, prefix: str) -> None:
    record_id = _record(client, "invoice_posting", "in_flush", ErrorClass.conflict)
    client.post(f"/v1/exceptions/{record_id}/resolve", json={"note": "posted by hand"})
    client.post("/v1/onboardings", json={"contract_id": CONTRACT}, headers={"Idempotency-Key": "flush-1"})
    with sync_redis.Redis.from_url(REDIS_URL) as r:  # FLUSHALL, for this test's keys
        keys = list(r.scan_iter(match=f"{prefix}*"))
        assert keys and r.delete(*keys) == len(keys)

    kept = client.get(f"/v1/exceptions/{record_id}").json()
    assert kept["status"] == "resolved" and [h["action"] for h in kept["history"]] == ["opened", "resolve"]
    assert client.get(f"/v1/onboardings/{CONTRACT}").json()["state"] == "queued"
    assert [r["id"] for r in client.get("/v1/exceptions").json()["items"]] == [record_id]


def test_the_onboarding_status_never_expires_and_idempotency_keys_do(client: TestClient, prefix: str) -> None:
    client.post("/v1/onboardings", json={"contract_id": CONTRACT}, headers={"Idempotency-Key": "ttl-1"})
    with sync_redis.Redis.from_url(REDIS_URL) as r:
        assert r.ttl(f"{prefix}process:onboarding:{CONTRACT}") == -2  # not in Redis at all
        key_ttl = r.ttl(f"{prefix}process:idempotency:onboarding:ttl-1")
    assert 0 < key_ttl <= 86_400
    assert client.get(f"/v1/onboardings/{CONTRACT}").json()["state"] == "queued"


def test_every_action_appends_an_audit_row_with_who_and_the_outcome(client: TestClient) -> None:
    record_id = _record(client, "onboarding", "800000000000077", ErrorClass.upstream_unavailable)
    user = {"X-Revbridge-Client-Id": "revops-web", "X-Revbridge-User": "ana@example.com"}
    machine = {"X-Revbridge-Client-Id": "ops-bot"}
    assert client.post(f"/v1/exceptions/{record_id}/retry", headers=user).status_code == 202
    assert (
        client.post(
            f"/v1/exceptions/{record_id}/reassign", json={"owner": "nobody"}, headers=user
        ).status_code
        == 422
    )
    moved = client.post(f"/v1/exceptions/{record_id}/reassign", json={"owner": "tax-ops"}, headers=machine)
    assert moved.status_code == 200
    assert (
        client.post(f"/v1/exceptions/{record_id}/resolve", json={"note": "fixed"}, headers=user).status_code
        == 200
    )
    assert (
        client.post(f"/v1/exceptions/{record_id}/resolve", json={"note": "again"}, headers=user).status_code
        == 409
    )
    assert client.post("/v1/exceptions/onboarding:nope/retry", headers=machine).status_code == 404

    assert client.portal is not None
    everything = client.portal.call(lambda: page(_engine(client), AuditFilter()))[::-1]  # oldest first
    opened, *rows = everything
    assert (opened["source"], opened["operation"], opened["actor"], opened["business_key"]) == (
        "worker",
        "exception.opened",
        "worker",
        record_id,
    )
    assert [(r["operation"], r["outcome"], r["actor"], r["client"], r["business_key"]) for r in rows] == [
        ("exception.retry", "ok", "ana@example.com", "revops-web", record_id),
        ("exception.reassign", "invalid", "ana@example.com", "revops-web", record_id),
        ("exception.reassign", "ok", None, "ops-bot", record_id),
        ("exception.resolve", "ok", "ana@example.com", "revops-web", record_id),
        ("exception.resolve", "refused", "ana@example.com", "revops-web", record_id),
        ("exception.retry", "not_found", None, "ops-bot", "onboarding:nope"),
    ]
    assert {r["source"] for r in rows} == {"process"}
    assert [r["status"] for r in rows] == [202, 422, 200, 200, 409, 404]
    assert rows[0]["detail"] == {"from": "open", "to": "retrying"}
    assert rows[2]["detail"] == {"owner": "tax-ops", "from_owner": "integration-ops", "from": "retrying"}
    assert rows[3]["detail"]["note"] == "fixed" and all(r["trace_id"] for r in rows)


def test_the_gateways_user_is_the_actor_and_the_client_only_when_no_user_is_named(client: TestClient) -> None:
    record_id = _record(client, "onboarding", "800000000000042AAA", ErrorClass.mapping_missing)
    by_user = {"X-Revbridge-Client-Id": "revops-web", "X-Revbridge-User": "revops-demo"}
    moved = client.post(f"/v1/exceptions/{record_id}/reassign", json={"owner": "tax-ops"}, headers=by_user)
    assert moved.status_code == 200, moved.text
    by_client = {"X-Revbridge-Client-Id": "revops-dashboard"}
    done = client.post(f"/v1/exceptions/{record_id}/resolve", json={"note": "mapped"}, headers=by_client)
    assert done.status_code == 200, done.text
    assert [(h["action"], h["by"]) for h in done.json()["history"]] == [
        ("opened", "worker"),
        ("reassign", "revops-demo"),
        ("resolve", "revops-dashboard"),
    ]


def test_text_postgresql_cannot_hold_is_not_found_or_kept_replaced_never_a_500(client: TestClient) -> None:
    record_id = _record(client, "onboarding", CONTRACT, ErrorClass.mapping_missing)
    assert client.get("/v1/exceptions/onboarding:a%00b").status_code == 404
    assert client.post("/v1/exceptions/onboarding:a%00b/retry").status_code == 404
    assert client.get("/v1/exceptions", params={"owner": "re\x00vops"}).json()["items"] == []
    assert client.get("/v1/onboardings/8000%00").status_code == 404
    headers = {"X-Revbridge-User": "ana", "Content-Type": "application/json"}
    body = '{"note": "nul \\u0000 byte"}'  # a JSON-escaped NUL: valid JSON, no PostgreSQL text
    done = client.post(f"/v1/exceptions/{record_id}/resolve", content=body, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["history"][-1]["note"] == "nul \ufffd byte"


def test_the_process_api_writes_the_analytics_reference_tables_at_start(
    database_url: str, client: TestClient
) -> None:
    with psycopg.connect(database_url) as conn:
        entities = conn.execute(
            "SELECT entity, currency FROM analytics.ref_legal_entity ORDER BY 1"
        ).fetchall()
        kinds = conn.execute("SELECT product_type, count(*) FROM analytics.ref_product GROUP BY 1 ORDER BY 1")
        assert entities == [
            (code, e.currency) for code, e in sorted(repo_config().mappings.legal_entities.items())
        ]
        assert dict(kinds.fetchall()) == {
            "recurring": len(repo_config().mappings.products),
            "usage": len(repo_config().mappings.meters),
        }
