"""``/__sandbox/*``: health, reset, the request log, fault injection (the common engine's
``/faults``) and raw record dumps.

Tests and demos only; no auth. Record dumps are the stored form (references as ids) so that
assertions do not depend on the rendering.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .. import faults
from .records.kinds import RecordKind, lookup
from .state import SandboxState


def build_router() -> APIRouter:
    router = APIRouter(prefix="/__sandbox")

    def state_of(request: Request) -> SandboxState:
        return request.app.state.netsuite

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/governance")
    async def governance(request: Request) -> dict[str, int]:
        """Requests holding a concurrency slot now, so tests can wait for them instead of sleeping."""
        state = state_of(request)
        return {"in_flight": state.in_flight, "limit": state.settings.concurrency}

    @router.post("/reset")
    async def reset(request: Request) -> dict[str, str]:
        state_of(request).reset()
        return {"status": "reset"}

    @router.get("/requests")
    async def requests(request: Request, limit: int = 100) -> list[dict[str, Any]]:
        log = list(state_of(request).request_log)
        return log[-limit:] if limit > 0 else []

    @router.get("/records/{record_type}")
    async def dump(request: Request, record_type: str) -> list[dict[str, Any]]:
        kinds: dict[str, RecordKind] = request.app.state.netsuite_kinds
        kind = lookup(kinds, record_type)
        table = state_of(request).table(kind.name)
        return [table[key] for key in sorted(table, key=int)]

    return router


def faults_router() -> APIRouter:
    """The common engine's ``/__sandbox/faults`` over this sandbox's plan."""
    return faults.admin_router(lambda request: request.app.state.netsuite.faults)
