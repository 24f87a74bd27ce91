"""Stripe's "Build a subscriptions integration" guide (docs.stripe.com/billing/subscriptions/
build-subscriptions, custom payment flow), step by step through stripe-python, unchanged but for the
base URL, with the test cards of docs.stripe.com/testing.

Where the guide runs Stripe.js in the browser (``stripe.confirmPayment`` with the subscription's
``latest_invoice.confirmation_secret``), the test confirms the same payment intent from the server,
which is the call Stripe.js makes; the 3-D Secure challenge page is the sandbox's
``/__sandbox/intents/{id}/authenticate``.
"""

from __future__ import annotations

import time
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


@pytest.fixture(scope="module")
def prices(client: stripe.StripeClient) -> dict[str, str]:
    """Step "Create the pricing model": a product per tier, a monthly price each, found by lookup key."""
    made = {}
    for key, name, amount in (("sample_basic", "Basic", 500), ("sample_premium", "Premium", 1500)):
        product = client.v1.products.create({"name": name})
        price = client.v1.prices.create(
            {
                "product": product.id,
                "unit_amount": amount,
                "currency": "usd",
                "recurring": {"interval": "month"},
                "lookup_key": key,
            }
        )
        made[key] = price.id
    return made


def _customer(client: stripe.StripeClient, **extra: object) -> stripe.Customer:
    """Step "Create the customer": email, name and shipping address from the sign-up form."""
    return client.v1.customers.create(
        {
            "email": "jenny.rosen@example.com",
            "name": "Jenny Rosen",
            "shipping": {
                "name": "Jenny Rosen",
                "address": {
                    "line1": "510 Townsend St",
                    "city": "San Francisco",
                    "state": "CA",
                    "postal_code": "98140",
                    "country": "US",
                },
            },
            **extra,
        }
    )


def _subscribe(client: stripe.StripeClient, customer: str, price: str) -> stripe.Subscription:
    """Step "Create the subscription", the guide's server code as written."""
    return client.v1.subscriptions.create(
        {
            "customer": customer,
            "items": [{"price": price}],
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "expand": ["latest_invoice.confirmation_secret"],
        }
    )


def _client_secret(sub: stripe.Subscription) -> str:
    invoice = sub.latest_invoice
    assert isinstance(invoice, stripe.Invoice) and invoice.confirmation_secret is not None
    return invoice.confirmation_secret.client_secret


def _confirm(client: stripe.StripeClient, client_secret: str, pm: str) -> stripe.PaymentIntent:
    """What ``stripe.confirmPayment`` does: confirm the intent the client secret belongs to."""
    intent_id = client_secret.split("_secret_")[0]
    return client.v1.payment_intents.confirm(intent_id, {"payment_method": pm})


def _authenticate(client: stripe.StripeClient, intent_id: str) -> None:
    client.raw_request("post", f"/__sandbox/intents/{intent_id}/authenticate", outcome="complete")


