"""Where Stripe is strict the sandbox is too, seen through the official SDK (stripe-python 16.1):
unknown parameters and bad enum values are refused with Stripe's codes, an id given as a parameter
that names nothing is a 400 (a 404 is only for the URL's own object), a refused request leaves its
Idempotency-Key free for the corrected retry, a deleted customer retrieves as a tombstone, and a
cancellation at period end says when it takes effect.
"""

from __future__ import annotations

import uuid
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


def _error(call: object) -> stripe.StripeError:
    with pytest.raises(stripe.StripeError) as caught:
        call()  # type: ignore[operator]
    return caught.value


def _price(client: stripe.StripeClient) -> str:
    product = client.v1.products.create({"name": "Seats"})
    price = client.v1.prices.create(
        {"product": product.id, "currency": "usd", "unit_amount": 1000, "recurring": {"interval": "month"}}
    )
    return price.id


def test_an_unknown_parameter_is_refused_with_parameter_unknown(client: stripe.StripeClient) -> None:
    error = _error(lambda: client.v1.customers.create({"nmae": "Acme"}))  # type: ignore[typeddict-unknown-key]

    assert isinstance(error, stripe.InvalidRequestError)
    assert (error.http_status, error.code, error.param) == (400, "parameter_unknown", "nmae")
    assert "Received unknown parameter: nmae" in str(error)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"items": [{"prise": "price_x"}]}, "items[0][prise]"),
        (
            {
                "items": [
                    {"price_data": {"currency": "usd", "product": "p", "recurring": {"intervall": "month"}}}
                ]
            },
            "items[0][price_data][recurring][intervall]",
        ),
        (
            {"payment_settings": {"save_default_payment_methods": "on_subscription"}},
            "payment_settings[save_default_payment_methods]",
        ),
    ],
)
def test_an_unknown_nested_parameter_is_refused_with_its_full_name(
    client: stripe.StripeClient, params: dict[str, object], param: str
) -> None:
    customer = client.v1.customers.create({"name": "Nested"})
    error = _error(lambda: client.v1.subscriptions.create({"customer": customer.id, **params}))  # type: ignore[arg-type]
    assert (error.http_status, error.code, error.param) == (400, "parameter_unknown", param)
    assert str(error.user_message) == f"Received unknown parameter: {param}"
    assert client.v1.subscriptions.list({"customer": customer.id, "status": "all"}).data == []
    # free-keyed hashes (metadata) take any key at any depth the API allows
    price = _price(client)
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    made = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price, "metadata": {"any_key": "1"}}],
            "default_payment_method": pm.id,
        }
    )
    assert made["items"].data[0].metadata.to_dict() == {"any_key": "1"}


def test_an_id_given_as_a_parameter_that_names_nothing_is_a_400_naming_the_param(
    client: stripe.StripeClient,
) -> None:
    price = _price(client)
    error = _error(
        lambda: client.v1.subscriptions.create({"customer": "cus_missing", "items": [{"price": price}]})
    )
    assert (error.http_status, error.code, error.param) == (400, "resource_missing", "customer")
    assert "No such customer: 'cus_missing'" in str(error)

    customer = client.v1.customers.create({"name": "Acme"})
    error = _error(
        lambda: client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": "price_nope"}]})
    )
    assert (error.http_status, error.code, error.param) == (400, "resource_missing", "items[0][price]")

    error = _error(lambda: client.v1.customers.retrieve("cus_missing"))  # the URL's own object
    assert (error.http_status, error.code, error.param) == (404, "resource_missing", "id")


