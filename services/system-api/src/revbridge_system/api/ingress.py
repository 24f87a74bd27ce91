"""Platform pushes: Stripe webhooks and the Salesforce contract-activated callout.

Four steps and nothing else (STYLE §9): verify the signature over the raw body, record the
event by the vendor's id, enqueue, answer 2xx. No platform calls here; consumers do the work.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request, status
from revbridge_contracts.models import WebhookReceipt
from revbridge_contracts.telemetry import correlation_id
from revbridge_contracts.tracing import current_trace_fields

from revbridge_system.adapters.salesforce.mappers import contract_activated, is_valid_id
from revbridge_system.deps import AppSettings, Billing, Bus, Crm
from revbridge_system.errors import BadRequest, field_error

log = logging.getLogger("revbridge_system.ingress")
router = APIRouter()
STRIPE_SIGNATURE = "Stripe-Signature"
REVBRIDGE_SIGNATURE = "X-Revbridge-Signature"


def _raw_ingress(header: str) -> dict[str, Any]:
    """OpenAPI for a route that reads its raw body and signature header itself.

    The header is declared here rather than with ``Header()`` so that a missing signature is the
    same 400 problem as a bad one (FastAPI would answer 422), while the contract still says required.
    """
    return {
        "parameters": [{"name": header, "in": "header", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    }


PUSH_SOURCE = "salesforce.push"


@router.post(
    "/v1/webhooks/stripe/{account}",
    operation_id="receiveStripeWebhook",
    response_model=WebhookReceipt,
    summary="Stripe webhook ingress (signature verified, recorded by event id, enqueued)",
    openapi_extra=_raw_ingress(STRIPE_SIGNATURE),
)
async def receive_stripe_webhook(
    account: str,
    request: Request,
    billing: Billing,
    bus: Bus,
    settings: AppSettings,
) -> WebhookReceipt:
    raw = await request.body()
    event = billing.verify_webhook(account, raw, request.headers.get(STRIPE_SIGNATURE))
    envelope = billing.to_envelope(event, account, current_trace_fields(), correlation_id())
    fresh = await bus.record_once(
        f"stripe:event:{account}:{event['id']}", settings.webhook_record_ttl_seconds, envelope
    )
    log.info(
        "stripe.webhook.received",
        extra={
            "account": account,
            "event_id": event["id"],
            "event_type": event.get("type"),
            "duplicate": not fresh,
            "enqueued": fresh and envelope is not None,
        },
    )
    return WebhookReceipt(received=True, duplicate=not fresh, event_id=event["id"])


@router.post(
    "/v1/callouts/salesforce/contract-activated",
    operation_id="receiveSalesforceContractActivated",
    response_model=WebhookReceipt,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Signed push from Salesforce when a contract is activated",
    openapi_extra=_raw_ingress(REVBRIDGE_SIGNATURE),
)
async def receive_salesforce_contract_activated(request: Request, crm: Crm, bus: Bus) -> WebhookReceipt:
    raw = await request.body()
    crm.verify_callout(request.headers.get(REVBRIDGE_SIGNATURE), raw)
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise field_error(BadRequest, "body", "not JSON") from exc
    if not isinstance(body, dict) or body.get("event") != "contract.activated":
        raise field_error(BadRequest, "event", "expected 'contract.activated'")
    contract_id = body.get("contractId")
    if not isinstance(contract_id, str) or not is_valid_id(contract_id):
        raise field_error(BadRequest, "contractId", "not a Salesforce id")
    envelope = contract_activated(contract_id, PUSH_SOURCE, current_trace_fields(), correlation_id())
    await bus.publish(envelope)
    log.info("salesforce.push.received", extra={"contract_id": contract_id})
    return WebhookReceipt(received=True, duplicate=False, event_id=envelope.id)
