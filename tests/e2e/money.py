"""Helpers for the revenue-flow e2e tests: a fresh onboarded contract per test, the platforms'
own state read back from the sandboxes, and webhook (re)delivery in any order.

Each test onboards its own customer and contract, so tests never share invoices; every assertion
reads the platforms (Stripe, Salesforce, NetSuite sandboxes), not revbridge's opinion.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import redis
from psycopg.rows import dict_row
from revbridge_db import readmodel

from scripts import seed
from scripts.stack import STRIPE_DEMO_ACCOUNTS, Stack
from tests.support.procs import wait_until

COUNTRY = {"default": ("US", "USD"), "uk": ("GB", "GBP")}


@dataclass
class Onboarded:
    account: str
    """Stripe account (billing account) of the contract's legal entity."""
    crm_account_id: str
    contract_id: str
    subscription_id: str
    invoice_id: str
    """The subscription's first invoice (open: the subscriptions send invoices)."""


def stripe_http(stack: Stack, account: str = "default") -> httpx.Client:
    key = STRIPE_DEMO_ACCOUNTS[account]["secret_key"]
    return httpx.Client(base_url=stack.url("stripe"), auth=(key, ""), timeout=15)


def netsuite(stack: Stack, record_type: str, external_id: str | None = None) -> list[dict[str, Any]]:
    rows = httpx.get(
        f"{stack.url('netsuite')}/__sandbox/records/{record_type}", timeout=15
    ).raise_for_status()
    found: list[dict[str, Any]] = rows.json()
    return [r for r in found if external_id is None or r.get("externalId") == external_id]


def one(stack: Stack, record_type: str, external_id: str, timeout: float = 30) -> dict[str, Any]:
    """The single NetSuite record with this external id, once it exists."""
    rows = wait_until(
        lambda: netsuite(stack, record_type, external_id),
        timeout=timeout,
        message=f"{record_type} {external_id}",
    )
    assert len(rows) == 1, rows
    return rows[0]


def bus_idle(stack: Stack) -> bool:
    r = redis.Redis.from_url(stack.redis_url)
    try:
        for stream in ("events:crm", "events:billing"):
            key = stack.key_prefix + stream
            if r.exists(key):
                for group in r.xinfo_groups(key):
                    if group["pending"] or (group.get("lag") or 0):
                        return False
        return True
    finally:
        r.close()


def webhooks_sent(stack: Stack) -> bool:
    """No Stripe webhook delivery is still pending in the sandbox."""
    body = httpx.get(f"{stack.url('stripe')}/__sandbox/webhooks/deliveries", timeout=15).json()
    return all(d["status"] != "pending" for d in body["data"])


def drain(stack: Stack, timeout: float = 30) -> None:
    """Every webhook sent and every bus entry handled: what the platforms did has reached the ERP."""
    wait_until(lambda: webhooks_sent(stack), timeout=timeout, interval=0.1, message="webhook deliveries")
    wait_until(lambda: bus_idle(stack), timeout=timeout, interval=0.2, message="the workers to drain the bus")


def onboard(
    stack: Stack,
    account: str = "default",
    lines: list[tuple[str, int]] | None = None,
    tax_id: str | None = "GB987654321",
    wait_for_erp: bool = True,
) -> Onboarded:
    """A new customer and activated contract in the legal entity billed by ``account``, onboarded."""
    seed.seed_catalogues(stack)
    country, currency = COUNTRY[account]
    suffix = uuid.uuid4().hex[:6]
    with seed.salesforce_client(stack.url("salesforce")) as sf:
        products = {}
        for code, name, _, _ in seed.CATALOGUE:
            rows = sf.get(
                "/query", params={"q": f"SELECT Id FROM Product2 WHERE ProductCode = '{code}'"}
            ).json()
            products[code] = (
                rows["records"][0]["Id"]
                if rows["records"]
                else seed.sf_create(sf, "Product2", {"Name": name, "ProductCode": code, "IsActive": True})
            )
        fields: dict[str, Any] = {
            "Name": f"Acme {suffix}",
            "BillingCountry": country,
            "CurrencyIsoCode": currency,
        }
        if tax_id and country == "GB":
            fields["Tax_Id__c"] = tax_id
        crm_account = seed.sf_create(sf, "Account", fields)
        contract = seed.seed_contract(
            sf, crm_account, products, lines or [("PLAT-ENT", 1), ("SEAT", 10)], f"Acme {suffix}", currency
        )
        seed.activate(sf, contract)
        subscription = wait_until(
            lambda: sf.get(f"/sobjects/Contract/{contract}").json().get("Billing_Subscription_Id__c"),
            timeout=60,
            interval=0.2,
            message=f"contract {contract} to be onboarded",
        )
    with stripe_http(stack, account) as billing:
        invoice = billing.get(f"/v1/subscriptions/{subscription}").raise_for_status().json()["latest_invoice"]
    if wait_for_erp:
        one(stack, "invoice", invoice)  # the first invoice reached the ERP
    return Onboarded(account, crm_account, contract, subscription, invoice)


