"""Usage through the gateway to the Stripe sandbox's meter: every accepted event counted exactly
once in the meter's event summaries, every refusal named, whatever the partner sends twice, out of
order, late or malformed."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
import redis
from psycopg.rows import dict_row
from revbridge_process.usage.rules import add_months

from tests.integration.usage.conftest import SenderFactory, UsageStack, crm_id, entry_for
from tests.support.procs import wait_until
from tests.support.redis import REDIS_URL

pytestmark = pytest.mark.integration
UTC = dt.UTC


def now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def iso(value: dt.datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def usage(
    contract_id: str, quantity: Any, at: dt.datetime, event_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id or f"evt-{uuid.uuid4().hex[:12]}",
        "contract_id": contract_id,
        "meter": "api_calls",
        "quantity": quantity,
        "timestamp": iso(at),
        **extra,
    }


def results(reply: httpx.Response) -> list[dict[str, Any]]:
    assert reply.status_code == 200, reply.text
    return list(reply.json()["results"])


def test_duplicated_and_reordered_events_are_counted_once(
    usage_stack: UsageStack, sender: SenderFactory
) -> None:
    customer = usage_stack.customer()
    entry = entry_for(customer, now() - dt.timedelta(days=5))
    usage_stack.register(entry)
    t = now() - dt.timedelta(hours=2)
    events = [
        usage(entry.contract_id, str(q), t + dt.timedelta(minutes=i)) for i, q in enumerate(range(1, 21))
    ]
    shuffled = random.Random(7).sample(events, len(events))
    first = results(usage_stack.post_usage({"events": [*shuffled, shuffled[0]]}))  # a repeat in the batch too
    assert [r["status"] for r in first] == ["accepted"] * 20 + ["duplicate"]
    again = results(usage_stack.post_usage({"events": list(reversed(events))}))  # a new Idempotency-Key
    assert {r["status"] for r in again} == {"duplicate"}

    with sender():
        usage_stack.wait_total(customer, float(sum(range(1, 21))))
        usage_stack.wait_drained()
        late_repeat = results(
            usage_stack.post_usage({"events": events[:3]})
        )  # after sending, still duplicates
        assert {r["status"] for r in late_repeat} == {"duplicate"}
        usage_stack.wait_drained()
    assert usage_stack.usage_total(customer) == 210.0


def test_each_bad_event_is_rejected_alone_and_named(usage_stack: UsageStack, sender: SenderFactory) -> None:
    customer = usage_stack.customer()
    entry = entry_for(customer, now() - dt.timedelta(days=5))
    other_meter = entry_for(
        usage_stack.customer(), now() - dt.timedelta(days=5), meters=frozenset({"storage"})
    )
    usage_stack.register(entry)
    usage_stack.register(other_meter)
    t = now() - dt.timedelta(minutes=30)
    c = entry.contract_id
    batch = [
        usage(c, "2.5", t),
        usage(c, "-1", t),
        usage(c, "1", t, timestamp="yesterday"),
        {"event_id": "evt-no-fields"},
        "not an object",
        usage(crm_id("800"), "1", t),
        usage(c, "1", t, meter="storage_gb"),
        usage(other_meter.contract_id, "1", t),
        usage(c, "1", now() - dt.timedelta(days=36)),
        usage(c, "1", now() + dt.timedelta(minutes=10)),
        usage(c, "1", now() - dt.timedelta(days=6)),
        {**usage(c, "1", t), "customer": entry.crm_account_id},
        {k: v for k, v in usage(c, "1", t).items() if k != "contract_id"} | {"customer": crm_id("001")},
        usage(c, "1", t, note="unknown field"),
    ]
    raw = json.dumps({"events": batch}).replace('"2.5"', "0.1").encode()  # one quantity as a JSON number
    answered = results(usage_stack.post_usage(None, raw=raw))
    expected = [
        ("accepted", None, None),
        ("rejected", "negative_quantity", "quantity"),
        ("rejected", "invalid_event", "timestamp"),
        ("rejected", "invalid_event", "meter"),
        ("rejected", "invalid_event", None),
        ("rejected", "unknown_contract", "contract_id"),
        ("rejected", "unknown_meter", "meter"),
        ("rejected", "meter_not_on_contract", "meter"),
        ("rejected", "timestamp_too_old", "timestamp"),
        ("rejected", "timestamp_in_future", "timestamp"),
        ("rejected", "before_billing_start", "timestamp"),
        ("rejected", "invalid_event", "contract_id"),
        ("rejected", "unknown_customer", "customer"),
        ("rejected", "invalid_event", "note"),
    ]
    assert [(r["status"], r["reason"], r["field"]) for r in answered] == expected
    assert all(r["message"] for r in answered[1:])
    assert [r["index"] for r in answered] == list(range(len(batch)))

    exact = [usage(c, 0.1, t + dt.timedelta(seconds=i)) for i in range(1, 3)]  # 0.1 three times: 0.3 exactly
    assert {r["status"] for r in results(usage_stack.post_usage({"events": exact}))} == {"accepted"}
    with sender():
        usage_stack.wait_total(customer, 0.3)
        usage_stack.wait_drained()
    assert usage_stack.usage_total(customer) == 0.3


def test_a_customer_with_one_contract_may_be_named_instead_of_the_contract(
    usage_stack: UsageStack, sender: SenderFactory
) -> None:
    customer = usage_stack.customer()
    entry = entry_for(customer, now() - dt.timedelta(days=5))
    usage_stack.register(entry)
    twice = crm_id("001")
    for _ in range(2):
        usage_stack.register(
            entry_for(usage_stack.customer(), now() - dt.timedelta(days=5), crm_account_id=twice)
        )
    t = now() - dt.timedelta(minutes=5)
    by_customer = {k: v for k, v in usage(entry.contract_id, "4", t).items() if k != "contract_id"}
    ambiguous = {k: v for k, v in usage(entry.contract_id, "4", t).items() if k != "contract_id"}
    answered = results(
        usage_stack.post_usage(
            {"events": [by_customer | {"customer": entry.crm_account_id}, ambiguous | {"customer": twice}]}
        )
    )
    assert [(r["status"], r["reason"]) for r in answered] == [
        ("accepted", None),
        ("rejected", "ambiguous_customer"),
    ]
    with sender():
        usage_stack.wait_total(customer, 4.0)


def test_late_usage_is_billed_in_the_current_period_keeping_its_time(
    usage_stack: UsageStack, sender: SenderFactory
) -> None:
    customer = usage_stack.customer()
    anchor = now() - dt.timedelta(days=40)
    entry = entry_for(customer, anchor)
    usage_stack.register(entry)
    late_at = now() - dt.timedelta(days=20)
    (answer,) = results(usage_stack.post_usage({"events": [usage(entry.contract_id, "7", late_at)]}))
    assert answer["status"] == "accepted"
    start = dt.datetime.fromisoformat(answer["timestamp"])
    assert dt.datetime.fromisoformat(answer["original_timestamp"]) == late_at
    assert start == add_months(anchor, 1)  # the current period: one month after the anchor
    with sender():
        usage_stack.wait_total(customer, 7.0)
    begin = int(start.timestamp()) // 60 * 60
    assert (
        usage_stack.usage_total(customer, start=begin, end=begin + 60) == 7.0
    )  # stamped at the period start
    closed = int(late_at.timestamp()) // 60 * 60
    assert usage_stack.usage_total(customer, start=closed, end=begin) == 0.0  # nothing in the closed period


def test_late_usage_under_the_exception_policy_is_refused_and_held_as_usage_late(
    usage_stack: UsageStack, exception_policy_process_api: str, sender: SenderFactory
) -> None:
    customer = usage_stack.customer()
    entry = entry_for(customer, now() - dt.timedelta(days=40))
    usage_stack.register(entry)
    late = usage(entry.contract_id, "3", now() - dt.timedelta(days=20))
    current = usage(entry.contract_id, "5", now() - dt.timedelta(minutes=1))
    reply = httpx.post(
        f"{exception_policy_process_api}/v1/usage/events",
        json={"events": [late, current]},
        headers={"X-Revbridge-Client-Id": "partner-demo"},
        timeout=30,
    )
    rejected, accepted = results(reply)
    assert (rejected["status"], rejected["reason"]) == ("rejected", "period_closed")
    assert accepted["status"] == "accepted"
    record = httpx.get(f"{exception_policy_process_api}/v1/exceptions/{rejected['exception_id']}").json()
    assert (record["error_class"], record["flow"], record["owner"]) == ("usage_late", "usage", "revops")
    held = json.loads(record["reason"].split("event: ", 1)[1])
    assert (
        held["event_id"] == late["event_id"] and held["quantity"] == "3" and held["sender"] == "partner-demo"
    )
    with sender():
        usage_stack.wait_total(customer, 5.0)
        usage_stack.wait_drained()
    assert usage_stack.usage_total(customer) == 5.0  # the late 3 never reached Stripe


def test_a_test_clock_customer_is_judged_by_the_clocks_time(
    usage_stack: UsageStack, sender: SenderFactory
) -> None:
    frozen = now() + dt.timedelta(days=90)
    clock = usage_stack.sdk.v1.test_helpers.test_clocks.create({"frozen_time": int(frozen.timestamp())}).id
    customer = usage_stack.customer(clock=clock)
    entry = entry_for(customer, frozen - dt.timedelta(days=3), clock=clock)
    usage_stack.register(entry)
    in_clock_time = usage(entry.contract_id, "6", frozen - dt.timedelta(hours=1))
    wall_time = usage(entry.contract_id, "1", now())
    answered = results(usage_stack.post_usage({"events": [in_clock_time, wall_time]}))
    assert [(r["status"], r["reason"]) for r in answered] == [
        ("accepted", None),
        ("rejected", "timestamp_too_old"),
    ]

    usage_stack.sdk.v1.test_helpers.test_clocks.advance(
        clock, {"frozen_time": int(frozen.timestamp()) + 86_400}
    )

    def moved() -> bool:
        late_for_clock = usage(entry.contract_id, "1", frozen + dt.timedelta(hours=23))
        return results(usage_stack.post_usage({"events": [late_for_clock]}))[0]["status"] == "accepted"

    wait_until(moved, timeout=10, message="the advanced clock to be read again")
    with sender():
        start = int((frozen - dt.timedelta(days=1)).timestamp()) // 60 * 60
        usage_stack.wait_total(customer, 7.0, start=start, end=start + 3 * 86_400)


def test_a_stripe_refusal_is_held_as_an_exception_and_the_rest_is_sent(
    usage_stack: UsageStack, sender: SenderFactory
) -> None:
    good = usage_stack.customer()
    good_entry = entry_for(good, now() - dt.timedelta(days=5))
    bad_entry = entry_for("cus_doesnotexist", now() - dt.timedelta(days=5))
    lost_entry = entry_for(good, now() - dt.timedelta(days=5), billing_account="nowhere")
    for entry in (good_entry, bad_entry, lost_entry):
        usage_stack.register(entry)
    t = now() - dt.timedelta(minutes=3)
    doomed = usage(bad_entry.contract_id, "9", t)
    astray = usage(lost_entry.contract_id, "4", t)
    batch = [usage(good_entry.contract_id, "1", t), doomed, astray, usage(good_entry.contract_id, "2", t)]
    assert {r["status"] for r in results(usage_stack.post_usage({"events": batch}))} == {"accepted"}
    with sender():
        usage_stack.wait_total(good, 3.0)
        usage_stack.wait_drained()
    records = httpx.get(f"{usage_stack.process}/v1/exceptions", params={"flow": "usage"}).json()["items"]
    (record,) = [r for r in records if r["business_key"] == f"partner-demo:{doomed['event_id']}"]
    assert record["error_class"] == "validation" and "cus_doesnotexist" in record["reason"]
    (record,) = [r for r in records if r["business_key"] == f"partner-demo:{astray['event_id']}"]
    assert record["error_class"] == "validation" and "unknown_account" in record["reason"]
    assert usage_stack.usage_total(good) == 3.0


def test_a_quantity_sent_as_a_json_number_is_queued_exactly(usage_stack: UsageStack) -> None:
    entry = entry_for(usage_stack.customer(), now() - dt.timedelta(days=2))
    usage_stack.register(entry)
    event = usage(entry.contract_id, "__Q__", now() - dt.timedelta(minutes=1))
    raw = json.dumps({"events": [event]}).replace('"__Q__"', "1.00000000000000000001").encode()
    assert results(usage_stack.post_usage(None, raw=raw))[0]["status"] == "accepted"
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        entries = client.xrevrange(f"{usage_stack.prefix}{{usage}}:events", count=1000)
    finally:
        client.close()
    (fields,) = [f for _, f in entries if f["event_id"] == event["event_id"]]
    assert fields["quantity"] == "1.00000000000000000001"  # a float would have made it 1.0
    assert fields["sender"] == "partner-demo" and fields["identifier"].startswith("rbu_")


def acceptances(stack: UsageStack, event_ids: list[str]) -> list[dict[str, Any]]:
    """The durable record of intake (``revbridge.usage_acceptance``) of these events, oldest first."""
    with psycopg.connect(stack.database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT * FROM revbridge.usage_acceptance WHERE event_id = ANY(%s) ORDER BY id", (event_ids,)
        ).fetchall()


def test_every_answer_is_recorded_durably_and_survives_losing_redis(usage_stack: UsageStack) -> None:
    entry = entry_for(usage_stack.customer(), now() - dt.timedelta(days=2))
    usage_stack.register(entry)
    t = now() - dt.timedelta(minutes=2)
    good = usage(entry.contract_id, "__Q__", t)
    bad = usage(entry.contract_id, "1", t, meter="storage_gb")
    body = json.dumps({"events": [good, good, bad, {"event_id": "evt-unreadable"}]})
    raw = body.replace('"__Q__"', "2.50000000000000000001").encode()
    answered = results(usage_stack.post_usage(None, raw=raw))
    assert [r["status"] for r in answered] == ["accepted", "duplicate", "rejected", "rejected"]

    ids = [good["event_id"], bad["event_id"], "evt-unreadable"]
    rows = acceptances(usage_stack, ids)
    assert [(r["batch_index"], r["outcome"], r["reason"], r["field"]) for r in rows] == [
        (0, "accepted", None, None),
        (1, "duplicate", None, None),
        (2, "rejected", "unknown_meter", "meter"),
        (3, "rejected", "invalid_event", "meter"),
    ]
    accepted = rows[0]
    assert accepted["quantity"] == Decimal("2.50000000000000000001")  # exact, never a float
    assert (accepted["sender"], accepted["meter"], accepted["contract_id"]) == (
        "partner-demo",
        "api_calls",
        entry.contract_id,
    )
    assert accepted["occurred_at"] == accepted["billed_at"] == t
    assert accepted["billing_customer_id"] == entry.billing_customer_id
    assert accepted["identifier"].startswith("rbu_") and accepted["trace_id"]
    assert rows[3]["raw"] == {"event_id": "evt-unreadable"} and rows[3]["quantity"] is None

    client = redis.Redis.from_url(REDIS_URL)
    try:  # losing Redis: the record stays (the dedup marks and the stream are the working set)
        client.delete(*client.scan_iter(match=f"{usage_stack.prefix}{{usage}}:seen:*"))
    finally:
        client.close()
    assert acceptances(usage_stack, ids) == rows
