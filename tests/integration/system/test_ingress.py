"""Ingress: signed webhooks and pushes reach the stream exactly once; unsigned ones never do."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import httpx
from revbridge_contracts.events import EventEnvelope

from tests.integration.system.conftest import CALLOUT_SECRET, WEBHOOK_SECRET, Salesforce, Stack
from tests.support.procs import wait_until

BILLING = "events:billing"
CRM = "events:crm"


def _stripe_event(event_type: str = "invoice.paid") -> bytes:
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex[:16]}",
            "object": "event",
            "type": event_type,
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "data": {"object": {"id": f"in_{uuid.uuid4().hex[:12]}", "object": "invoice"}},
        }
    ).encode()


def _sign(secret: str, body: bytes) -> str:
    ts = int(time.time())
    return f"t={ts},v1=" + hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


def test_webhook_with_bad_signature_is_rejected_and_enqueues_nothing(stack: Stack) -> None:
    before = stack.xlen(BILLING)
    body = _stripe_event()
    for headers in ({"Stripe-Signature": _sign("whsec_wrong", body)}, {}):
        response = httpx.post(
            f"{stack.api}/v1/webhooks/stripe/default",
            content=body,
            headers={"Content-Type": "application/json", **headers},
        )
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["invalid_params"][0]["name"] == "Stripe-Signature"
    assert stack.xlen(BILLING) == before


def test_duplicate_webhook_delivery_enqueues_once(stack: Stack) -> None:
    before = stack.xlen(BILLING)
    body = _stripe_event("invoice.finalized")
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    url = f"{stack.api}/v1/webhooks/stripe/default"
    first = httpx.post(
        url,
        content=body,
        headers={
            "Stripe-Signature": _sign(WEBHOOK_SECRET, body),
            "Content-Type": "application/json",
            "traceparent": traceparent,
        },
    )
    assert first.status_code == 200 and first.json()["duplicate"] is False
    again = httpx.post(
        url,
        content=body,
        headers={"Stripe-Signature": _sign(WEBHOOK_SECRET, body), "Content-Type": "application/json"},
    )
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}
    assert stack.xlen(BILLING) == before + 1
    [(_, fields)] = stack.redis.xrevrange(f"{stack.prefix}{BILLING}", count=1)
    envelope = EventEnvelope.from_fields(fields)
    event = json.loads(body)
    assert (envelope.vendor_event_id, envelope.subject, envelope.account) == (
        event["id"],
        event["data"]["object"]["id"],
        "default",
    )
    assert envelope.traceparent and envelope.traceparent.split("-")[1] == traceparent.split("-")[1]


def test_unhandled_event_type_is_acknowledged_not_enqueued(stack: Stack) -> None:
    before = stack.xlen(BILLING)
    body = _stripe_event("customer.created")
    response = httpx.post(
        f"{stack.api}/v1/webhooks/stripe/default",
        content=body,
        headers={"Stripe-Signature": _sign(WEBHOOK_SECRET, body)},
    )
    assert response.status_code == 200 and response.json()["duplicate"] is False
    assert stack.xlen(BILLING) == before


def test_unknown_stripe_account_is_404(stack: Stack) -> None:
    body = _stripe_event()
    response = httpx.post(
        f"{stack.api}/v1/webhooks/stripe/nope",
        content=body,
        headers={"Stripe-Signature": _sign(WEBHOOK_SECRET, body)},
    )
    assert response.status_code == 404


def test_salesforce_push_is_verified_and_enqueued(stack: Stack) -> None:
    sf = Salesforce(stack.salesforce)
    _, contract = sf.draft_contract("Pushed Ltd")
    sf.update("Contract", contract, Status="Activated")

    def pushed() -> bool:
        entries = stack.redis.xrange(f"{stack.prefix}{CRM}")
        return any(
            EventEnvelope.from_fields(f).subject == contract
            and EventEnvelope.from_fields(f).source == "salesforce.push"
            for _, f in entries
        )

    wait_until(pushed, timeout=15, message="push of the activated contract on the crm stream")


def test_salesforce_push_with_bad_signature_is_rejected(stack: Stack) -> None:
    before = stack.xlen(CRM)
    body = json.dumps({"event": "contract.activated", "contractId": "800000000000001AAA"}).encode()
    for header in (_sign("not-the-secret", body), f"t={int(time.time()) - 1000},v1=00"):
        response = httpx.post(
            f"{stack.api}/v1/callouts/salesforce/contract-activated",
            content=body,
            headers={"X-Revbridge-Signature": header},
        )
        assert response.status_code == 400
    ok = httpx.post(
        f"{stack.api}/v1/callouts/salesforce/contract-activated",
        content=body,
        headers={"X-Revbridge-Signature": _sign(CALLOUT_SECRET, body)},
    )
    assert ok.status_code == 202
    assert stack.xlen(CRM) == before + 1
