"""Admin calls for tests and demos only (no auth, never part of the Salesforce surface).

Reset the org, read the request log and the callout deliveries, suppress pushes to prove the
polling path. Faults live under ``/__sandbox/faults`` (the common engine's router, wired in ``app``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

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


@router.post("/tokens/expire")
async def expire_tokens(request: Request) -> dict[str, int]:
    """Invalidate every issued access token, as a session timeout would (proves client re-login)."""
    tokens = get_state(request).tokens
    expired = len(tokens)
    tokens.clear()
    return {"expired": expired}
