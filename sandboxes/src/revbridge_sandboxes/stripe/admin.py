"""``/__sandbox/*``: health, reset, request log and webhook deliveries (faults: the common engine).

Only tests and demos call these; they take no auth and are not part of Stripe's API.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from .. import faults
from ..faults import FaultPlan
from .state import SandboxState

router = APIRouter(prefix="/__sandbox")


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/reset")
async def reset(request: Request) -> dict[str, str]:
    """Drop every object, event, key, log entry and fault; keep accounts and configured endpoints."""
    _state(request).reset()
    return {"status": "reset"}


@router.get("/requests")
async def requests(request: Request, limit: int = 100) -> dict[str, Any]:
    """The most recent ``limit`` API calls, oldest first."""
    log = list(_state(request).requests)
    return {"data": log[-limit:] if limit > 0 else []}


@router.get("/webhooks/deliveries")
async def deliveries(request: Request) -> dict[str, Any]:
    """Every undelivered delivery (pending, held, failed) and the latest delivered ones, oldest
    first; ``summary`` counts all of them since start (or the last reset)."""
    webhooks = _state(request).webhooks
    return {"data": [d.row() for d in webhooks.deliveries], "summary": webhooks.summary()}


@router.get("/webhooks/summary")
async def delivery_summary(request: Request) -> dict[str, int]:
    """The counts of ``/webhooks/deliveries`` alone: cheap to poll during a large backlog."""
    return _state(request).webhooks.summary()


@router.get("/retention")
async def retention(request: Request) -> dict[str, Any]:
    """Per account: what is bounded (events, idempotency keys) and how many objects of each
    archivable kind are kept compressed rather than live."""
    return {
        "data": [
            {
                "account": account.account_id,
                "events": len(account.events),
                "events_dropped": account.events.dropped,
                "idempotency_keys": len(account.idempotency),
                "archived": account.archived_counts(),
            }
            for account in _state(request).accounts.values()
        ]
    }


@router.post("/webhooks/hold")
async def hold_webhooks(request: Request) -> dict[str, str]:
    """Hold every webhook delivery from now on, so a test can release them in the order it chooses."""
    _state(request).webhooks.hold()
    return {"status": "holding"}


class Release(BaseModel):
    event_ids: list[str] | None = None
    order: Literal["forward", "reverse"] = "forward"


@router.post("/webhooks/release")
async def release_webhooks(request: Request, body: Release) -> dict[str, Any]:
    """Send held deliveries (all, or ``event_ids``) one by one, in the order held or reversed."""
    sent = await _state(request).webhooks.release(body.event_ids, reverse=body.order == "reverse")
    return {"sent": sent}


def _plan(request: Request) -> FaultPlan:
    return _state(request).faults


fault_router = faults.admin_router(_plan)
