"""A usage sender SIGKILLed mid-batch: a second one reclaims what the first held (XAUTOCLAIM) and
sends it again; Stripe's identifier de-duplication keeps every event counted exactly once."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
import redis

from tests.integration.usage.conftest import SenderFactory, UsageStack, entry_for
from tests.support.procs import wait_until
from tests.support.redis import REDIS_URL

pytestmark = pytest.mark.integration
EVENTS = 2000


def test_a_sender_killed_mid_batch_loses_nothing_and_double_counts_nothing(
    usage_stack: UsageStack, sender: SenderFactory
) -> None:
    customer = usage_stack.customer()
    entry = entry_for(customer, dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    usage_stack.register(entry)
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    for batch in range(EVENTS // 500):
        events = [
            {
                "event_id": f"kill-{batch}-{i}",
                "contract_id": entry.contract_id,
                "meter": "api_calls",
                "quantity": "1",
                "timestamp": at,
            }
            for i in range(500)
        ]
        assert usage_stack.post_usage({"events": events}).json()["accepted"] == 500

    stream = f"{usage_stack.prefix}{{usage}}:events"
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        with sender("usage-sender-a", PROCESS_USAGE_BATCH_SIZE="400") as first:
            wait_until(lambda: usage_stack.usage_total(customer) >= 100, timeout=30, message="a first send")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        held = int(client.xpending(stream, "usage-sender")["pending"])
        counted = usage_stack.usage_total(customer)
        assert held > 0 and counted < EVENTS, (held, counted)  # killed with a batch in hand

        with sender("usage-sender-b"):
            usage_stack.wait_total(customer, float(EVENTS), timeout=60)
            usage_stack.wait_drained(timeout=60)
        assert usage_stack.usage_total(customer) == float(EVENTS)
    finally:
        client.close()
