"""Multi-year ramp contracts with usage overage on the Stripe sandbox, through the official SDK:
subscription schedules (``price_data`` per phase, future and past ``start_date``, updates with
prorations), graduated metered prices billed from a Billing Meter, and the meter event window.

One sandbox process serves the module; every scenario runs on its own test clock.
"""

from __future__ import annotations

import calendar
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import stripe

from tests.support.procs import sandbox, wait_until

pytestmark = pytest.mark.integration

KEY = "sk_test_revbridge_demo"
T0 = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400


def month(m: int) -> int:
    """2026-01-01 plus ``m`` calendar months (UTC midnight on the 1st)."""
    year, index = divmod(m, 12)
    return calendar.timegm((2026 + year, index + 1, 1, 0, 0, 0))


@pytest.fixture(scope="module")
def client() -> Iterator[stripe.StripeClient]:
    with sandbox("stripe") as url:
        yield stripe.StripeClient(
            KEY, base_addresses={"api": url, "meter_events": url}, max_network_retries=0
        )


def advance(client: stripe.StripeClient, clock_id: str, to: int) -> float:
    """Advance the clock and wait until it is ready; returns the seconds it took."""
    started = time.monotonic()
    client.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": to})

    def ready() -> bool:
        return client.v1.test_helpers.test_clocks.retrieve(clock_id).status == "ready"

    wait_until(ready, timeout=30, interval=0.02, message="test clock ready")
    return time.monotonic() - started


