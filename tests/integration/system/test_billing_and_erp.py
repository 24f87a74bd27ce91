"""Upserts never duplicate: billing customer/subscription and ERP customer/invoice/payment, called twice."""

from __future__ import annotations

import uuid

import httpx
import stripe

from tests.integration.system.conftest import STRIPE_KEY, Stack


def _stripe(stack: Stack) -> stripe.StripeClient:
    base = stack.stripe
    return stripe.StripeClient(
        STRIPE_KEY,
        base_addresses={"api": base, "files": base, "connect": base, "meter_events": base},
        max_network_retries=0,
    )


def test_billing_customer_and_subscription_upserted_twice_exist_once(stack: Stack) -> None:
    client = _stripe(stack)
    lookup = f"seat-{uuid.uuid4().hex[:8]}"
    product = client.v1.products.create(
        params={"name": "Seat", "metadata": {"revbridge_product_code": "SEAT"}}
    )
    client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 125050,
            "recurring": {"interval": "month"},
            "lookup_key": lookup,
        }
    )
    crm_account, crm_contract = f"001{uuid.uuid4().hex[:15]}", f"800{uuid.uuid4().hex[:15]}"
    customer_url = f"{stack.api}/v1/billing/default/customers/{crm_account}"
    first = httpx.put(customer_url, json={"name": "Acme", "currency": "USD", "country": "US"}, timeout=30)
    second = httpx.put(customer_url, json={"name": "Acme", "currency": "USD", "country": "US"}, timeout=30)
    assert first.status_code == second.status_code == 200, first.text
    assert first.json()["created"] is True and second.json()["created"] is False
    assert first.json()["id"] == second.json()["id"]
    customers = client.v1.customers.list(params={"limit": 100}).data
    assert [
        c.id
        for c in customers
        if c.to_dict().get("metadata", {}).get("revbridge_crm_account_id") == crm_account
    ] == [first.json()["id"]]

    sub_url = f"{stack.api}/v1/billing/default/subscriptions/{crm_contract}"
    body = {
        "customer_id": first.json()["id"],
        "currency": "USD",
        "items": [{"billing_price_ref": lookup, "quantity": 3}],
    }
    sub1 = httpx.put(sub_url, json=body, timeout=30)
    sub2 = httpx.put(sub_url, json=body, timeout=30)
    assert sub1.status_code == sub2.status_code == 200, sub1.text
    assert (sub1.json()["created"], sub2.json()["created"]) == (True, False)
    assert sub1.json()["id"] == sub2.json()["id"]
    subs = client.v1.subscriptions.list(params={"customer": first.json()["id"], "status": "all"}).data
    assert len(subs) == 1

    invoice_id = sub1.json()["latest_invoice_id"]
    assert invoice_id
    invoice = httpx.get(f"{stack.api}/v1/billing/default/invoices/{invoice_id}", timeout=30)
    assert invoice.status_code == 200, invoice.text
    got = invoice.json()
    assert got["crm_contract_id"] == crm_contract and got["total"] == 3 * 125050
    assert got["lines"][0]["product_code"] == "SEAT"
    listed = httpx.get(f"{stack.api}/v1/billing/default/invoices", params={"limit": 100}, timeout=30).json()
    assert invoice_id in [i["id"] for i in listed["items"]]
    missing = httpx.get(f"{stack.api}/v1/billing/default/invoices/in_{uuid.uuid4().hex[:14]}", timeout=30)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"

    unknown = httpx.put(
        f"{stack.api}/v1/billing/default/subscriptions/800{uuid.uuid4().hex[:15]}",
        json={**body, "items": [{"billing_price_ref": "no-such-price", "quantity": 1}]},
        timeout=30,
    )
    assert unknown.status_code == 422
    assert unknown.json()["invalid_params"][0]["name"] == "items[0].billing_price_ref"


def _records(stack: Stack, record_type: str, external_id: str) -> list[dict]:
    rows = httpx.get(f"{stack.netsuite}/__sandbox/records/{record_type}").json()
    return [r for r in rows if r.get("externalId") == external_id]


