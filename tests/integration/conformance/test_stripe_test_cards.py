"""Stripe's documented test cards through the official SDK, the way Stripe's subscription guide
uses them: attach ``pm_card_*`` to a customer, make it the default, subscribe, and the charge
succeeds or declines with the documented ``decline_code``; the card's details are on the charge.
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


def _customer_with(
    client: stripe.StripeClient, test_card: str
) -> tuple[stripe.Customer, stripe.PaymentMethod]:
    customer = client.v1.customers.create({"name": "Card Holder", "email": "holder@example.com"})
    pm = client.v1.payment_methods.attach(test_card, {"customer": customer.id})
    client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": pm.id}})
    return customer, pm


def _monthly_price(client: stripe.StripeClient) -> str:
    return client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 4900,
            "product_data": {"name": "Pro"},
            "recurring": {"interval": "month"},
        }
    ).id


def test_attaching_a_test_card_makes_a_card_of_the_customers_own(client: stripe.StripeClient) -> None:
    customer, pm = _customer_with(client, "pm_card_visa")

    assert pm.id.startswith("pm_") and pm.id != "pm_card_visa" and pm.customer == customer.id
    assert pm.card is not None
    assert (pm.card.brand, pm.card.last4, pm.card.funding, pm.card.exp_year) == (
        "visa",
        "4242",
        "credit",
        2030,
    )
    assert [m.id for m in client.v1.customers.payment_methods.list(customer.id).data] == [pm.id]
    assert client.v1.payment_methods.retrieve(pm.id).customer == customer.id

    detached = client.v1.payment_methods.detach(pm.id)
    assert detached.customer is None
    with pytest.raises(stripe.InvalidRequestError) as twice:
        client.v1.payment_methods.detach(pm.id)
    assert twice.value.code == "payment_method_unexpected_state"


def test_a_visa_pays_the_first_invoice_and_the_charge_carries_the_card(client: stripe.StripeClient) -> None:
    customer, pm = _customer_with(client, "pm_card_mastercard")
    sub = client.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": _monthly_price(client)}], "expand": ["latest_invoice"]}
    )
    assert sub.status == "active"

    charges = client.v1.charges.list({"customer": customer.id}).data
    assert len(charges) == 1 and charges[0].payment_method == pm.id and charges[0].status == "succeeded"
    details = charges[0].payment_method_details
    assert details is not None and details.card is not None
    card = details.card
    assert (card.brand, card.last4, card.exp_month, card.exp_year, card.network) == (
        "mastercard",
        "4444",
        8,
        2030,
        "mastercard",
    )
    assert card.checks is not None and card.checks.cvc_check == "pass"


@pytest.mark.parametrize(
    ("test_card", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
    ],
)
def test_a_declining_test_card_declines_with_its_documented_code(
    client: stripe.StripeClient, test_card: str, code: str, decline_code: str
) -> None:
    customer, pm = _customer_with(client, test_card)
    with pytest.raises(stripe.CardError) as declined:
        client.v1.subscriptions.create(
            {
                "customer": customer.id,
                "items": [{"price": _monthly_price(client)}],
                "payment_behavior": "error_if_incomplete",
            }
        )
    error = declined.value
    assert (error.http_status, error.code) == (402, code)
    body = error.json_body or {}
    assert body["error"]["decline_code"] == decline_code
    assert body["error"]["payment_method"]["id"] == pm.id
    assert body["error"]["payment_method"]["card"]["exp_month"] == 8  # the whole object, not a stub


def test_an_unknown_payment_method_is_refused_where_it_is_named(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Nobody"})
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.payment_methods.attach("pm_nope", {"customer": customer.id})
    assert (unknown.value.http_status, unknown.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as bad_default:
        client.v1.subscriptions.create(
            {
                "customer": customer.id,
                "items": [{"price": _monthly_price(client)}],
                "default_payment_method": "pm_nope",
            }
        )
    assert (bad_default.value.http_status, bad_default.value.param) == (400, "default_payment_method")


def test_a_default_payment_method_must_be_attached_to_the_customer_first(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Unattached"})
    other, theirs = _customer_with(client, "pm_card_visa")
    for unattached in ("pm_card_visa", theirs.id):  # a magic test id, and another customer's card
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.customers.update(
                customer.id, {"invoice_settings": {"default_payment_method": unattached}}
            )
        assert (refused.value.http_status, refused.value.param) == (
            400,
            "invoice_settings[default_payment_method]",
        )
        assert "must be attached to the customer" in str(refused.value.user_message)
        with pytest.raises(stripe.InvalidRequestError) as on_subscription:
            client.v1.subscriptions.create(
                {
                    "customer": customer.id,
                    "items": [{"price": _monthly_price(client)}],
                    "default_payment_method": unattached,
                }
            )
        assert (on_subscription.value.http_status, on_subscription.value.param) == (
            400,
            "default_payment_method",
        )
    assert client.v1.customers.retrieve(customer.id).invoice_settings.default_payment_method is None

    # Stripe's docs: attach a test card and make it the default in the customer's create
    both = client.v1.customers.create(
        {"payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    default = both.invoice_settings.default_payment_method
    assert isinstance(default, str) and default.startswith("pm_") and default != "pm_card_visa"
    assert client.v1.payment_methods.retrieve(default).customer == both.id
    assert other.id != both.id


def test_a_payment_intent_confirmed_with_a_visa_succeeds_and_one_held_is_captured(
    client: stripe.StripeClient,
) -> None:
    customer, pm = _customer_with(client, "pm_card_visa")
    paid = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "customer": customer.id, "payment_method": pm.id, "confirm": True}
    )
    assert (paid.status, paid.amount_received, paid.payment_method) == ("succeeded", 2000, pm.id)

    held = client.v1.payment_intents.create(
        {"amount": 5000, "currency": "usd", "payment_method": "pm_card_visa", "capture_method": "manual"}
    )
    assert held.status == "requires_confirmation"
    held = client.v1.payment_intents.confirm(held.id)
    assert (held.status, held.amount_capturable) == ("requires_capture", 5000)
    captured = client.v1.payment_intents.capture(held.id, {"amount_to_capture": 3000})
    assert (captured.status, captured.amount_received) == ("succeeded", 3000)
    assert captured.latest_charge is not None
    charge = client.v1.charges.retrieve(str(captured.latest_charge))
    assert (charge.captured, charge.amount_captured) == (True, 3000)

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.cancel(captured.id)
    open_intent = client.v1.payment_intents.create({"amount": 100, "currency": "usd"})
    canceled = client.v1.payment_intents.cancel(open_intent.id, {"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")


def test_a_declined_payment_intent_waits_for_another_payment_method(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(
            {
                "amount": 2000,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
                "confirm": True,
            }
        )
    body = declined.value.json_body or {}
    assert body["error"]["decline_code"] == "insufficient_funds"
    intent = body["error"]["payment_intent"]
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["decline_code"] == "insufficient_funds"

    retried = client.v1.payment_intents.confirm(intent["id"], {"payment_method": "pm_card_visa"})
    assert retried.status == "succeeded"


def _authenticate(client: stripe.StripeClient, intent_id: str, outcome: str = "complete") -> dict:
    """The sandbox's stand-in for the customer finishing the 3-D Secure challenge page."""
    answer = client.raw_request("post", f"/__sandbox/intents/{intent_id}/authenticate", outcome=outcome)
    return client.deserialize(answer, api_mode="V1").to_dict()