def clock_customer(client: stripe.StripeClient, at: int = T0) -> tuple[str, str]:
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": at, "name": "ramp"})
    customer = client.v1.customers.create(
        {
            "email": "ramp@acme.test",
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    return clock.id, customer.id


def overage_price(client: stripe.StripeClient, product: str) -> tuple[stripe.billing.Meter, stripe.Price]:
    """A meter and a monthly metered graduated price: the first 1,000 units free, then 2 cents."""
    meter = client.v1.billing.meters.create(
        {
            "display_name": "API calls",
            "event_name": f"api_calls_{uuid.uuid4().hex[:8]}",
            "default_aggregation": {"formula": "sum"},
        }
    )
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "product": product,
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": 1000, "unit_amount": 0},
                {"up_to": "inf", "unit_amount_decimal": Decimal("2")},
            ],
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    return meter, price


def report(
    client: stripe.StripeClient, meter: stripe.billing.Meter, customer: str, value: int, at: int
) -> None:
    client.v1.billing.meter_events.create(
        {
            "event_name": meter.event_name,
            "payload": {"stripe_customer_id": customer, "value": str(value)},
            "timestamp": at,
            "identifier": uuid.uuid4().hex,
        }
    )


def invoices_of(client: stripe.StripeClient, sub_id: str) -> list[stripe.Invoice]:
    """The subscription's invoices, oldest first."""
    found = client.v1.invoices.list({"subscription": sub_id, "limit": 100}).data
    return sorted(found, key=lambda i: (i.created, i.billing_reason != "subscription_create"))


def loose(params: dict[str, Any]) -> Any:
    """Params beyond stripe-python 16.1's TypedDicts (``phases[][iterations]`` of older API
    versions, which Stripe still takes), passed as the SDK sends any dict."""
    return params


def price_data(product: str, unit_amount: int) -> dict[str, Any]:
    return {
        "currency": "usd",
        "product": product,
        "recurring": {"interval": "month"},
        "unit_amount": unit_amount,
    }


# --- the ramp ------------------------------------------------------------------------------------


def test_three_year_ramp_with_a_quantity_step_and_graduated_overage_bills_every_month_right(
    client: stripe.StripeClient,
) -> None:
    clock_id, customer = clock_customer(client)
    product = client.v1.products.create({"name": "Platform"}).id
    meter, overage = overage_price(client, product)
    phases: list[dict[str, Any]] = [
        # year 1: 5 seats for three months, then 8; years 2 and 3 at higher unit prices
        {
            "items": [{"price_data": price_data(product, 10000), "quantity": 5}, {"price": overage.id}],
            "iterations": 3,
        },
        {
            "items": [{"price_data": price_data(product, 10000), "quantity": 8}, {"price": overage.id}],
            "iterations": 9,
        },
        {
            "items": [{"price_data": price_data(product, 12000), "quantity": 8}, {"price": overage.id}],
            "iterations": 12,
        },
        {
            "items": [{"price_data": price_data(product, 14000), "quantity": 8}, {"price": overage.id}],
            "end_date": month(36),
        },
    ]
    schedule = client.v1.subscription_schedules.create(
        loose(
            {
                "customer": customer,
                "start_date": "now",
                "end_behavior": "release",
                "metadata": {"contract": "ramp-3y"},
                "phases": phases,
                "expand": ["subscription", "phases.items.price.tiers"],
            }
        )
    )
    sub = schedule.subscription
    assert isinstance(sub, stripe.Subscription)
    assert schedule.status == "active" and schedule.metadata is not None
    assert schedule.metadata.to_dict() == {"contract": "ramp-3y"}
    assert [(p.start_date, p.end_date) for p in schedule.phases] == [
        (month(0), month(3)),
        (month(3), month(12)),
        (month(12), month(24)),
        (month(24), month(36)),
    ]
    inline = [p.items[0].price for p in schedule.phases]
    assert all(isinstance(p, stripe.Price) for p in inline)
    assert [p.unit_amount for p in inline] == [10000, 10000, 12000, 14000]  # type: ignore[union-attr]
    metered_price = schedule.phases[0].items[1].price
    assert isinstance(metered_price, stripe.Price) and metered_price.tiers is not None
    assert [(t.up_to, t.unit_amount_decimal) for t in metered_price.tiers] == [(1000, 0), (None, 2)]
    assert all(p.active is False and p.recurring.interval == "month" for p in inline)  # type: ignore[union-attr]
    assert sub.schedule == schedule.id and sub.metadata is not None and not sub.metadata.to_dict()
    assert [i.quantity for i in sub["items"].data if i.price.id != overage.id] == [5]

    report(client, meter, customer, 1500, T0 + 60)  # January: 500 over the free 1,000
    elapsed = advance(client, clock_id, month(13) + 9 * DAY)  # 2027-02-10
    report(client, meter, customer, 2500, month(13) + 9 * DAY)  # February 2027: 1,500 over
    report(client, meter, customer, 400, month(13) + 9 * DAY - 60)
    elapsed += advance(client, clock_id, month(36))  # the rest: 23 more months

    invoices = invoices_of(client, sub.id)
    done = client.v1.subscription_schedules.retrieve(schedule.id)
    sub_after = client.v1.subscriptions.retrieve(sub.id)

    assert elapsed < 3, f"advancing 36 monthly periods took {elapsed:.1f}s"
    assert len(invoices) == 37  # the first, then 36 renewals (2026-02-01 ... 2029-01-01)
    assert invoices[0].billing_reason == "subscription_create"
    assert {i.billing_reason for i in invoices[1:]} == {"subscription_cycle"}
    for m, inv in enumerate(invoices):
        seats, unit = (5, 10000) if m < 3 else (8, 10000) if m < 12 else (8, 12000) if m < 24 else (8, 14000)
        usage = {1: 1500, 14: 2900}.get(m, 0)
        overage_amount = max(0, usage - 1000) * 2
        licensed = [line for line in inv.lines.data if line.pricing.price_details.price != overage.id]  # type: ignore[union-attr]
        metered = [line for line in inv.lines.data if line.pricing.price_details.price == overage.id]  # type: ignore[union-attr]
        assert inv.created == month(m) and inv.status == "paid", m
        assert [(line.quantity, line.amount, str(line.pricing.unit_amount_decimal)) for line in licensed] == [  # type: ignore[union-attr]
            (seats, seats * unit, str(unit))
        ], m
        assert (licensed[0].period.start, licensed[0].period.end) == (month(m), month(m + 1)), m
        if usage > 1000:
            assert [(line.quantity, line.amount) for line in metered] == [
                (1000, 0),
                (usage - 1000, overage_amount),
            ], m
            assert [str(line.pricing.unit_amount_decimal) for line in metered] == ["0", "2"]  # type: ignore[union-attr]
            assert all(
                (line.period.start, line.period.end) == (month(m - 1), month(m)) for line in metered
            ), m
            assert "Tier 2 at $0.02 / month" in (metered[1].description or "")
        else:
            assert [(line.quantity, line.amount) for line in metered] == [(0, 0)], m
        assert inv.total == seats * unit + overage_amount, m
    assert done.status == "released" and done.released_subscription == sub.id
    assert sub_after.status == "active" and sub_after.schedule is None


# --- start dates ---------------------------------------------------------------------------------


def test_a_schedule_starting_in_the_future_waits_for_the_clock_then_makes_its_subscription(
    client: stripe.StripeClient,
) -> None:
    clock_id, customer = clock_customer(client)
    product = client.v1.products.create({"name": "Later"}).id
    start = T0 + 10 * DAY
    schedule = client.v1.subscription_schedules.create(
        loose(
            {
                "customer": customer,
                "start_date": start,
                "phases": [
                    {"items": [{"price_data": price_data(product, 2000), "quantity": 2}], "iterations": 2},
                    {"items": [{"price_data": price_data(product, 3000), "quantity": 2}]},
                ],
            }
        )
    )
    before = client.v1.invoices.list({"customer": customer}).data

    assert schedule.status == "not_started" and schedule.subscription is None
    assert schedule.current_phase is None
    assert [(p.start_date, p.end_date) for p in schedule.phases] == [
        (start, start + (31 + 28) * DAY),
        (start + (31 + 28) * DAY, start + (31 + 28 + 31) * DAY),
    ]
    assert before == []

    advance(client, clock_id, start + 3600)
    started = client.v1.subscription_schedules.retrieve(schedule.id, {"expand": ["subscription"]})
    sub = started.subscription
    assert isinstance(sub, stripe.Subscription)
    first = invoices_of(client, sub.id)

    assert started.status == "active" and sub.start_date == start and sub.schedule == schedule.id
    assert started.current_phase is not None and started.current_phase.start_date == start
    assert [(i.created, i.total, i.billing_reason) for i in first] == [(start, 4000, "subscription_create")]
    events = client.v1.events.list({"limit": 100}).data
    mine = [
        e.type
        for e in reversed(events)
        if getattr(e.data.object, "id", None) in (schedule.id, sub.id)
        and e.type.startswith(("subscription_schedule", "customer.sub"))
    ]
    assert mine[0] == "subscription_schedule.created" and "customer.subscription.created" in mine
    assert mine.index("subscription_schedule.created") < mine.index("customer.subscription.created")

    advance(client, clock_id, start + (31 + 28 + 31) * DAY + 3600)
    totals = [(i.created, i.total) for i in invoices_of(client, sub.id)]
    assert totals == [
        (start, 4000),
        (start + 31 * DAY, 4000),
        (start + 59 * DAY, 6000),
        (start + 90 * DAY, 6000),
    ]
    assert client.v1.subscription_schedules.retrieve(schedule.id).status == "released"


def test_a_past_start_date_starts_the_subscription_then_and_bills_the_current_period_only(
    client: stripe.StripeClient,
) -> None:
    _, customer = clock_customer(client)
    product = client.v1.products.create({"name": "Backdated"}).id
    start = T0 - 40 * DAY  # 2025-11-22: the schedule's first phase is already over
    schedule = client.v1.subscription_schedules.create(
        loose(
            {
                "customer": customer,
                "start_date": start,
                "phases": [
                    {"items": [{"price_data": price_data(product, 1000)}], "iterations": 1},
                    {"items": [{"price_data": price_data(product, 1500)}], "iterations": 6},
                ],
                "expand": ["subscription.latest_invoice"],
            }
        )
    )
    sub = schedule.subscription
    assert isinstance(sub, stripe.Subscription)
    invoice = sub.latest_invoice
    assert isinstance(invoice, stripe.Invoice)

    assert schedule.status == "active" and schedule.current_phase is not None
    assert schedule.current_phase.start_date == schedule.phases[1].start_date
    assert sub.start_date == start and sub.billing_cycle_anchor == start
    assert invoice.total == 1500  # the phase in effect, for the period now falls in
    line = invoice.lines.data[0]
    assert line.period.start <= T0 < line.period.end and line.period.start == schedule.phases[1].start_date
    assert len(invoices_of(client, sub.id)) == 1


# --- updates -------------------------------------------------------------------------------------


def test_updating_the_current_phase_mid_period_prorates_and_past_phases_cannot_change(
    client: stripe.StripeClient,
) -> None:
    clock_id, customer = clock_customer(client)
    seat = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 3100,
            "product_data": {"name": "Seat"},
            "recurring": {"interval": "month"},
        }
    )
    pro = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 6200,
            "product": str(seat.product),
            "recurring": {"interval": "month"},
        }
    )
    schedule = client.v1.subscription_schedules.create(
        loose(
            {
                "customer": customer,
                "end_behavior": "cancel",
                "phases": [
                    {"items": [{"price": seat.id, "quantity": 1}], "iterations": 2},
                    {"items": [{"price": pro.id, "quantity": 1}], "iterations": 2},
                ],
            }
        )
    )
    sub_id = str(schedule.subscription)
    item_before = client.v1.subscriptions.retrieve(sub_id)["items"].data[0].id
    advance(client, clock_id, T0 + 15 * DAY)  # 16 of January's 31 days left

    with pytest.raises(stripe.InvalidRequestError) as moved_start:
        client.v1.subscription_schedules.update(
            schedule.id,
            loose(
                {
                    "phases": [
                        {
                            "items": [{"price": seat.id, "quantity": 1}],
                            "start_date": T0 + DAY,
                            "end_date": month(2),
                        },
                        {"items": [{"price": pro.id, "quantity": 1}], "end_date": month(4)},
                    ]
                }
            ),
        )
    updated = client.v1.subscription_schedules.update(
        schedule.id,
        loose(
            {
                "proration_behavior": "always_invoice",
                "metadata": {"change": "seats"},
                "phases": [
                    {"items": [{"price": seat.id, "quantity": 3}], "start_date": T0, "end_date": month(2)},
                    {"items": [{"price": pro.id, "quantity": 3}], "end_date": month(4)},
                ],
            }
        ),
    )
    sub = client.v1.subscriptions.retrieve(sub_id, {"expand": ["latest_invoice"]})
    proration = sub.latest_invoice
    assert isinstance(proration, stripe.Invoice)

    assert moved_start.value.param == "phases[0][start_date]"
    assert updated.metadata is not None
    assert updated.metadata.to_dict() == {"change": "seats"} and updated.phases[0].items[0].quantity == 3
    assert sub["items"].data[0].id == item_before and sub["items"].data[0].quantity == 3
    assert proration.billing_reason == "subscription_update"
    assert sorted(line.amount for line in proration.lines.data) == [-1600, 4800]
    assert all(line.parent.invoice_item_details.proration for line in proration.lines.data)  # type: ignore[union-attr]
    assert proration.total == 3200 and proration.status == "paid"

    advance(client, clock_id, month(2) + DAY)  # into the second phase: the first is over
    with pytest.raises(stripe.InvalidRequestError) as past:
        client.v1.subscription_schedules.update(
            schedule.id,
            loose(
                {
                    "phases": [
                        {
                            "items": [{"price": seat.id, "quantity": 9}],
                            "start_date": T0,
                            "end_date": month(2),
                        },
                        {"items": [{"price": pro.id, "quantity": 3}], "end_date": month(4)},
                    ]
                }
            ),
        )
    # past phases may be left out; the current one keeps its start
    client.v1.subscription_schedules.update(
        schedule.id,
        loose(
            {
                "proration_behavior": "none",
                "phases": [
                    {
                        "items": [{"price": pro.id, "quantity": 2}],
                        "start_date": month(2),
                        "end_date": month(4),
                    }
                ],
            }
        ),
    )
    advance(client, clock_id, month(4) + DAY)
    totals = [(i.created, i.billing_reason, i.total) for i in invoices_of(client, sub_id)]
    final = client.v1.subscription_schedules.retrieve(schedule.id)

    assert past.value.param == "phases[0]"
    assert totals == [
        (T0, "subscription_create", 3100),
        (T0 + 15 * DAY, "subscription_update", 3200),
        (month(1), "subscription_cycle", 9300),
        (month(2), "subscription_cycle", 18600),  # the second phase, 3 seats, on its boundary
        (month(3), "subscription_cycle", 12400),  # reduced to 2 without proration
    ]
    assert [p.start_date for p in final.phases] == [T0, month(2)]
    assert final.status == "completed" and client.v1.subscriptions.retrieve(sub_id).status == "canceled"


