"""The system API's listings for replay and reconciliation, against the sandboxes over HTTP: billing
events in a time window (as bus notifications), subscriptions, invoice summaries, credit notes,
refunds, CRM contracts modified in a range, and ERP transactions with their memo."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from tests.integration.system.conftest import Salesforce, Stack
from tests.integration.system.test_billing_and_erp import _stripe


def _get(stack: Stack, path: str, **params: Any) -> Any:
    response = httpx.get(f"{stack.api}{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _every(stack: Stack, path: str, **params: Any) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        page = _get(stack, path, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def _subscribed_invoice(stack: Stack) -> tuple[str, str, str]:
    """(crm contract id, subscription id, invoice id) of a fresh subscription, its first invoice paid."""
    client = _stripe(stack)
    lookup = f"plat-{uuid.uuid4().hex[:8]}"
    product = client.v1.products.create(
        params={"name": "Platform", "metadata": {"revbridge_product_code": "PLAT"}}
    )
    client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 50000,
            "recurring": {"interval": "month"},
            "lookup_key": lookup,
        }
    )
    crm_account, crm_contract = f"001{uuid.uuid4().hex[:15]}", f"800{uuid.uuid4().hex[:15]}"
    customer = httpx.put(
        f"{stack.api}/v1/billing/default/customers/{crm_account}",
        json={"name": "Initech", "currency": "USD", "country": "US"},
        timeout=30,
    ).json()
    sub = httpx.put(
        f"{stack.api}/v1/billing/default/subscriptions/{crm_contract}",
        json={
            "customer_id": customer["id"],
            "currency": "USD",
            "items": [{"billing_price_ref": lookup, "quantity": 2}],
        },
        timeout=30,
    ).json()
    invoice_id = sub["latest_invoice_id"]
    client.v1.invoices.pay(invoice_id, params={"payment_method": "pm_card_visa"})
    return crm_contract, sub["id"], invoice_id


def test_billing_events_of_a_window_come_as_bus_notifications_newest_first(stack: Stack) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    _, _, invoice_id = _subscribed_invoice(stack)
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    events = _every(
        stack, "/v1/billing/default/events", since=before.isoformat(), until=after.isoformat(), limit=1
    )
    mine = [e for e in events if e["subject"] == invoice_id]
    assert {e["type"] for e in mine} >= {"billing.invoice.finalized", "billing.invoice.paid"}
    assert all(e["account"] == "default" and e["id"].startswith("evt_") for e in mine)
    stamps = [e["occurred_at"] for e in events]
    assert stamps == sorted(stamps, reverse=True)
    assert {e["type"] for e in events} <= {
        "billing.invoice.finalized",
        "billing.invoice.paid",
        "billing.invoice.payment_failed",
        "billing.invoice.voided",
        "billing.invoice.marked_uncollectible",
        "billing.credit_note.created",
        "billing.charge.refunded",
        "billing.dispute.created",
        "billing.dispute.closed",
    }  # only what revbridge handles (no customer.created and such)

    # Stripe counts whole seconds and the window is widened to them: a second's margin
    just_before = (before - dt.timedelta(seconds=1)).isoformat()
    earlier = _get(
        stack, "/v1/billing/default/events", since="2001-01-01T00:00:00Z", until=just_before, limit=100
    )
    assert invoice_id not in {e["subject"] for e in earlier["items"]}
    backwards = httpx.get(
        f"{stack.api}/v1/billing/default/events",
        params={"since": after.isoformat(), "until": before.isoformat()},
        timeout=30,
    )
    assert backwards.status_code == 400 and "until" in backwards.text
    unknown = httpx.get(f"{stack.api}/v1/billing/nowhere/events", timeout=30)
    assert unknown.status_code == 404


def test_subscriptions_invoice_summaries_and_credit_notes_are_listed(stack: Stack) -> None:
    crm_contract, subscription_id, invoice_id = _subscribed_invoice(stack)
    _stripe(stack).v1.credit_notes.create(
        params={"invoice": invoice_id, "amount": 1000, "refund_amount": 1000}
    )

    subs = _every(stack, "/v1/billing/default/subscriptions", limit=2)
    [sub] = [s for s in subs if s["id"] == subscription_id]
    assert sub["crm_contract_id"] == crm_contract and sub["currency"] == "USD" and sub["status"] == "active"
    assert [i["quantity"] for i in sub["items"]] == [2]

    summaries = _every(stack, "/v1/billing/default/invoices", lines="false", limit=3)
    [summary] = [i for i in summaries if i["id"] == invoice_id]
    assert summary["lines"] == [] and summary["total"] == 100000 and summary["status"] == "paid"
    assert [p["amount"] for p in summary["payments"]] == [100000]

    notes = _every(stack, "/v1/billing/default/credit-notes", limit=100)
    assert [n["total"] for n in notes if n["invoice_id"] == invoice_id] == [1000]


def test_refunds_are_listed_newest_first_for_reconciliation(stack: Stack) -> None:
    _, _, invoice_id = _subscribed_invoice(stack)
    note = _stripe(stack).v1.credit_notes.create(
        params={"invoice": invoice_id, "amount": 2500, "refund_amount": 2500}
    )
    [refund_id] = [r["refund"] if isinstance(r["refund"], str) else r["refund"]["id"] for r in note.refunds]

    refunds = _every(stack, "/v1/billing/default/refunds", limit=1)
    [mine] = [r for r in refunds if r["id"] == refund_id]
    assert (mine["amount"], mine["currency"], mine["status"]) == (2500, "USD", "succeeded")
    assert mine["charge_id"].startswith("ch_") and mine["created_at"]
    stamps = [r["created_at"] for r in refunds]
    assert stamps == sorted(stamps, reverse=True)
    assert httpx.get(f"{stack.api}/v1/billing/nowhere/refunds", timeout=30).status_code == 404


def test_contracts_modified_in_a_range(stack: Stack) -> None:
    sf = Salesforce(stack.salesforce)
    _, contract_id = sf.draft_contract("Range Co")
    rows = _every(stack, "/v1/crm/contracts", limit=2000)
    [row] = [c for c in rows if c["id"] == contract_id]
    stamp = dt.datetime.fromisoformat(row["modified_at"])

    inside = _every(
        stack,
        "/v1/crm/contracts",
        modified_after=(stamp - dt.timedelta(seconds=1)).isoformat(),
        modified_before=stamp.isoformat(),
    )
    assert contract_id in [c["id"] for c in inside]
    assert all(dt.datetime.fromisoformat(c["modified_at"]) <= stamp for c in inside)
    before = _every(
        stack, "/v1/crm/contracts", modified_before=(stamp - dt.timedelta(milliseconds=1)).isoformat()
    )
    assert contract_id not in [c["id"] for c in before]
    backwards = httpx.get(
        f"{stack.api}/v1/crm/contracts",
        params={"modified_after": stamp.isoformat(), "modified_before": "2001-01-01T00:00:00Z"},
        timeout=30,
    )
    assert backwards.status_code == 400 and "modified_before" in backwards.text