def test_erp_customer_invoice_payment_upserted_twice_exist_once(stack: Stack) -> None:
    cust, inv, pay = (f"{p}{uuid.uuid4().hex[:10]}" for p in ("001", "in_", "pi_"))
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    customer = {"name": "Acme UK", "subsidiary_id": "2", "currency": "GBP", "crm_account_id": cust}
    invoice = {
        "customer_external_id": cust,
        "currency": "GBP",
        "tran_date": "2024-06-01",
        "memo": inv,
        "lines": [
            {
                "item_id": "102",
                "quantity": 3,
                "amount": 375150,
                "period_start": "2024-06-01",
                "period_end": "2024-06-30",
            }
        ],
    }
    payment = {
        "customer_external_id": cust,
        "invoice_external_id": inv,
        "currency": "GBP",
        "amount": 375150,
        "tran_date": "2024-06-02",
    }
    for path, body, record_type, eid in (
        (f"customers/{cust}", customer, "customer", cust),
        (f"invoices/{inv}", invoice, "invoice", inv),
        (f"payments/{pay}", payment, "customerpayment", pay),
    ):
        first = httpx.put(
            f"{stack.api}/v1/erp/{path}", json=body, headers={"traceparent": traceparent}, timeout=30
        )
        second = httpx.put(f"{stack.api}/v1/erp/{path}", json=body, timeout=30)
        assert first.status_code == second.status_code == 200, first.text
        assert first.json() == second.json() and first.json()["external_id"] == eid
        assert len(_records(stack, record_type, eid)) == 1
    got = httpx.get(f"{stack.api}/v1/erp/invoices/{inv}").json()
    assert (got["total"], got["amount_paid"], got["currency"]) == (375150, 375150, "GBP")
    log = httpx.get(f"{stack.netsuite}/__sandbox/requests", params={"limit": 1000}).json()
    trace_id = traceparent.split("-")[1]
    assert any(trace_id in entry["headers"].get("traceparent", "") for entry in log)


def test_erp_invoice_for_unknown_customer_is_conflict(stack: Stack) -> None:
    body = {
        "customer_external_id": "nobody",
        "currency": "USD",
        "tran_date": "2024-06-01",
        "lines": [
            {
                "item_id": "101",
                "quantity": 1,
                "amount": 100,
                "period_start": "2024-06-01",
                "period_end": "2024-06-30",
            }
        ],
    }
    response = httpx.put(f"{stack.api}/v1/erp/invoices/in_{uuid.uuid4().hex[:10]}", json=body, timeout=30)
    assert response.status_code == 409


def test_erp_invoice_write_whose_response_was_lost_is_not_duplicated(stack: Stack) -> None:
    cust, inv = f"001{uuid.uuid4().hex[:10]}", f"in_{uuid.uuid4().hex[:10]}"
    assert (
        httpx.put(
            f"{stack.api}/v1/erp/customers/{cust}",
            json={"name": "Lost Co", "subsidiary_id": "1", "currency": "USD", "crm_account_id": cust},
        ).status_code
        == 200
    )
    fault = {
        "path": "/services/rest/record/v1/invoice",
        "method": "POST",
        "status": 500,
        "mode": "commit_then_drop",
        "count": 1,
    }
    assert httpx.post(f"{stack.netsuite}/__sandbox/faults", json=fault).is_success
    body = {
        "customer_external_id": cust,
        "currency": "USD",
        "tran_date": "2024-06-01",
        "lines": [
            {
                "item_id": "101",
                "quantity": 1,
                "amount": 990000,
                "period_start": "2024-06-01",
                "period_end": "2024-06-30",
            }
        ],
    }
    response = httpx.put(f"{stack.api}/v1/erp/invoices/{inv}", json=body, timeout=30)
    assert response.status_code == 200, response.text  # recovered by looking it up by external id
    assert httpx.get(f"{stack.netsuite}/__sandbox/faults").json()["data"] == []  # the answer was lost
    again = httpx.put(f"{stack.api}/v1/erp/invoices/{inv}", json=body, timeout=30)
    assert again.json() == response.json()
    assert len(_records(stack, "invoice", inv)) == 1
    txs = httpx.get(f"{stack.api}/v1/erp/transactions", params={"record_type": "invoice"}).json()["items"]
    assert [t["total"] for t in txs if t["external_id"] == inv] == [990000]