def test_phase_proration_behavior_prorates_a_phase_starting_mid_period(client: stripe.StripeClient) -> None:
    clock_id, customer = clock_customer(client)
    product = client.v1.products.create({"name": "Mid"}).id
    client.v1.subscription_schedules.create(
        loose(
            {
                "customer": customer,
                "phases": [
                    {"items": [{"price_data": price_data(product, 3100)}], "end_date": T0 + 15 * DAY},
                    {
                        "items": [{"price_data": price_data(product, 6200)}],
                        "iterations": 1,
                        "proration_behavior": "create_prorations",
                    },
                ],
            }
        )
    )
    advance(client, clock_id, month(1) + DAY)
    sub = client.v1.subscriptions.list({"customer": customer}).data[0]
    renewal = invoices_of(client, sub.id)[1]

    # January 16-31 credited at the old price and charged at the new, then February at the new
    assert sorted(line.amount for line in renewal.lines.data) == [-1600, 3200, 6200]
    assert renewal.total == 7800


# --- tiered prices -------------------------------------------------------------------------------


def test_tiered_prices_show_tiers_only_when_expanded_and_volume_prices_bill_one_tier(
    client: stripe.StripeClient,
) -> None:
    clock_id, customer = clock_customer(client)
    product = client.v1.products.create({"name": "Volume"}).id
    volume = client.v1.prices.create(
        {
            "currency": "usd",
            "product": product,
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers": [
                {"up_to": 10, "unit_amount": 500},
                {"up_to": "inf", "unit_amount": 400, "flat_amount": 1000},
            ],
            "recurring": {"interval": "month"},
        }
    )
    plain = client.v1.prices.retrieve(volume.id)
    expanded = client.v1.prices.retrieve(volume.id, {"expand": ["tiers"]})
    with pytest.raises(stripe.InvalidRequestError) as no_inf:
        client.v1.prices.create(
            {
                "currency": "usd",
                "product": product,
                "billing_scheme": "tiered",
                "tiers_mode": "graduated",
                "tiers": [{"up_to": 10, "unit_amount": 500}],
                "recurring": {"interval": "month"},
            }
        )
    with pytest.raises(stripe.InvalidRequestError) as no_mode:
        client.v1.prices.create(
            {
                "currency": "usd",
                "product": product,
                "billing_scheme": "tiered",
                "tiers": [{"up_to": "inf", "unit_amount": 500}],
            }
        )
    graduated = client.v1.prices.create(
        {
            "currency": "usd",
            "product": product,
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": 10, "unit_amount": 500, "flat_amount": 1000},
                {"up_to": "inf", "unit_amount": 400},
            ],
            "recurring": {"interval": "month"},
        }
    )
    sub = client.v1.subscriptions.create(
        {"customer": customer, "items": [{"price": volume.id, "quantity": 12}]}
    )
    first = invoices_of(client, sub.id)[0]
    seats = client.v1.subscriptions.create(
        {"customer": customer, "items": [{"price": graduated.id, "quantity": 15}]}
    )
    seats_invoice = invoices_of(client, seats.id)[0]

    assert volume.billing_scheme == "tiered" and volume.tiers_mode == "volume" and volume.unit_amount is None
    assert "tiers" not in volume and "tiers" not in plain
    assert [(t.up_to, t.unit_amount, t.flat_amount) for t in expanded.tiers or []] == [
        (10, 500, None),
        (None, 400, 1000),
    ]
    assert no_inf.value.param == "tiers[0][up_to]" and no_mode.value.param == "tiers_mode"
    assert [(line.quantity, line.amount) for line in first.lines.data] == [(12, 12 * 400 + 1000)]
    assert first.total == 5800
    assert [(line.quantity, line.amount, line.description) for line in seats_invoice.lines.data] == [
        (10, 6000, "Volume (Tier 1 at $5.00 / month + $10.00)"),
        (5, 2000, "Volume (Tier 2 at $4.00 / month)"),
    ]
    assert seats_invoice.total == 8000
    assert clock_id


