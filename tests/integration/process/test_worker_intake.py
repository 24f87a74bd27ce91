"""The worker's message handling against a real Redis: bad envelopes and business failures are
recorded with owners and acknowledged, and the events behind them keep flowing."""

from __future__ import annotations

import datetime as dt

import pytest
from redis.asyncio import Redis
from revbridge_contracts.events import EventType
from revbridge_contracts.models import ContractLine
from revbridge_contracts.process import ErrorClass, FlowState
from revbridge_contracts.telemetry import correlation_id
from revbridge_process.bus import EventBus
from revbridge_process.consumer import Outcome
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.process.support import event, make_consumer, pending_count
from tests.unit.process.fakes import FakeSystem, account, contract

pytestmark = pytest.mark.anyio
GOOD, BAD = "800000000000001", "800000000000002"


def _system() -> FakeSystem:
    system = FakeSystem()
    widget = [ContractLine(id="W1", product_code="WIDGET", quantity=1, unit_amount=10, amount=10)]
    system.add(contract(GOOD), contract(BAD, lines=widget), account())
    return system


async def test_bad_envelope_is_recorded_acked_and_next_message_processed(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = _system()
    consumer, store = make_consumer(redis, prefix, engine, system)
    await consumer.ensure_groups()
    crm = consumer.streams[0]
    bad_id = str(await redis.xadd(crm, {"type": "crm.contract.exploded", "subject": GOOD}))
    await EventBus(redis, prefix).publish(event(EventType.contract_activated, GOOD))

    assert await consumer.read_new(block_ms=100) == [Outcome.bad_event, Outcome.done]

    record = await store.get_exception("intake", f"{crm}/{bad_id}")
    assert record is not None and record.error_class == ErrorClass.bad_event
    assert record.owner == "integration-ops" and "type" in record.reason
    assert await pending_count(redis, crm) == 0
    status = await store.get_status(GOOD)
    assert status is not None and status.state == FlowState.done


async def test_mapping_missing_is_an_owned_exception_and_next_event_flows(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = _system()
    consumer, store = make_consumer(redis, prefix, engine, system)
    await consumer.ensure_groups()
    bus = EventBus(redis, prefix)
    await bus.publish(event(EventType.contract_activated, BAD))
    await bus.publish(event(EventType.contract_activated, GOOD))

    assert await consumer.read_new(block_ms=100) == [Outcome.failed, Outcome.done]
    record = await store.get_exception("onboarding", BAD)
    assert record is not None
    assert (record.error_class, record.owner, record.status) == (ErrorClass.mapping_missing, "revops", "open")
    assert "WIDGET" in record.reason
    assert record.sla_due - record.first_seen == dt.timedelta(hours=24)
    assert [w[1] for w in system.writes if w[0] == "upsert_billing_customer"] == ["001A"]  # only GOOD's
    assert await pending_count(redis, consumer.streams[0]) == 0

    await bus.publish(event(EventType.contract_activated, BAD))  # the same failure again
    assert await consumer.read_new(block_ms=100) == [Outcome.failed]
    repeated = await store.list_exceptions(flow="onboarding")
    assert [(r.business_key, r.attempts) for r in repeated] == [(BAD, 2)]
    assert repeated[0].first_seen == record.first_seen and repeated[0].last_seen >= record.last_seen


async def test_handler_continues_the_producers_trace_and_correlation(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    seen: list[tuple[str, str | None]] = []

    class ObservingSystem(FakeSystem):
        async def get_contract(self, contract_id: str):  # type: ignore[no-untyped-def]
            from opentelemetry import trace

            seen.append(
                (format(trace.get_current_span().get_span_context().trace_id, "032x"), correlation_id())
            )
            return await super().get_contract(contract_id)

    system = ObservingSystem()
    system.add(contract(GOOD), account())
    consumer, _ = make_consumer(redis, prefix, engine, system)
    await consumer.ensure_groups()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    await EventBus(redis, prefix).publish(
        event(
            EventType.contract_activated,
            GOOD,
            correlation_id="corr-42",
            traceparent=f"00-{trace_id}-00f067aa0ba902b7-01",
        )
    )
    assert await consumer.read_new(block_ms=100) == [Outcome.done]
    assert seen == [(trace_id, "corr-42")]
