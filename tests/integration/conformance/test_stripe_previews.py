"""``POST /v1/invoices/create_preview`` through the official SDK, as Stripe's guide to previewing
the next invoice uses it: a subscription's next renewal (licensed items for the coming period,
metered usage so far, pending invoice items), a customer's pending items, and Stripe's
``invoice_upcoming_none`` when nothing is due. Nothing a preview shows is stored.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from tests.integration.conformance.test_stripe_sdk import sdk
from tests.support.procs import sandbox

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client() -> Iterator[stripe.StripeClient]:
    with sandbox("stripe") as url:
        yield sdk(url, retries=0)


def _subscribed(client: stripe.StripeClient) -> tuple[stripe.Customer, stripe.Subscription]:
    customer = client.v1.customers.create({"name": "Preview Co"})
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 1500,
            "product_data": {"name": "Seat"},
            "recurring": {"interval": "month"},
        }
    )
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": 10}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    return customer, sub


def test_the_next_invoice_of_a_subscription_bills_the_coming_period(client: stripe.StripeClient) -> None:
    customer, sub = _subscribed(client)
    extra = client.v1.invoice_items.create(
        {
            "customer": customer.id,
            "subscription": sub.id,
            "amount": 700,
            "currency": "usd",
            "description": "Setup",
        }
    )
    item = sub["items"].data[0]

    preview = client.v1.invoices.create_preview({"subscription": sub.id})

    assert preview.id is not None and preview.id.startswith("upcoming_in_")
    assert (preview.status, preview.billing_reason, preview.customer) == ("draft", "upcoming", customer.id)
    assert (preview.period_start, preview.period_end) == (item.current_period_start, item.current_period_end)
    amounts = sorted(line.amount for line in preview.lines.data)
    assert amounts == [700, 15000] and preview.amount_due == 15700
    seat = next(line for line in preview.lines.data if line.amount == 15000)
    assert seat.period.start == item.current_period_end  # billed in advance for the next period

    # nothing was stored: the item is still pending, no invoice carries the preview's id
    assert client.v1.invoice_items.retrieve(extra.id).invoice is None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.retrieve(preview.id)
    assert [i.id for i in client.v1.invoices.list({"subscription": sub.id}).data] == [sub.latest_invoice]


def test_a_customers_pending_items_preview_and_nothing_due_is_invoice_upcoming_none(
    client: stripe.StripeClient,
) -> None:
    customer = client.v1.customers.create({"name": "One-off Co"})
    with pytest.raises(stripe.InvalidRequestError) as none:
        client.v1.invoices.create_preview({"customer": customer.id})
    assert (none.value.http_status, none.value.code) == (400, "invoice_upcoming_none")

    client.v1.invoice_items.create({"customer": customer.id, "amount": 2500, "currency": "usd"})
    preview = client.v1.invoices.create_preview({"customer": customer.id})
    assert preview.amount_due == 2500 and len(preview.lines.data) == 1


def test_a_subscription_ending_at_period_end_has_no_next_invoice(client: stripe.StripeClient) -> None:
    _, sub = _subscribed(client)
    client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    with pytest.raises(stripe.InvalidRequestError) as none:
        client.v1.invoices.create_preview({"subscription": sub.id})
    assert none.value.code == "invoice_upcoming_none"


def test_a_proposed_quantity_change_previews_its_prorations_and_the_renewal_at_the_new_quantity(
    client: stripe.StripeClient,
) -> None:
    # Stripe's guide "preview a proration": subscription_details[items] with the item's id
    _, sub = _subscribed(client)
    item = sub["items"].data[0]
    halfway = (item.current_period_start + item.current_period_end) // 2
    share = (item.current_period_end - halfway) / (item.current_period_end - item.current_period_start)
    details = {"items": [{"id": item.id, "quantity": 20}], "proration_date": halfway}

    preview = client.v1.invoices.create_preview({"subscription": sub.id, "subscription_details": details})

    prorations = sorted(
        line.amount for line in preview.lines.data if line.parent and line.parent.invoice_item_details
    )
    assert prorations == [-round(15000 * share), round(30000 * share)]
    renewal = [
        line.amount for line in preview.lines.data if not (line.parent and line.parent.invoice_item_details)
    ]
    assert renewal == [30000]
    assert preview.amount_due == 30000 + round(30000 * share) - round(15000 * share)

    # always_invoice previews the proration invoice billed at once; nothing changed or stored
    now = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": {**details, "proration_behavior": "always_invoice"}}
    )
    assert now.billing_reason == "subscription_update"
    assert sorted(line.amount for line in now.lines.data) == prorations
    assert client.v1.subscriptions.retrieve(sub.id)["items"].data[0].quantity == 10
    assert client.v1.invoice_items.list({"customer": sub.customer}).data == []


def test_a_new_subscription_is_previewed_for_a_customer_before_it_exists(client: stripe.StripeClient) -> None:
    customer, sub = _subscribed(client)
    price = sub["items"].data[0].price.id
    preview = client.v1.invoices.create_preview(
        {"customer": customer.id, "subscription_details": {"items": [{"price": price, "quantity": 3}]}}
    )
    assert (preview.billing_reason, preview.amount_due, len(preview.lines.data)) == (
        "subscription_create",
        4500,
        1,
    )
    assert [s.id for s in client.v1.subscriptions.list({"customer": customer.id}).data] == [sub.id]


def test_what_the_sandbox_does_not_model_in_a_preview_is_refused_not_ignored(
    client: stripe.StripeClient,
) -> None:
    _, sub = _subscribed(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoices.create_preview(
            {"subscription": sub.id, "subscription_details": {"trial_end": "now"}}
        )
    assert (refused.value.http_status, refused.value.param) == (400, "subscription_details[trial_end]")
    assert refused.value.code == "parameter_unsupported"
    with pytest.raises(stripe.InvalidRequestError) as bad_item:
        client.v1.invoices.create_preview(
            {"subscription": sub.id, "subscription_details": {"items": [{"id": "si_nope", "quantity": 2}]}}
        )
    assert bad_item.value.param == "subscription_details[items][0][id]"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.invoices.create_preview({})
    assert missing.value.param == "customer"