# --- meter events --------------------------------------------------------------------------------


def test_meter_events_outside_35_days_back_or_5_minutes_ahead_of_the_clock_are_refused(
    client: stripe.StripeClient,
) -> None:
    _, customer = clock_customer(client)
    product = client.v1.products.create({"name": "Events"}).id
    meter, _ = overage_price(client, product)
    report(client, meter, customer, 1, T0 - 34 * DAY)
    report(client, meter, customer, 1, T0 + 240)
    with pytest.raises(stripe.InvalidRequestError) as too_old:
        report(client, meter, customer, 1, T0 - 36 * DAY)
    with pytest.raises(stripe.InvalidRequestError) as too_new:
        report(client, meter, customer, 1, T0 + 6 * 60)
    wall = client.v1.customers.create({"name": "Wall clock"}).id
    with pytest.raises(stripe.InvalidRequestError) as wall_old:
        report(client, meter, wall, 1, int(time.time()) - 36 * DAY)
    report(client, meter, wall, 1, int(time.time()) - 34 * DAY)

    assert too_old.value.param == "timestamp" and too_old.value.http_status == 400
    assert "35 days in past" in str(too_old.value.user_message)
    assert f"greater than or equal to {T0 - 35 * DAY}" in str(too_old.value.user_message)
    assert too_new.value.param == "timestamp" and wall_old.value.param == "timestamp"


