"""Coupons, promotion codes, tax rates and customer balances through the official SDK.

Coupons, promotion codes and tax rates are stored and served as Stripe does; a subscription's
discounts (a coupon or a promotion code) reduce its invoices for the coupon's duration; tax rates
are not applied to amounts, so passing one to a subscription is refused by name, never ignored. A
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


T0 = 1767225600  # 2026-01-01T00:00:00Z


def _subscribe_with(
    client: stripe.StripeClient,
    discounts: list[dict[str, str]],
    currency: str = "usd",
    unit_amount: int = 3333,
    **extra: object,
) -> tuple[str, stripe.Subscription]:
    """Three seats billed by invoice on a customer of a fresh test clock, with ``discounts``."""
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": T0})
    customer = client.v1.customers.create({"name": "Discounted", "test_clock": clock.id})
    price = client.v1.prices.create(
        {
            "currency": currency,
            "unit_amount": unit_amount,
            "product_data": {"name": "Seat"},
            "recurring": {"interval": "month"},
        }
    )
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": 3}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "discounts": discounts,
            "expand": ["latest_invoice"],
            **extra,
        }
    )
    return clock.id, sub


def _invoices(client: stripe.StripeClient, sub: stripe.Subscription) -> list[stripe.Invoice]:
    return list(reversed(client.v1.invoices.list({"subscription": sub.id}).data))  # oldest first


def test_a_repeating_percent_coupon_reduces_each_invoice_for_its_months(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 12.5, "duration": "repeating", "duration_in_months": 2})
    clock, sub = _subscribe_with(client, [{"coupon": coupon.id}])

    first = sub.latest_invoice
    assert isinstance(first, stripe.Invoice)
    off = 1250  # 12.5% of 9,999, half up
    assert (first.subtotal, first.total, first.amount_due) == (9999, 9999 - off, 9999 - off)
    assert first.total_discount_amounts is not None and [d.amount for d in first.total_discount_amounts] == [
        off
    ]
    line = first.lines.data[0]
    assert line.amount == 9999 and [d.amount for d in line.discount_amounts or []] == [off]
    discount = client.v1.subscriptions.retrieve(sub.id).discounts[0]
    assert first.discounts == [discount]
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1

    client.v1.test_helpers.test_clocks.advance(clock, {"frozen_time": T0 + 65 * 86400})
    totals = [i.total for i in _invoices(client, sub)]
    assert totals == [9999 - off, 9999 - off, 9999]  # January and February discounted, March not


def test_a_once_amount_off_promotion_code_reduces_only_the_first_invoice(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"amount_off": 2000, "currency": "usd", "duration": "once"})
    promo = client.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}, "max_redemptions": 1}
    )
    clock, sub = _subscribe_with(client, [{"promotion_code": promo.id}])

    client.v1.test_helpers.test_clocks.advance(clock, {"frozen_time": T0 + 32 * 86400})
    assert [i.total for i in _invoices(client, sub)] == [7999, 9999]
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []
    assert client.v1.promotion_codes.retrieve(promo.id).times_redeemed == 1
    with pytest.raises(stripe.InvalidRequestError) as spent:  # max_redemptions reached
        _subscribe_with(client, [{"promotion_code": promo.id}])
    assert spent.value.param == "discounts[0][promotion_code]"


def test_a_proposed_change_previews_with_the_subscriptions_discount(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 50, "duration": "forever"})
    _, sub = _subscribe_with(client, [{"coupon": coupon.id}])
    preview = client.v1.invoices.create_preview({"subscription": sub.id})
    assert (preview.subtotal, preview.total) == (9999, 4999)  # 4,999.5 off rounds half up to 5,000
    with pytest.raises(stripe.InvalidRequestError) as item_level:
        client.v1.subscriptions.update(
            sub.id, {"items": [{"id": sub["items"].data[0].id, "discounts": [{"coupon": coupon.id}]}]}
        )
    assert (item_level.value.code, item_level.value.param) == ("parameter_unsupported", "items[0][discounts]")


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
    with pytest.raises(stripe.InvalidRequestError) as inactive:  # the rate was archived above
        client.v1.subscriptions.create(
            {"customer": customer.id, "items": [{"price": price.id}], "default_tax_rates": [rate.id]}
        )
    assert inactive.value.param == "default_tax_rates[0]"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoices.create({"customer": customer.id, "default_tax_rates": [rate.id]})
    assert (refused.value.code, refused.value.param) == ("parameter_unsupported", "default_tax_rates")
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []  # nothing was made


def test_default_tax_rates_tax_each_line_after_its_discount(client: stripe.StripeClient) -> None:
    vat = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 19, "inclusive": False})
    gst = client.v1.tax_rates.create({"display_name": "GST", "percentage": 10, "inclusive": True})
    coupon = client.v1.coupons.create({"percent_off": 10, "duration": "forever"})
    _, sub = _subscribe_with(
        client, [{"coupon": coupon.id}], currency="eur", unit_amount=1000, default_tax_rates=[vat.id, gst.id]
    )
    invoice = sub.latest_invoice
    assert isinstance(invoice, stripe.Invoice)
    # 3,000 less 10% = 2,700 taxable; VAT 19% on top = 513; GST 10% inside = 2,700 - 2,455 = 245
    taxes = {
        t.tax_rate_details.tax_rate: (t.amount, t.taxable_amount)
        for t in invoice.total_taxes or []
        if t.tax_rate_details
    }
    assert taxes == {vat.id: (513, 2700), gst.id: (245, 2455)}
    assert (invoice.subtotal, invoice.total_excluding_tax, invoice.total, invoice.amount_due) == (
        3000,
        2455,
        3213,
        3213,
    )
    assert [r.id for r in invoice.default_tax_rates] == [vat.id, gst.id]
    assert [r.id for r in sub.default_tax_rates or []] == [vat.id, gst.id]


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
