"""SOQL polling catches a contract whose push was lost (and not our own write-backs); CRM reads and the
write-back round-trip."""

from __future__ import annotations

import asyncio

import httpx
from redis.asyncio import Redis
from revbridge_contracts.events import EventEnvelope
from revbridge_system.adapters.salesforce.client import SalesforceCrm
from revbridge_system.bus import EventBus
from revbridge_system.poller import DIGEST_KEY, WATERMARK_KEY, Digests, Watermark, poll_once
from revbridge_system.settings import Settings

from tests.integration.system.conftest import Salesforce, Stack

CRM = "events:crm"


async def _poll(settings: Settings) -> int:
    redis = Redis.from_url(settings.redis_url)
    crm = SalesforceCrm(settings.salesforce)
    try:
        bus = EventBus(redis, settings.key_prefix)
        watermark = Watermark(redis, bus.key(WATERMARK_KEY))
        return await poll_once(crm, bus, watermark, Digests(redis, bus.key(DIGEST_KEY)))
    finally:
        await crm.aclose()
        await redis.aclose()


def test_poll_picks_up_a_contract_whose_push_was_suppressed(stack: Stack, env_for_inprocess: None) -> None:
    assert httpx.post(f"{stack.salesforce}/__sandbox/callouts/suppress", json={"enabled": True}).is_success
    try:
        sf = Salesforce(stack.salesforce)
        _, contract = sf.draft_contract("Silent GmbH")
        sf.update("Contract", contract, Status="Activated")
        settings = Settings()
        asyncio.run(_poll(settings))
        polled = [EventEnvelope.from_fields(f) for _, f in stack.redis.xrange(f"{stack.prefix}{CRM}")]
        assert any(e.subject == contract and e.source == "salesforce.poll" for e in polled)
        assert not any(e.subject == contract and e.source == "salesforce.push" for e in polled)
        watermark = stack.redis.get(f"{stack.prefix}{WATERMARK_KEY}")
        assert watermark is not None and contract.encode() in watermark
        before = stack.xlen(CRM)
        assert asyncio.run(_poll(settings)) == 0  # watermark advanced: nothing new, nothing re-published
        assert stack.xlen(CRM) == before
    finally:
        httpx.post(f"{stack.salesforce}/__sandbox/callouts/suppress", json={"enabled": False})


def test_poll_skips_a_contract_only_our_write_back_changed(stack: Stack, env_for_inprocess: None) -> None:
    """The billing-link and dunning write-backs move SystemModstamp; the poller announces the contract
    again only when a field onboarding reads changed (here its term), not after each write-back."""
    assert httpx.post(f"{stack.salesforce}/__sandbox/callouts/suppress", json={"enabled": True}).is_success
    try:
        sf = Salesforce(stack.salesforce)
        _, contract = sf.draft_contract("Quiet Oy")
        sf.update("Contract", contract, Status="Activated")
        settings = Settings()
        asyncio.run(_poll(settings))

        def announced() -> int:
            entries = [EventEnvelope.from_fields(f) for _, f in stack.redis.xrange(f"{stack.prefix}{CRM}")]
            return sum(1 for e in entries if e.subject == contract)

        assert announced() == 1
        link = {
            "billing_customer_id": "cus_quiet",
            "billing_subscription_id": "sub_quiet",
            "erp_customer_id": "91",
            "billing_status": "active",
            "synced_at": "2024-06-01T12:00:00Z",
        }
        put = httpx.put(f"{stack.api}/v1/crm/contracts/{contract}/billing-link", json=link)
        assert put.status_code == 200, put.text
        dunning = {
            "billing_status": "past_due",
            "invoice_id": "in_quiet",
            "attempt_count": 1,
            "amount_due": 5000,
            "currency": "USD",
            "synced_at": "2024-06-02T12:00:00Z",
        }
        put = httpx.put(f"{stack.api}/v1/crm/contracts/{contract}/dunning-status", json=dunning)
        assert put.status_code == 200, put.text
        watermark_before = stack.redis.get(f"{stack.prefix}{WATERMARK_KEY}")
        asyncio.run(_poll(settings))
        assert announced() == 1  # our own write-backs: nothing to onboard again
        assert stack.redis.get(f"{stack.prefix}{WATERMARK_KEY}") != watermark_before  # but seen

        sf.update("Contract", contract, ContractTerm=24)  # sales renews it for two years
        assert asyncio.run(_poll(settings)) == 1
        assert announced() == 2
    finally:
        httpx.post(f"{stack.salesforce}/__sandbox/callouts/suppress", json={"enabled": False})


def test_contract_read_and_billing_link_write_back(stack: Stack) -> None:
    sf = Salesforce(stack.salesforce)
    account, contract = sf.draft_contract("Linked Inc")
    got = httpx.get(f"{stack.api}/v1/crm/contracts/{contract}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["status"] == "draft" and body["account_id"] == account and body["currency"] == "USD"
    assert [
        (line["product_code"], line["quantity"], line["unit_amount"], line["amount"])
        for line in body["lines"]
    ] == [("SEAT", 3, 125050, 375150)]
    link = {
        "billing_customer_id": "cus_1",
        "billing_subscription_id": "sub_1",
        "erp_customer_id": "77",
        "billing_status": "active",
        "synced_at": "2024-06-01T12:00:00Z",
    }
    put = httpx.put(f"{stack.api}/v1/crm/contracts/{contract}/billing-link", json=link)
    assert put.status_code == 200, put.text
    assert (put.json()["billing_subscription_id"], put.json()["billing_status"]) == ("sub_1", "active")
    customer = httpx.get(f"{stack.api}/v1/crm/accounts/{account}").json()
    assert (customer["billing_customer_id"], customer["erp_customer_id"]) == ("cus_1", "77")


def test_bad_and_unknown_ids_are_problems_not_500s(stack: Stack) -> None:
    assert httpx.get(f"{stack.api}/v1/crm/contracts/800' OR Id != '").status_code == 400
    assert httpx.get(f"{stack.api}/v1/crm/contracts/800000000000000AAA").status_code == 404


def test_list_contracts_pages_with_a_cursor(stack: Stack) -> None:
    sf = Salesforce(stack.salesforce)
    created = {sf.draft_contract(f"Page {i}")[1] for i in range(3)}
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        params = {"limit": 2, "status": "draft", **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{stack.api}/v1/crm/contracts", params=params)
        assert page.status_code == 200, page.text
        seen += [c["id"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert created <= set(seen) and len(seen) == len(set(seen))