def test_event_summaries_count_a_repeated_identifier_once(client: stripe.StripeClient) -> None:
    _, customer = clock_customer(client, at=T0 + 2 * DAY)
    product = client.v1.products.create({"name": "Summaries"}).id
    meter, _ = overage_price(client, product)
    for identifier, value, at in (
        ("a", 5, T0 + 60),
        ("a", 5, T0 + 60),
        ("b", 7, T0 + DAY + 60),
        ("a", 9, T0 + 120),
    ):
        client.v1.billing.meter_events.create(
            {
                "event_name": meter.event_name,
                "payload": {"stripe_customer_id": customer, "value": str(value)},
                "timestamp": at,
                "identifier": f"{meter.id}-{identifier}",
            }
        )
    whole = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer, "start_time": T0, "end_time": T0 + 2 * DAY}
    ).data
    daily = client.v1.billing.meters.event_summaries.list(
        meter.id,
        {"customer": customer, "start_time": T0, "end_time": T0 + 2 * DAY, "value_grouping_window": "day"},
    ).data

    assert [s.aggregated_value for s in whole] == [12.0]
    assert [(s.start_time, s.aggregated_value) for s in daily] == [(T0, 5.0), (T0 + DAY, 7.0)]


def test_a_not_started_schedule_can_move_its_start_or_start_now_on_update(
    client: stripe.StripeClient,
) -> None:
    clock_id, customer = clock_customer(client)
    product = client.v1.products.create({"name": "Moved"}).id
    schedule = client.v1.subscription_schedules.create(
        loose(
            {
                "customer": customer,
                "start_date": T0 + 30 * DAY,
                "phases": [{"items": [{"price_data": price_data(product, 500)}], "iterations": 2}],
            }
        )
    )
    later = client.v1.subscription_schedules.update(
        schedule.id,
        loose(
            {"phases": [{"items": [{"price_data": price_data(product, 700)}], "start_date": T0 + 40 * DAY}]}
        ),
    )
    now = client.v1.subscription_schedules.update(
        schedule.id,
        loose(
            {
                "phases": [
                    {
                        "items": [{"price_data": price_data(product, 900)}],
                        "start_date": "now",
                        "iterations": 1,
                    }
                ],
                "expand": ["subscription.latest_invoice"],
            }
        ),
    )
    sub = now.subscription
    assert isinstance(sub, stripe.Subscription) and isinstance(sub.latest_invoice, stripe.Invoice)

    assert later.status == "not_started" and later.phases[0].start_date == T0 + 40 * DAY
    assert later.phases[0].end_date == T0 + 68 * DAY  # the last phase: one period, to March 10
    assert now.status == "active" and now.phases[0].start_date == T0 and sub.start_date == T0
    assert sub.latest_invoice.total == 900
    advance(client, clock_id, month(1) + DAY)
    assert client.v1.subscription_schedules.retrieve(schedule.id).status == "released"
    with pytest.raises(stripe.InvalidRequestError) as released:
        client.v1.subscription_schedules.update(schedule.id, {"metadata": {"x": "y"}})
    assert "released" in str(released.value.user_message)
