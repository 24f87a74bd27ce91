"""Coupons, promotion codes, tax rates and customer balances through the official SDK.

Coupons, promotion codes and tax rates are stored and served as Stripe does; the sandbox does not
apply them to amounts, so passing one to a subscription is refused by name, never ignored. A
customer's credit balance (a manual adjustment or a credit note) is applied to the next invoice
when it is finalized, as Stripe does.
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


def test_coupons_and_promotion_codes_round_trip(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 25.5, "duration": "repeating", "duration_in_months": 3})
    assert (coupon.percent_off, coupon.duration_in_months, coupon.valid) == (25.5, 3, True)
    promo = client.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "SPRING25"}
    )
    assert promo.code == "SPRING25" and promo.promotion.coupon == coupon.id and promo.active
    assert [p.id for p in client.v1.promotion_codes.list({"code": "SPRING25"}).data] == [promo.id]
    assert client.v1.promotion_codes.update(promo.id, {"active": False}).active is False

    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.coupons.create({"percent_off": 10, "amount_off": 500, "currency": "usd"})
    assert both.value.param == "percent_off"
    deleted = client.v1.coupons.delete(coupon.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as gone:
        client.v1.coupons.retrieve(coupon.id)
    assert gone.value.http_status == 404


def test_tax_rates_round_trip_and_unmodelled_amount_changes_are_refused_by_name(
    client: stripe.StripeClient,
) -> None:
    rate = client.v1.tax_rates.create(
        {"display_name": "VAT", "percentage": 20, "inclusive": False, "country": "DE"}
    )
    assert (rate.percentage, rate.inclusive, rate.rate_type) == (20.0, False, "percentage")
    assert client.v1.tax_rates.update(rate.id, {"active": False}).active is False
    assert rate.id in [r.id for r in client.v1.tax_rates.list({"active": False}).data]

    customer = client.v1.customers.create({"name": "Taxed"})
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 1000,
            "product_data": {"name": "Seat"},
            "recurring": {"interval": "month"},
        }
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.create(
            {"customer": customer.id, "items": [{"price": price.id}], "default_tax_rates": [rate.id]}
        )
    assert (refused.value.code, refused.value.param) == ("parameter_unsupported", "default_tax_rates")
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []  # nothing was made


def test_a_credit_balance_is_applied_to_the_next_invoice(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Credited"})
    txn = client.v1.customers.balance_transactions.create(
        customer.id, {"amount": -700, "currency": "usd", "description": "Goodwill credit"}
    )
    assert (txn.type, txn.ending_balance) == ("adjustment", -700)
    assert client.v1.customers.retrieve(customer.id).balance == -700

    client.v1.invoice_items.create({"customer": customer.id, "amount": 2500, "currency": "usd"})
    draft = client.v1.invoices.create(
        {
            "customer": customer.id,
            "pending_invoice_items_behavior": "include",
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    finalized = client.v1.invoices.finalize_invoice(draft.id)
    assert (finalized.total, finalized.starting_balance, finalized.amount_due, finalized.ending_balance) == (
        2500,
        -700,
        1800,
        0,
    )
    applied = client.v1.customers.balance_transactions.list(customer.id).data[0]
    assert (applied.type, applied.amount, applied.invoice) == ("applied_to_invoice", 700, draft.id)
    assert client.v1.customers.retrieve(customer.id).balance == 0
