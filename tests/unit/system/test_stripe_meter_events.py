"""The Stripe adapter's meter-event mapping and pace, without I/O."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from revbridge_contracts.usage import MeterEvent
from revbridge_system.adapters.stripe.meters import Pace, decimal_text, meter_event_params, to_test_clock


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("12.50"), "12.5"),
        (Decimal("3"), "3"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("1.00000000000000000001"), "1.00000000000000000001"),
        (Decimal("0E-8"), "0"),
    ],
)
def test_values_are_sent_as_plain_exact_decimals(value: Decimal, text: str) -> None:
    assert decimal_text(value) == text


def test_a_meter_event_carries_its_identifier_customer_value_and_epoch_seconds() -> None:
    event = MeterEvent(
        identifier="rbu_abc",
        event_name="api_calls",
        customer_id="cus_1",
        value=Decimal("2.5"),
        timestamp=dt.datetime(2026, 1, 1, 1, 0, 0, 900_000, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    assert meter_event_params(event) == {
        "event_name": "api_calls",
        "identifier": "rbu_abc",
        "timestamp": 1_767_225_600,  # 2026-01-01T00:00:00Z: the offset applied, the fraction dropped
        "payload": {"stripe_customer_id": "cus_1", "value": "2.5"},
    }


def test_a_test_clock_maps_its_frozen_time() -> None:
    clock = to_test_clock({"id": "clock_1", "frozen_time": 1_767_225_600, "status": "ready"})
    assert clock.frozen_time == dt.datetime(2026, 1, 1, tzinfo=dt.UTC) and clock.id == "clock_1"


def test_the_pace_spaces_starts_at_the_configured_rate() -> None:
    asyncio.run(_pace())


async def _pace() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))

    pace = Pace(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        await pace.wait()
    assert slept == [0.25, 0.5, 0.75]  # the first starts at once, each next a quarter second later
    now[0] = 200.0  # after a quiet spell there is no debt to pay back
    await pace.wait()
    assert slept == [0.25, 0.5, 0.75]
