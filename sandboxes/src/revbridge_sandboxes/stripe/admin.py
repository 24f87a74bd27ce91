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
    return {"data": [d.model_dump() for d in _state(request).webhooks.deliveries]}


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