def test_a_refused_request_is_not_saved_under_its_idempotency_key(client: stripe.StripeClient) -> None:
    key = f"onboard-{uuid.uuid4().hex}"
    price = _price(client)
    options: stripe.RequestOptions = {"idempotency_key": key}

    first = _error(
        lambda: client.v1.subscriptions.create(
            {"customer": "cus_typo", "items": [{"price": price}]}, options=options
        )
    )
    assert first.code == "resource_missing"
    customer = client.v1.customers.create({"name": "Acme"})
    params: stripe.params.SubscriptionCreateParams = {"customer": customer.id, "items": [{"price": price}]}
    corrected = client.v1.subscriptions.create(params, options)
    again = client.v1.subscriptions.create(params, options)

    assert corrected.customer == customer.id and again.id == corrected.id  # executed once, then replayed
    assert again.last_response is not None
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"

    unknown_key = f"typo-{uuid.uuid4().hex}"
    _error(lambda: client.v1.customers.create({"emial": "a@b.c"}, {"idempotency_key": unknown_key}))  # type: ignore[typeddict-unknown-key]
    assert client.v1.customers.create({"email": "a@b.c"}, {"idempotency_key": unknown_key}).email == "a@b.c"


def test_a_deleted_customer_retrieves_as_a_tombstone_and_cannot_be_updated(
    client: stripe.StripeClient,
) -> None:
    customer = client.v1.customers.create({"name": "Gone Ltd"})
    client.v1.customers.delete(customer.id)

    tombstone = client.v1.customers.retrieve(customer.id)
    assert tombstone.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
    error = _error(lambda: client.v1.customers.update(customer.id, {"name": "Back"}))
    assert (error.http_status, error.code) == (404, "resource_missing")


def test_cancel_at_period_end_says_when_the_cancellation_takes_effect(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Leaving Inc"})
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": _price(client)}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    period_end = sub["items"].data[0].current_period_end

    scheduled = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert (scheduled.cancel_at, scheduled.cancel_at_period_end) == (period_end, True)
    assert scheduled.canceled_at is not None and scheduled.status == "active"
    assert scheduled.cancellation_details is not None
    assert scheduled.cancellation_details.reason == "cancellation_requested"

    kept = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": False})
    assert (kept.cancel_at, kept.canceled_at, kept.cancel_at_period_end) == (None, None, False)


def test_an_enum_value_stripe_does_not_have_is_refused_and_never_stored(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Enum Ltd"})
    error = _error(lambda: client.v1.customers.update(customer.id, {"tax_exempt": "sometimes"}))  # type: ignore[typeddict-item]
    assert (error.http_status, error.param) == (400, "tax_exempt")
    assert "must be one of exempt, none, or reverse" in str(error)
    assert client.v1.customers.retrieve(customer.id).tax_exempt == "none"

    nested = _error(
        lambda: client.v1.prices.create(
            {
                "currency": "usd",
                "unit_amount": 100,
                "product_data": {"name": "X"},
                "recurring": {"interval": "fortnight"},
            }  # type: ignore[typeddict-item]
        )
    )
    assert (nested.http_status, nested.param) == (400, "recurring[interval]")


def test_a_webhook_endpoint_may_enable_only_event_types_stripe_sends(client: stripe.StripeClient) -> None:
    error = _error(
        lambda: client.v1.webhook_endpoints.create(
            {"url": "https://example.com/hooks", "enabled_events": ["invoice.paid", "invoice.payed"]}  # type: ignore[list-item]
        )
    )
    assert (error.http_status, error.param) == (400, "enabled_events[1]")
    endpoint = client.v1.webhook_endpoints.create(
        {"url": "https://example.com/hooks", "enabled_events": ["invoice.paid", "billing.meter.created"]}
    )
    assert endpoint.enabled_events == ["invoice.paid", "billing.meter.created"]
    client.v1.webhook_endpoints.delete(endpoint.id)


def test_an_expand_path_that_names_no_field_is_refused(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Expand Co"})
    error = _error(lambda: client.v1.customers.retrieve(customer.id, {"expand": ["test_clok"]}))
    assert error.http_status == 400 and "cannot be expanded (test_clok)" in str(error)
    assert client.v1.customers.retrieve(customer.id, {"expand": ["test_clock"]}).id == customer.id