def sf_record(stack: Stack, sobject: str, record_id: str) -> dict[str, Any]:
    with seed.salesforce_client(stack.url("salesforce")) as sf:
        return dict(sf.get(f"/sobjects/{sobject}/{record_id}").raise_for_status().json())


def redeliver(stack: Stack, account: str, *notices: tuple[str, str]) -> None:
    """At-least-once delivery past the ingress dedupe: put (type, subject) notices on the bus again."""
    r = redis.Redis.from_url(stack.redis_url)
    try:
        for event_type, subject in notices:
            r.xadd(
                stack.key_prefix + "events:billing",
                {
                    "id": f"redelivery-{uuid.uuid4().hex}",
                    "type": event_type,
                    "source": "stripe.webhook",
                    "subject": subject,
                    "account": account,
                    "occurred_at": "2026-01-01T00:00:00Z",
                    "correlation_id": "redelivery",
                },
            )
    finally:
        r.close()


def exceptions(stack: Stack, **filters: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.url('process')}/v1/exceptions", params=filters, timeout=15)
    return list(response.raise_for_status().json()["items"])


def facts(stack: Stack, kind: str, key: str) -> list[dict[str, Any]]:
    """Every version of a fact in the ledger, oldest first."""
    with psycopg.connect(stack.database_url, row_factory=dict_row) as conn:
        return list(
            conn.execute(
                "SELECT * FROM revbridge.ledger_fact WHERE kind = %s AND key = %s ORDER BY id", (kind, key)
            )
        )


@contextmanager
def holding(stack: Stack) -> Iterator[None]:
    """Inside the block the Stripe sandbox keeps its webhooks until ``release``; whatever is still
    held when the block ends (a failed assertion included) is sent, so no later test waits on it."""
    httpx.post(f"{stack.url('stripe')}/__sandbox/webhooks/hold", timeout=15).raise_for_status()
    try:
        yield
    finally:
        httpx.post(
            f"{stack.url('stripe')}/__sandbox/webhooks/release", json={}, timeout=60
        ).raise_for_status()


def held(stack: Stack) -> list[dict[str, Any]]:
    body = httpx.get(f"{stack.url('stripe')}/__sandbox/webhooks/deliveries", timeout=15).json()
    return [d for d in body["data"] if d["status"] == "held"]


def release(stack: Stack, *types: str, order: str = "forward") -> list[str]:
    """Send the held webhooks (only those of ``types`` when given) one by one, then drain the bus;
    the event types sent, in the order sent."""
    waiting = {d["event_id"]: d["type"] for d in held(stack) if not types or d["type"] in types}
    response = httpx.post(
        f"{stack.url('stripe')}/__sandbox/webhooks/release",
        json={"event_ids": list(waiting), "order": order} if types else {"order": order},
        timeout=60,
    )
    sent: list[str] = response.raise_for_status().json()["sent"]
    drain(stack)
    return [waiting[event_id] for event_id in sent]


def ledger_folded(stack: Stack) -> bool:
    """Whether the projector has folded every ledger row into the read model."""
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute(readmodel.UNFOLDED_SQL).fetchone()
    return bool(row and row[0] == 0)
