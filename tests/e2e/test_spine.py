"""One approved contract travels Salesforce → Stripe → NetSuite through all four layers.

Each test asserts the platforms' own state, read from the sandboxes, not revbridge's opinion.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import redis
import stripe

from scripts import seed
from scripts.stack import Stack
from tests.support.procs import wait_until

WEBHOOK_SECRET = "whsec_revbridge_demo"


def sf(stack: Stack) -> httpx.Client:
    return seed.salesforce_client(stack.url("salesforce"))


def stripe_client(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url("stripe"), auth=(seed.STRIPE_KEY, ""), timeout=10)


def netsuite_records(stack: Stack, record_type: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.url('netsuite')}/__sandbox/records/{record_type}", timeout=10)
    body = response.raise_for_status().json()
    return admin_list(body)


def admin_list(body: Any) -> list[dict[str, Any]]:
    """The sandboxes' admin lists come bare or wrapped in ``data``/``items``."""
    if isinstance(body, dict):
        return list(body.get("data") or body.get("items") or [])
    return list(body)


def with_external_id(records: list[dict[str, Any]], external_id: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("externalId") == external_id]


def all_events(billing: httpx.Client, types: list[str]) -> list[dict[str, Any]]:
    """Every event of ``types``, newest first, following the pages (other tests add events too)."""
    params: dict[str, Any] = {"limit": 100, "types[]": types}
    out: list[dict[str, Any]] = []
    while True:
        page = billing.get("/v1/events", params=params).raise_for_status().json()
        out += page["data"]
        if not page["has_more"] or not page["data"]:
            return out
        params["starting_after"] = page["data"][-1]["id"]


def bus_idle(stack: Stack) -> bool:
    """Every stream entry has been delivered to the workers and acknowledged."""
    r = redis.Redis.from_url(stack.redis_url)
    try:
        for stream in ("events:crm", "events:billing"):
            key = stack.key_prefix + stream
            if not r.exists(key):
                continue
            for group in r.xinfo_groups(key):
                if group["pending"] or (group.get("lag") or 0):
                    return False
        return True
    finally:
        r.close()


def test_contract_becomes_one_customer_subscription_invoice_and_payment(
    stack: Stack, demo: seed.Demo
) -> None:
    with sf(stack) as crm:
        contract = crm.get(f"/sobjects/Contract/{demo.contract_id}").raise_for_status().json()
        account = crm.get(f"/sobjects/Account/{demo.account_id}").raise_for_status().json()
    assert contract["Billing_Customer_Id__c"].startswith("cus_")
    assert contract["Billing_Subscription_Id__c"].startswith("sub_")
    assert contract["ERP_Customer_Id__c"]
    assert contract["Billing_Status__c"] == "active"
    assert account["Billing_Customer_Id__c"] == contract["Billing_Customer_Id__c"]

    with stripe_client(stack) as billing:
        query = f"metadata['revbridge_crm_account_id']:'{demo.account_id}'"  # exact, whatever else exists
        customers = billing.get("/v1/customers/search", params={"query": query, "limit": 100}).json()["data"]
        mine = [c for c in customers if c["metadata"].get("revbridge_crm_account_id") == demo.account_id]
        assert [c["id"] for c in mine] == [contract["Billing_Customer_Id__c"]]
        subs = billing.get("/v1/subscriptions", params={"customer": mine[0]["id"], "limit": 100}).json()[
            "data"
        ]
        assert [s["id"] for s in subs] == [contract["Billing_Subscription_Id__c"]]
        invoice = billing.get(f"/v1/invoices/{demo.invoice_id}").json()
        assert invoice["status"] == "paid"

    erp_customers = with_external_id(netsuite_records(stack, "customer"), demo.account_id)
    assert len(erp_customers) == 1
    assert erp_customers[0]["id"] == contract["ERP_Customer_Id__c"]
    erp_invoices = with_external_id(netsuite_records(stack, "invoice"), demo.invoice_id)
    assert len(erp_invoices) == 1
    assert erp_invoices[0]["total"] * 100 == invoice["total"]
    assert erp_invoices[0]["status"] == "Paid In Full"
    payments = [
        p
        for p in netsuite_records(stack, "customerpayment")
        if any(a["doc"] == erp_invoices[0]["id"] for a in p["apply"])
    ]
    assert len(payments) == 1


def test_revenue_summary_through_the_gateway_shows_the_invoice_posted_and_paid(
    stack: Stack, demo: seed.Demo
) -> None:
    token = seed.gateway_token(stack.url("gateway"))
    response = httpx.get(
        f"{stack.url('gateway')}/experience/v1/revenue/summary",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    usd = next(c for c in response.json()["currencies"] if c["currency"] == "USD")
    with stripe_client(stack) as billing:
        paid = billing.get(f"/v1/invoices/{demo.invoice_id}").json()["amount_paid"]
    assert usd["posted_invoices"] >= paid > 0
    assert usd["posted_payments"] >= paid
    assert usd["bookings"] > 0


def test_every_webhook_delivered_twice_and_out_of_order_posts_once(stack: Stack, demo: seed.Demo) -> None:
    with stripe_client(stack) as billing:
        events = all_events(billing, ["invoice.finalized", "invoice.paid"])
    invoice_events = [e for e in events if e["data"]["object"].get("id") == demo.invoice_id]
    assert {"invoice.finalized", "invoice.paid"} <= {e["type"] for e in invoice_events}
    url = f"{stack.url('system')}/v1/webhooks/stripe/default"
    # newest first is already the reverse of how they happened; send that order twice
    for _ in range(2):
        for event in invoice_events:
            payload = json.dumps(event)
            header = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
            response = httpx.post(
                url, content=payload, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
            )
            assert response.status_code == 200, response.text
    # at-least-once delivery past the ingress dedupe: the same notifications again on the bus
    r = redis.Redis.from_url(stack.redis_url)
    for event_type in ("billing.invoice.paid", "billing.invoice.finalized", "billing.invoice.paid"):
        r.xadd(
            stack.key_prefix + "events:billing",
            {
                "id": f"redelivery-{time.monotonic_ns()}",
                "type": event_type,
                "source": "stripe.webhook",
                "subject": demo.invoice_id,
                "account": "default",
                "occurred_at": "2026-01-01T00:00:00Z",
                "correlation_id": "redelivery",
            },
        )
    r.close()
    wait_until(lambda: bus_idle(stack), timeout=30, message="the workers to drain the bus")
    assert len(with_external_id(netsuite_records(stack, "invoice"), demo.invoice_id)) == 1
    erp_invoice = with_external_id(netsuite_records(stack, "invoice"), demo.invoice_id)[0]
    payments = [
        p
        for p in netsuite_records(stack, "customerpayment")
        if any(a["doc"] == erp_invoice["id"] for a in p["apply"])
    ]
    assert len(payments) == 1
    assert erp_invoice["amountPaid"] == erp_invoice["total"]
