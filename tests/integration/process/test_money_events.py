"""The new billing events through the real consumer (real Redis, the fake system port): each runs
its flow, duplicates and reorderings converge, and bad ones (objects deleted since, refunds of no
known invoice) are owned exceptions that never block the events behind them."""

from __future__ import annotations

import datetime as dt

import pytest
from redis.asyncio import Redis
from revbridge_contracts.events import EventType
from revbridge_contracts.models import ErpCustomerUpsert
from revbridge_contracts.process import ErrorClass
from revbridge_process.bus import EventBus
from revbridge_process.consumer import Outcome
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.process.support import event, make_consumer, pending_count
from tests.unit.process.fakes import NOW, FakeSystem, account, contract, invoice
from tests.unit.process.fakes_money import credit_note, open_invoice, refund

pytestmark = pytest.mark.anyio
CONTRACT = "800000000000001"


def _world() -> FakeSystem:
    system = FakeSystem()
    system.add(contract(CONTRACT), account())
    system.erp_customers["001A"] = ErpCustomerUpsert(
        name="Globex", subsidiary_id="1", currency="USD", crm_account_id="001A"
    )
    return system


async def test_refund_and_credit_note_in_any_order_and_twice_post_once(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = _world()
    system.add(invoice("in_1"))
    system.credit_notes["cn_1"] = credit_note(total=50000, post=50000, refund_ids=["re_1"])
    system.refunds["ch_1"] = [refund("re_1", 20000, credit_note_id="cn_1")]
    consumer, _ = make_consumer(redis, prefix, engine, system)
    await consumer.ensure_groups()
    bus = EventBus(redis, prefix)
    for kind, subject in (
        (EventType.charge_refunded, "ch_1"),  # the refund before its credit note
        (EventType.credit_note_created, "cn_1"),
        (EventType.charge_refunded, "ch_1"),
        (EventType.credit_note_created, "cn_1"),
    ):
        await bus.publish(event(kind, subject, account="default"))
    assert await consumer.read_new(block_ms=100) == [Outcome.done] * 4
    assert list(system.erp_credit_memos) == ["cn_1"] and list(system.erp_refunds) == ["re_1"]
    assert await pending_count(redis, consumer.streams[1]) == 0


async def test_payment_failed_past_the_threshold_is_a_collections_exception_resolved_by_payment(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = _world()
    system.add(open_invoice("in_1", attempt_count=3, next_payment_attempt=NOW + dt.timedelta(days=3)))
    consumer, store = make_consumer(redis, prefix, engine, system)
    await consumer.ensure_groups()
    bus = EventBus(redis, prefix)
    await bus.publish(event(EventType.invoice_payment_failed, "in_1", account="default"))
    assert await consumer.read_new(block_ms=100) == [Outcome.failed]
    record = await store.get_exception("invoice_dunning", "in_1")
    assert record is not None and record.error_class == ErrorClass.payment_overdue
    assert record.owner == "collections" and record.status == "open"
    assert system.contracts[CONTRACT].billing_status == "past_due"

    system.invoices["default"]["in_1"] = invoice("in_1", attempt_count=3)  # paid at last
    await bus.publish(event(EventType.invoice_paid, "in_1", account="default"))
    assert await consumer.read_new(block_ms=100) == [Outcome.done]
    record = await store.get_exception("invoice_dunning", "in_1")
    assert record is not None and record.status == "resolved"
    assert system.contracts[CONTRACT].billing_status == "active"


async def test_events_about_deleted_or_unknown_objects_are_owned_and_the_next_flows(
    redis: Redis, prefix: str, engine: AsyncEngine
) -> None:
    system = _world()
    system.add(open_invoice("in_ok", status="void", voided_at=NOW))
    system.refunds["ch_orphan"] = [refund("re_9", invoice_id="in_gone")]
    consumer, store = make_consumer(redis, prefix, engine, system)
    await consumer.ensure_groups()
    bus = EventBus(redis, prefix)
    for kind, subject in (
        (EventType.credit_note_created, "cn_deleted"),  # the system API answers 404
        (EventType.charge_refunded, "ch_orphan"),  # refunds an invoice billing no longer has
        (EventType.invoice_payment_failed, "in_deleted"),
        (EventType.invoice_voided, "in_ok"),
    ):
        await bus.publish(event(kind, subject, account="default"))
    assert await consumer.read_new(block_ms=100) == [Outcome.failed] * 3 + [Outcome.done]
    for flow, key in (
        ("credit_posting", "cn_deleted"),
        ("refund_posting", "ch_orphan"),
        ("invoice_dunning", "in_deleted"),
    ):
        record = await store.get_exception(flow, key)
        assert record is not None and record.error_class == ErrorClass.validation, (flow, key)
        assert "not found" in record.reason
    assert list(system.erp_credit_memos) == ["in_ok:writeoff"]
    assert await pending_count(redis, consumer.streams[1]) == 0
