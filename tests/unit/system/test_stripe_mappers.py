"""Stripe mappers: basil invoice shape, customers, subscriptions and webhook events, without I/O."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from revbridge_contracts.events import EventType, Stream
from revbridge_contracts.models import BillingCustomerUpsert, InvoiceStatus, SubscriptionUpsert
from revbridge_system.adapters.stripe import mappers

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "stripe-fixtures3-subset.json"


@pytest.fixture(scope="module")
def fixture_invoice() -> dict[str, Any]:
    data = json.loads(FIXTURES.read_text())
    resources = data.get("resources", data)
    return copy.deepcopy(resources["invoice"])


def _basil_invoice(fixture: dict[str, Any]) -> dict[str, Any]:
    inv = copy.deepcopy(fixture)
    inv.update(status="paid", amount_paid=1000, amount_due=1000, number="RB-0001")
    inv["status_transitions"]["finalized_at"] = 1721954100
    inv["parent"] = {
        "type": "subscription_details",
        "quote_details": None,
        "subscription_details": {
            "subscription": "sub_123",
            "metadata": {"revbridge_crm_contract_id": "800000000000001AAA"},
        },
    }
    line = inv["lines"]["data"][0]
    line["period"] = {"start": 1717200000, "end": 1719792000}  # 2024-06-01 .. 2024-07-01 00:00 UTC
    line["pricing"] = {
        "type": "price_details",
        "price_details": {"price": "price_1", "product": "prod_1"},
        "unit_amount_decimal": "1000",
    }
    inv["payments"] = {
        "object": "list",
        "has_more": False,
        "url": "/v1/invoice_payments",
        "data": [
            {
                "id": "inpay_1",
                "object": "invoice_payment",
                "invoice": inv["id"],
                "amount_paid": 1000,
                "amount_requested": 1000,
                "currency": "usd",
                "status": "paid",
                "payment": {"type": "payment_intent", "payment_intent": "pi_123"},
                "status_transitions": {"paid_at": 1721954200, "canceled_at": None},
            }
        ],
    }
    return inv


def test_fixture_invoice_maps_with_draft_status_and_no_subscription(fixture_invoice: dict[str, Any]) -> None:
    invoice = mappers.to_invoice(fixture_invoice)
    assert invoice.status is InvoiceStatus.draft
    assert invoice.currency == "USD"
    assert (invoice.total, invoice.amount_paid, invoice.amount_due) == (1000, 0, 1000)
    assert invoice.subscription_id == "subscription"  # fixture placeholder under parent.subscription_details
    assert invoice.crm_contract_id is None  # fixture metadata is null
    assert invoice.lines[0].amount == 1000 and invoice.lines[0].quantity == 1
    assert invoice.due_date == dt.date(2009, 2, 13)


def test_basil_invoice_carries_contract_period_product_and_payment(fixture_invoice: dict[str, Any]) -> None:
    invoice = mappers.to_invoice(_basil_invoice(fixture_invoice), {"prod_1": "PLAT-ENT"})
    assert invoice.status is InvoiceStatus.paid
    assert invoice.subscription_id == "sub_123"
    assert invoice.crm_contract_id == "800000000000001AAA"
    assert invoice.issued_at == dt.datetime.fromtimestamp(1721954100, dt.UTC)
    line = invoice.lines[0]
    assert line.product_code == "PLAT-ENT"
    assert (line.period_start, line.period_end) == (dt.date(2024, 6, 1), dt.date(2024, 6, 30))
    [payment] = invoice.payments
    assert (payment.id, payment.amount, payment.currency, payment.status) == ("pi_123", 1000, "USD", "paid")
    assert payment.paid_at == dt.datetime.fromtimestamp(1721954200, dt.UTC)


def test_invoice_payment_without_intent_uses_its_own_id(fixture_invoice: dict[str, Any]) -> None:
    raw = _basil_invoice(fixture_invoice)
    raw["payments"]["data"][0]["payment"] = {"type": "out_of_band_payment"}
    assert mappers.to_invoice(raw).payments[0].id == "inpay_1"


def test_customer_params_carry_the_crm_key_and_round_trip() -> None:
    cmd = BillingCustomerUpsert(name="Acme", email="ap@acme.test", country="GB", currency="GBP")
    params = mappers.customer_create_params("001000000000001AAA", cmd)
    assert params["metadata"]["revbridge_crm_account_id"] == "001000000000001AAA"
    assert params["address"] == {"country": "GB"}
    raw = {"id": "cus_1", "name": "Acme", "currency": None, "metadata": params["metadata"]}
    customer = mappers.to_billing_customer(raw, created=True)
    assert (customer.crm_account_id, customer.currency, customer.created) == (
        "001000000000001AAA",
        "GBP",
        True,
    )


def test_search_query_escapes_quotes() -> None:
    assert mappers.customer_search_query("a'b") == "metadata['revbridge_crm_account_id']:'a\\'b'"


def test_subscription_params_are_send_invoice_with_contract_metadata() -> None:
    cmd = SubscriptionUpsert.model_validate(
        {
            "customer_id": "cus_1",
            "currency": "USD",
            "days_until_due": 14,
            "items": [{"billing_price_ref": "plat", "quantity": 2}],
        }
    )
    params = mappers.subscription_create_params("800000000000001AAA", cmd, ["price_9"])
    assert params["items"] == [{"price": "price_9", "quantity": 2}]
    assert params["collection_method"] == "send_invoice" and params["days_until_due"] == 14
    assert params["metadata"] == {"revbridge_crm_contract_id": "800000000000001AAA"}
    sub = mappers.to_subscription(
        {
            "id": "sub_1",
            "customer": "cus_1",
            "status": "active",
            "metadata": params["metadata"],
            "latest_invoice": {"id": "in_1"},
        },
        created=False,
    )
    assert (sub.crm_contract_id, sub.latest_invoice_id) == ("800000000000001AAA", "in_1")


@pytest.mark.parametrize(
    ("vendor", "expected"),
    [
        ("invoice.finalized", EventType.invoice_finalized),
        ("invoice.paid", EventType.invoice_paid),
        ("invoice.payment_failed", EventType.invoice_payment_failed),
        ("invoice.voided", EventType.invoice_voided),
        ("invoice.marked_uncollectible", EventType.invoice_marked_uncollectible),
    ],
)
def test_invoice_events_become_billing_envelopes(vendor: str, expected: EventType) -> None:
    event = {"id": "evt_1", "type": vendor, "data": {"object": {"id": "in_1", "object": "invoice"}}}
    envelope = mappers.to_envelope(
        event, "default", {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}, "corr-1"
    )
    assert envelope is not None
    assert (envelope.type, envelope.subject, envelope.account) == (expected, "in_1", "default")
    assert (envelope.vendor_event_id, envelope.source, envelope.correlation_id) == (
        "evt_1",
        "stripe.webhook",
        "corr-1",
    )
    assert envelope.stream is Stream.billing and envelope.traceparent


def test_other_events_are_not_enqueued() -> None:
    event = {"id": "evt_2", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    assert mappers.to_envelope(event, "default", {}, None) is None


def test_idempotency_keys_derive_from_business_ids() -> None:
    assert mappers.customer_idempotency_key("default", "001A") == "revbridge:customer:default:001A"
    assert mappers.subscription_idempotency_key("eu", "800A") == "revbridge:subscription:eu:800A"
