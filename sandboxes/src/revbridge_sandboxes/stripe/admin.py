"""``/__sandbox/*``: health, reset, request log, webhook deliveries and fault injection.

Only tests and demos call these; they take no auth and are not part of Stripe's API.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from .state import SandboxState

router = APIRouter(prefix="/__sandbox")


class Fault(BaseModel):
    """Fail the next ``count`` requests matching ``method`` (any if unset) and ``path_prefix``."""

    path_prefix: str = "/v1/"
    method: str | None = None
    status: int = Field(500, ge=400, le=599)
    retry_after: int | None = None
    count: int = Field(1, ge=1)
    mode: Literal["error", "commit_then_drop"] = "error"

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and (
            self.method is None or self.method.upper() == method.upper()
        )


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


@router.post("/faults")
async def add_fault(fault: Fault, request: Request) -> dict[str, Any]:
    _state(request).faults.append(fault)
    return {"data": [f.model_dump() for f in _state(request).faults]}


@router.get("/faults")
async def list_faults(request: Request) -> dict[str, Any]:
    return {"data": [f.model_dump() for f in _state(request).faults]}


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, Any]:
    _state(request).faults.clear()
    return {"data": []}