def test_a_3ds_card_on_session_requires_action_then_pays_once_authenticated(
    client: stripe.StripeClient,
) -> None:
    customer, pm = _customer_with(client, "pm_card_authenticationRequired")
    pi = client.v1.payment_intents.create(
        {
            "amount": 1200,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": pm.id,
            "confirm": True,
            "return_url": "https://example.com/back",
        }
    )
    assert pi.status == "requires_action" and pi.next_action is not None
    assert pi.next_action.type == "redirect_to_url"
    assert client.v1.charges.list({"customer": customer.id}).data == []  # nothing charged yet

    done = _authenticate(client, pi.id)
    assert (done["status"], done["amount_received"]) == ("succeeded", 1200)

    failing = client.v1.payment_intents.create(
        {"amount": 500, "currency": "usd", "customer": customer.id, "payment_method": pm.id, "confirm": True}
    )
    assert failing.next_action is not None and failing.next_action.type == "use_stripe_sdk"
    failed = _authenticate(client, failing.id, "fail")
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"


def test_a_renewal_with_a_3ds_card_waits_for_the_customer_and_pay_says_action_is_required(
    client: stripe.StripeClient,
) -> None:
    # Stripe Billing: a payment that needs authentication leaves the invoice's intent at
    # requires_action and sends invoice.payment_action_required; the subscription is past_due
    start = 1767225600
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": start})
    customer = client.v1.customers.create({"name": "Renews", "test_clock": clock.id})
    visa = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": _monthly_price(client)}],
            "default_payment_method": visa.id,
        }
    )
    strict = client.v1.payment_methods.attach("pm_card_authenticationRequired", {"customer": customer.id})
    client.v1.subscriptions.update(sub.id, {"default_payment_method": strict.id})

    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": start + 32 * 86400})

    renewed = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice.payments"]})
    invoice = renewed.latest_invoice
    assert isinstance(invoice, stripe.Invoice) and invoice.payments is not None
    assert (renewed.status, invoice.status, invoice.billing_reason) == (
        "past_due",
        "open",
        "subscription_cycle",
    )
    intent_id = str(invoice.payments.data[0].payment.payment_intent)
    assert client.v1.payment_intents.retrieve(intent_id).status == "requires_action"
    actions = client.v1.events.list({"type": "invoice.payment_action_required", "limit": 100}).data
    assert invoice.id in [e.data.object.to_dict()["id"] for e in actions]
    with pytest.raises(stripe.CardError) as pay:
        client.v1.invoices.pay(invoice.id)
    assert pay.value.code == "invoice_payment_intent_requires_action"

    _authenticate(client, intent_id)
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_a_3ds_card_off_session_declines_with_authentication_required(client: stripe.StripeClient) -> None:
    customer, pm = _customer_with(client, "pm_card_threeDSecure2Required")
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(
            {
                "amount": 900,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": pm.id,
                "confirm": True,
                "off_session": True,
            }
        )
    assert (declined.value.code, (declined.value.json_body or {})["error"]["decline_code"]) == (
        "authentication_required",
        "authentication_required",
    )
    intent = (declined.value.json_body or {})["error"]["payment_intent"]
    assert intent["status"] == "requires_payment_method"