def test_the_guides_prices_are_found_by_lookup_key_with_their_products(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    # the guide's /config endpoint: stripe.Price.list(lookup_keys=[...], expand=['data.product'])
    listed = client.v1.prices.list(
        {"lookup_keys": ["sample_basic", "sample_premium"], "expand": ["data.product"]}
    )
    assert {p.lookup_key: p.id for p in listed.data} == prices
    assert {p.product.name for p in listed.data if isinstance(p.product, stripe.Product)} == {
        "Basic",
        "Premium",
    }


def test_a_new_subscription_waits_for_the_first_payment_and_hands_back_a_client_secret(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["sample_basic"])

    assert sub.status == "incomplete"
    secret = _client_secret(sub)
    intent = client.v1.payment_intents.retrieve(secret.split("_secret_")[0])
    assert intent.client_secret == secret
    assert (intent.status, intent.amount, intent.currency) == ("requires_payment_method", 500, "usd")
    assert client.v1.charges.list({"customer": customer.id}).data == []  # nothing charged yet
    # the confirmation secret is only there when asked for, as Stripe's includable fields are
    plain = client.v1.invoices.retrieve(str(sub.latest_invoice.id)).to_dict()  # type: ignore[union-attr]
    assert "confirmation_secret" not in plain


def test_confirming_the_payment_activates_the_subscription_and_saves_the_card(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["sample_basic"])

    paid = _confirm(client, _client_secret(sub), "pm_card_visa")

    assert paid.status == "succeeded"
    after = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert after.status == "active"
    assert after.default_payment_method == paid.payment_method  # save_default_payment_method=on_subscription
    saved = client.v1.payment_methods.retrieve(str(paid.payment_method))
    assert saved.id != "pm_card_visa" and saved.customer == customer.id  # a card of the customer's own
    invoice = after.latest_invoice
    assert isinstance(invoice, stripe.Invoice)
    assert (invoice.status, invoice.amount_paid, invoice.attempt_count) == ("paid", 500, 1)
    payments = client.v1.invoice_payments.list({"invoice": invoice.id}).data
    assert [(p.status, p.amount_paid) for p in payments] == [("paid", 500)]
    # the webhooks the guide's handler listens for, in the account's event log
    types = [e.type for e in client.v1.events.list({"limit": 100}).data if _about(e, sub.id, invoice.id)]
    assert {"invoice.paid", "invoice.payment_succeeded", "customer.subscription.updated"} <= set(types)


def _about(event: stripe.Event, sub_id: str, invoice_id: str) -> bool:
    return event.data.object.to_dict().get("id") in (sub_id, invoice_id)


def test_a_declined_card_keeps_the_subscription_incomplete_until_another_card_pays(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["sample_basic"])
    secret = _client_secret(sub)

    with pytest.raises(stripe.CardError) as declined:
        _confirm(client, secret, "pm_card_chargeDeclinedInsufficientFunds")
    assert (declined.value.code, (declined.value.json_body or {})["error"]["decline_code"]) == (
        "card_declined",
        "insufficient_funds",
    )
    invoice = client.v1.invoices.retrieve(str(sub.latest_invoice.id))  # type: ignore[union-attr]
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete"

    assert _confirm(client, secret, "pm_card_visa").status == "succeeded"  # the guide: collect a new card
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.invoices.retrieve(invoice.id).attempt_count == 2


def test_a_3ds_card_stops_the_first_payment_until_the_customer_authenticates(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["sample_premium"])

    waiting = _confirm(client, _client_secret(sub), "pm_card_authenticationRequired")
    assert waiting.status == "requires_action" and waiting.next_action is not None
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete"

    _authenticate(client, waiting.id)
    assert client.v1.payment_intents.retrieve(waiting.id).status == "succeeded"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_a_default_3ds_card_leaves_the_first_invoice_waiting_for_action(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    # the SCA guide's case: the default payment behaviour with a card that must authenticate
    customer = _customer(client)
    pm = client.v1.payment_methods.attach("pm_card_threeDSecure2Required", {"customer": customer.id})
    client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": pm.id}})
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": prices["sample_basic"]}],
            "expand": ["latest_invoice.payments"],
        }
    )
    assert sub.status == "incomplete"
    invoice = sub.latest_invoice
    assert isinstance(invoice, stripe.Invoice) and invoice.payments is not None
    intent = client.v1.payment_intents.retrieve(str(invoice.payments.data[0].payment.payment_intent))
    assert (intent.status, intent.payment_method) == ("requires_action", pm.id)

    _authenticate(client, intent.id)
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_the_saved_card_pays_the_renewal_a_month_later(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    # Stripe's "test your integration" advice: a test clock moves the subscription through a renewal
    start = int(time.time())
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": start})
    customer = _customer(client, test_clock=clock.id)
    sub = _subscribe(client, customer.id, prices["sample_basic"])
    saved = _confirm(client, _client_secret(sub), "pm_card_mastercard").payment_method

    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": start + 32 * 86400})

    renewed = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    invoice = renewed.latest_invoice
    assert isinstance(invoice, stripe.Invoice)
    assert (renewed.status, invoice.billing_reason, invoice.status) == (
        "active",
        "subscription_cycle",
        "paid",
    )
    charges = client.v1.charges.list({"customer": customer.id}).data
    assert [c.payment_method for c in charges] == [saved, saved]


def test_upgrading_changes_the_price_and_cancelling_ends_the_subscription(
    client: stripe.StripeClient, prices: dict[str, str]
) -> None:
    customer = _customer(client)
    sub = _subscribe(client, customer.id, prices["sample_basic"])
    _confirm(client, _client_secret(sub), "pm_card_visa")

    # step "Let customers change their plans": swap the item's price
    item = sub["items"].data[0]
    upgraded = client.v1.subscriptions.update(
        sub.id, {"items": [{"id": item.id, "price": prices["sample_premium"]}]}
    )
    assert [(i.id, i.price.id) for i in upgraded["items"].data] == [(item.id, prices["sample_premium"])]

    # step "Let customers cancel": cancel now
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled" and canceled.canceled_at is not None
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []
    assert [s.id for s in client.v1.subscriptions.list({"customer": customer.id, "status": "all"}).data] == [
        sub.id
    ]


def test_the_customer_portal_is_not_routed_and_answers_as_stripe_does_an_unknown_url(
    client: stripe.StripeClient,
) -> None:
    # the guide's optional "customer portal" step; the sandbox has no hosted pages
    customer = _customer(client)
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.billing_portal.sessions.create(
            {"customer": customer.id, "return_url": "https://example.com"}
        )
    assert unknown.value.http_status == 404
    assert "Unrecognized request URL" in str(unknown.value.user_message)
