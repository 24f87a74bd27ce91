"""``/__sandbox/*``: health, reset, the request log, fault injection and raw record dumps.

Tests and demos only; no auth. Record dumps are the stored form (references as ids) so that
assertions do not depend on the rendering.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from .errors import NetSuiteError
from .records.kinds import RecordKind, lookup
from .state import Fault, SandboxState


class FaultSpec(BaseModel):
    path_prefix: str = "/services/rest/"
    method: str | None = None
    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: int | None = Field(default=None, ge=0)
    latency_ms: int = Field(default=0, ge=0, le=120_000)
    count: int | None = Field(default=1, ge=1)
    mode: Literal["error", "commit_then_drop"] = "error"


def build_router() -> APIRouter:
    router = APIRouter(prefix="/__sandbox")

    def state_of(request: Request) -> SandboxState:
        return request.app.state.netsuite

    @router.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/governance")
    def governance(request: Request) -> dict[str, int]:
        """Requests holding a concurrency slot now, so tests can wait for them instead of sleeping."""
        state = state_of(request)
        return {"in_flight": state.in_flight, "limit": state.settings.concurrency}

    @router.post("/reset")
    def reset(request: Request) -> dict[str, str]:
        state_of(request).reset()
        return {"status": "reset"}

    @router.get("/requests")
    def requests(request: Request, limit: int = 100) -> list[dict[str, Any]]:
        log = list(state_of(request).request_log)
        return log[-limit:] if limit > 0 else []

    @router.post("/faults")
    def add_fault(request: Request, spec: FaultSpec) -> dict[str, Any]:
        if spec.mode == "error" and spec.status is None and not spec.latency_ms:
            raise NetSuiteError(400, "INVALID_PARAMETER", "A fault needs a status, latency_ms, or both.")
        state_of(request).faults.append(Fault(**spec.model_dump()))
        return {"faults": len(state_of(request).faults)}

    @router.delete("/faults")
    def clear_faults(request: Request) -> dict[str, int]:
        state_of(request).faults.clear()
        return {"faults": 0}

    @router.get("/records/{record_type}")
    def dump(request: Request, record_type: str) -> list[dict[str, Any]]:
        kinds: dict[str, RecordKind] = request.app.state.netsuite_kinds
        kind = lookup(kinds, record_type)
        table = state_of(request).table(kind.name)
        return [table[key] for key in sorted(table, key=int)]

    return router