def test_a_setup_intent_saves_the_card_to_the_customer(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Saver"})
    si = client.v1.setup_intents.create(
        {"customer": customer.id, "payment_method": "pm_card_visa", "confirm": True}
    )

    assert si.status == "succeeded" and si.usage == "off_session"
    assert si.payment_method is not None and si.payment_method != "pm_card_visa"
    assert [m.id for m in client.v1.customers.payment_methods.list(customer.id).data] == [si.payment_method]
    assert client.v1.setup_intents.retrieve(si.id).status == "succeeded"

    with pytest.raises(stripe.CardError) as declined:
        client.v1.setup_intents.create(
            {"customer": customer.id, "payment_method": "pm_card_chargeDeclined", "confirm": True}
        )
    body = (declined.value.json_body or {})["error"]
    assert (body["code"], body["setup_intent"]["status"]) == ("card_declined", "requires_payment_method")
    assert body["setup_intent"]["last_setup_error"]["decline_code"] == "generic_decline"


def test_a_card_set_up_with_3ds_pays_off_session_without_authenticating_again(
    client: stripe.StripeClient,
) -> None:
    customer = client.v1.customers.create({"name": "Later"})
    si = client.v1.setup_intents.create(
        {"customer": customer.id, "payment_method": "pm_card_authenticationRequiredOnSetup", "confirm": True}
    )
    assert si.status == "requires_action" and si.next_action is not None
    done = _authenticate(client, si.id)
    assert done["status"] == "succeeded"

    paid = client.v1.payment_intents.create(
        {
            "amount": 3000,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": done["payment_method"],
            "confirm": True,
            "off_session": True,
        }
    )
    assert paid.status == "succeeded"
    # the same card never set up must still authenticate off session
    _, fresh = _customer_with(client, "pm_card_authenticationRequiredOnSetup")
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(
            {
                "amount": 3000,
                "currency": "usd",
                "customer": fresh.customer,
                "payment_method": fresh.id,
                "confirm": True,
                "off_session": True,
            }
        )
    assert declined.value.code == "authentication_required"
