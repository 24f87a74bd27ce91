"""Bad input is refused or recorded without stopping anything; one trace runs gateway → NetSuite."""

from __future__ import annotations

import json
import secrets

import httpx
import redis

from scripts import seed
from scripts.stack import Stack
from tests.e2e.test_spine import admin_list, netsuite_records, sf, with_external_id
from tests.support.procs import wait_until


def stream_length(stack: Stack, stream: str) -> int:
    r = redis.Redis.from_url(stack.redis_url)
    try:
        return int(r.xlen(stack.key_prefix + stream))
    finally:
        r.close()


def test_webhook_with_a_bad_signature_is_refused_and_nothing_is_enqueued(stack: Stack) -> None:
    before = stream_length(stack, "events:billing")
    body = json.dumps(
        {
            "id": "evt_forged",
            "object": "event",
            "type": "invoice.paid",
            "data": {"object": {"id": "in_forged", "object": "invoice"}},
        }
    )
    response = httpx.post(
        f"{stack.url('system')}/v1/webhooks/stripe/default",
        content=body,
        headers={"Stripe-Signature": "t=1,v1=deadbeef", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert stream_length(stack, "events:billing") == before


def test_gateway_refuses_unknown_clients_and_missing_scopes(stack: Stack) -> None:
    gw = stack.url("gateway")
    unknown = httpx.post(
        f"{gw}/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "nothing")
    )
    assert unknown.status_code == 401
    partner = seed.gateway_token(gw, seed.PARTNER_CLIENT)
    forbidden = httpx.get(
        f"{gw}/experience/v1/revenue/summary", headers={"Authorization": f"Bearer {partner}"}
    )
    assert forbidden.status_code == 403
    no_token = httpx.get(f"{gw}/experience/v1/revenue/summary")
    assert no_token.status_code == 401


def test_unmapped_product_is_recorded_with_its_reason_and_the_next_contract_flows(
    stack: Stack, demo: seed.Demo
) -> None:
    with sf(stack) as crm:
        products = {
            p["ProductCode"]: p["Id"]
            for p in crm.get("/query", params={"q": "SELECT Id, ProductCode FROM Product2"}).json()["records"]
        }
        odd = seed.sf_create(crm, "Product2", {"Name": "Legacy widget", "ProductCode": "LEGACY-WIDGET"})
        bad_account = seed.sf_create(
            crm, "Account", {"Name": "Initech", "BillingCountry": "US", "CurrencyIsoCode": "USD"}
        )
        good_account = seed.sf_create(
            crm, "Account", {"Name": "Hooli", "BillingCountry": "US", "CurrencyIsoCode": "USD"}
        )
        catalogue = {**products, "LEGACY-WIDGET": odd}
        bad = seed.seed_contract(crm, bad_account, catalogue, [("LEGACY-WIDGET", 3)], "Initech widgets")
        good = seed.seed_contract(crm, good_account, catalogue, [("SEAT", 5)], "Hooli seats")
        seed.activate(crm, bad)
        seed.activate(crm, good)
        wait_until(
            lambda: crm.get(f"/sobjects/Contract/{good}").json().get("Billing_Subscription_Id__c"),
            timeout=60,
            message="the good contract to be onboarded after the bad one",
        )
        assert crm.get(f"/sobjects/Contract/{bad}").json().get("Billing_Customer_Id__c") is None

    token = seed.gateway_token(stack.url("gateway"))

    def recorded() -> list[dict]:
        response = httpx.get(
            f"{stack.url('gateway')}/process/v1/exceptions",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        response.raise_for_status()
        return [e for e in response.json()["items"] if e["business_key"] == bad]

    records = wait_until(recorded, timeout=30, message="the exception record")
    assert records[0]["error_class"] == "mapping_missing"
    assert "LEGACY-WIDGET" in records[0]["reason"]
    assert records[0]["owner"]
    assert with_external_id(netsuite_records(stack, "customer"), bad_account) == []


def test_one_trace_runs_from_the_gateway_call_to_the_netsuite_write(stack: Stack, demo: seed.Demo) -> None:
    salesforce = stack.url("salesforce")
    httpx.post(f"{salesforce}/__sandbox/callouts/suppress", json={"enabled": True}).raise_for_status()
    try:
        with sf(stack) as crm:
            products = {
                p["ProductCode"]: p["Id"]
                for p in crm.get("/query", params={"q": "SELECT Id, ProductCode FROM Product2"}).json()[
                    "records"
                ]
            }
            account = seed.sf_create(
                crm, "Account", {"Name": "Umbrella", "BillingCountry": "US", "CurrencyIsoCode": "USD"}
            )
            contract = seed.seed_contract(crm, account, products, [("PLAT-ENT", 1)], "Umbrella platform")
            seed.activate(crm, contract)
    finally:
        httpx.post(f"{salesforce}/__sandbox/callouts/suppress", json={"enabled": False}).raise_for_status()

    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    partner = seed.gateway_token(stack.url("gateway"), seed.PARTNER_CLIENT)
    response = httpx.post(
        f"{stack.url('gateway')}/process/v1/onboardings",
        json={"contract_id": contract},
        headers={
            "Authorization": f"Bearer {partner}",
            "traceparent": traceparent,
            "Idempotency-Key": f"onboard-{contract}",
        },
    )
    assert response.status_code == 202, response.text

    def netsuite_write_in_trace() -> bool:
        entries = admin_list(
            httpx.get(f"{stack.url('netsuite')}/__sandbox/requests", params={"limit": 1000}).json()
        )
        return any(
            e["method"] == "PUT"
            and f"eid:{account}" in e["path"]
            and trace_id in (e.get("headers", {}).get("traceparent") or "")
            for e in entries
        )

    wait_until(netsuite_write_in_trace, timeout=60, message="a NetSuite customer write carrying the trace id")
