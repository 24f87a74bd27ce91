"""``/v1/onboardings``: start (or re-drive) a contract's onboarding, and read where it stands.

Starting only publishes a ``crm.contract.activated`` notification; the worker does the work, so
the answer is 202 with the status. Re-driving a done contract is harmless (every write is an
upsert) and keeps its ``done`` status until the worker has converged again.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header
from revbridge_contracts.events import EventEnvelope, EventType
from revbridge_contracts.problems import BadRequest, NotFound
from revbridge_contracts.process import FlowState, OnboardingRequest, OnboardingStatus
from revbridge_contracts.telemetry import correlation_id
from revbridge_contracts.tracing import current_trace_fields

from revbridge_process.deps import Bus, Store

router = APIRouter()


@router.post(
    "/v1/onboardings",
    operation_id="startOnboarding",
    response_model=OnboardingStatus,
    status_code=202,
    summary="Start (or re-drive) onboarding of an activated contract",
)
async def start_onboarding(
    body: OnboardingRequest,
    store: Store,
    bus: Bus,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> OnboardingStatus:
    current = await store.get_status(body.contract_id)
    if idempotency_key:
        first, claimed = await store.claim_idempotency_key(f"onboarding:{idempotency_key}", body.contract_id)
        if first != body.contract_id:
            raise BadRequest(f"Idempotency-Key already used for contract {first}")
        if not claimed and current is not None:  # a replay of the same request: answer, publish nothing
            return current
    carried: dict[str, str] = dict(current_trace_fields())
    if cid := correlation_id():
        carried["correlation_id"] = cid
    envelope = EventEnvelope(
        type=EventType.contract_activated, source="api", subject=body.contract_id, **carried
    )
    if current is None or current.state != FlowState.done:
        current = OnboardingStatus(
            contract_id=body.contract_id, state=FlowState.queued, updated_at=dt.datetime.now(dt.UTC)
        )
        await store.put_status(current)
    await bus.publish(envelope)
    return current


@router.get("/v1/onboardings/{contract_id}", operation_id="getOnboarding", response_model=OnboardingStatus)
async def get_onboarding(contract_id: str, store: Store) -> OnboardingStatus:
    status = await store.get_status(contract_id)
    if status is None:
        raise NotFound(f"no onboarding seen for contract {contract_id}")
    return status
