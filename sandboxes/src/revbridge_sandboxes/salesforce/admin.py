"""Admin calls for tests and demos only (no auth, never part of the Salesforce surface).

Reset the org, read the request log and the callout deliveries, suppress pushes to prove the
polling path, and inject faults into the next N matching API calls.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from .faults import FaultSpec
from .state import get_state

router = APIRouter(prefix="/__sandbox", tags=["sandbox-admin"])


class Suppress(BaseModel):
    enabled: bool


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/reset")
async def reset(request: Request) -> dict[str, str]:
    get_state(request).reset()
    return {"status": "reset"}


@router.get("/requests")
async def requests(request: Request, limit: int = Query(default=100, ge=1, le=1000)) -> list[dict[str, Any]]:
    return list(get_state(request).requests)[-limit:]


@router.get("/callouts")
async def callouts(request: Request) -> list[dict[str, Any]]:
    return [d.view() for d in get_state(request).callouts.deliveries]


@router.post("/callouts/suppress")
async def suppress(body: Suppress, request: Request) -> dict[str, bool]:
    get_state(request).callouts.suppressed = body.enabled
    return {"enabled": body.enabled}


@router.get("/faults")
async def list_faults(request: Request) -> list[dict[str, object]]:
    return get_state(request).faults.pending()


@router.post("/faults", status_code=201)
async def add_fault(spec: FaultSpec, request: Request) -> dict[str, object]:
    get_state(request).faults.add(spec)
    return spec.model_dump()


@router.delete("/faults", status_code=204)
async def clear_faults(request: Request) -> None:
    get_state(request).faults.clear()
