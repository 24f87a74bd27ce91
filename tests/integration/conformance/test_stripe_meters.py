"""Billing Meters through the official SDK, as Stripe's usage-based billing guide uses them: a
meter, meter events with an ``identifier`` (a repeat counts once), event summaries over a range
or per hour/day by the meter's formula, and usage billed on the period's invoice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import stripe

from tests.integration.conformance.test_stripe_sdk import sdk
from tests.support.procs import sandbox

pytestmark = pytest.mark.integration

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, on a minute, hour and day boundary


@pytest.fixture(scope="module")
def client() -> Iterator[stripe.StripeClient]:
    with sandbox("stripe") as url:
        yield sdk(url, retries=0)


def _meter(client: stripe.StripeClient, formula: str) -> stripe.billing.Meter:
    return client.v1.billing.meters.create(
        {
            "display_name": f"API calls ({formula})",
            "event_name": f"api_calls_{uuid.uuid4().hex[:8]}",
            "default_aggregation": {"formula": formula},
            "customer_mapping": {"type": "by_id", "event_payload_key": "stripe_customer_id"},
            "value_settings": {"event_payload_key": "value"},
        }
    )


def _report(
    client: stripe.StripeClient,
    meter: stripe.billing.Meter,
    customer: str,
    value: str,
    at: int,
    identifier: str | None = None,
) -> None:
    client.v1.billing.meter_events.create(
        {
            "event_name": meter.event_name,
            "payload": {"stripe_customer_id": customer, "value": value},
            "timestamp": at,
            "identifier": identifier or uuid.uuid4().hex,
        }
    )


def test_summaries_aggregate_by_the_meters_formula_over_a_range_and_per_hour(
    client: stripe.StripeClient,
) -> None:
    # Stripe takes events of the past 35 days only: the customer's test clock is two days on
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": T0 + 2 * 86400})
    customer = client.v1.customers.create({"name": "Metered Co", "test_clock": clock.id}).id
    sums, counts, lasts = _meter(client, "sum"), _meter(client, "count"), _meter(client, "last")
    for meter in (sums, counts, lasts):
        _report(client, meter, customer, "2.5", T0 + 60, identifier=f"{meter.id}-a")
        _report(client, meter, customer, "2.5", T0 + 60, identifier=f"{meter.id}-a")  # a repeat: once
        _report(client, meter, customer, "4", T0 + 3600 + 120)
        _report(client, meter, customer, "100", T0 + 86400)  # outside the range asked for below

    def summaries(meter: stripe.billing.Meter, **window: str) -> list[tuple[int, int, float]]:
        page = client.v1.billing.meters.event_summaries.list(
            meter.id,
            {"customer": customer, "start_time": T0, "end_time": T0 + 86400, **window},  # type: ignore[typeddict-item]
        )
        return [(s.start_time, s.end_time, s.aggregated_value) for s in page.data]

    assert summaries(sums) == [(T0, T0 + 86400, 6.5)]
    assert summaries(counts) == [(T0, T0 + 86400, 2.0)]
    assert summaries(lasts) == [(T0, T0 + 86400, 4.0)]
    assert summaries(sums, value_grouping_window="hour") == [
        (T0, T0 + 3600, 2.5),
        (T0 + 3600, T0 + 7200, 4.0),
    ]

    with pytest.raises(stripe.InvalidRequestError) as unaligned:
        client.v1.billing.meters.event_summaries.list(
            sums.id, {"customer": customer, "start_time": T0 + 1, "end_time": T0 + 60}
        )
    assert unaligned.value.param == "start_time"


def test_usage_is_billed_on_the_periods_invoice_by_the_meters_formula(client: stripe.StripeClient) -> None:
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": T0})
    customer = client.v1.customers.create({"name": "Overage Co", "test_clock": clock.id})
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": pm.id}})
    meter = _meter(client, "count")
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 25,
            "product_data": {"name": "Calls"},
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    for i in range(3):
        _report(client, meter, customer.id, "999", T0 + 60 * i)  # counted, not summed

    preview = client.v1.invoices.create_preview({"subscription": sub.id})
    assert preview.amount_due == 75  # the usage so far, three events at 25

    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": T0 + 32 * 86400})
    invoices = client.v1.invoices.list({"subscription": sub.id}).data
    renewal = next(i for i in invoices if i.billing_reason == "subscription_cycle")
    assert renewal.amount_due == 75 and renewal.lines.data[0].quantity == 3
