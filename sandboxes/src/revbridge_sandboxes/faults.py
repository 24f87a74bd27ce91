"""Faults on demand, the same in every sandbox: errors, 429s, latency, timeouts, lost answers.

A ``FaultPlan`` holds rules matched by method and path glob. Each rule fires with a probability
drawn from the plan's own seeded RNG (so a run can be repeated exactly) and optionally a limited
number of times. Kinds:

- ``error``: answer ``status`` (500/502/503/504) in the platform's error shape;
- ``rate_limit``: answer 429 with ``Retry-After``;
- ``latency``: wait ``latency_ms`` and then serve the request normally;
- ``timeout``: hold the request ``hang_seconds`` (longer than any client waits) before a 504;
- ``commit_then_drop``: serve the request — the write happens — then answer 500 as if the
  response had been lost on the way back.

``latency_ms`` also delays the other kinds. Rules come from the admin endpoint
(``/__sandbox/faults``) or from the environment (``<PLATFORM>_SANDBOX_FAULTS``, a JSON list of
rules, and ``<PLATFORM>_SANDBOX_FAULT_SEED``). Each platform renders errors in its own shape.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import os
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, TypeAdapter, model_validator

FaultKind = Literal["error", "rate_limit", "latency", "timeout", "commit_then_drop"]
ADMIN_PREFIX = "/__sandbox/"
CallNext = Callable[[Request], Awaitable[Response]]
Render = Callable[[int, "FaultRule"], Response]


class FaultRule(BaseModel):
    path: str = Field(default="*", description="glob on the request path, e.g. /v1/invoices*")
    method: str | None = Field(default=None, description="HTTP method; none means any")
    kind: FaultKind = "error"
    status: Literal[403, 409, 429, 500, 502, 503, 504] = 500  # 403: Salesforce limits; 409: Stripe locks
    retry_after: int | None = Field(default=None, ge=0)
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    hang_seconds: float = Field(default=120.0, ge=0, le=3600)
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    count: int | None = Field(
        default=1, ge=1, description="fires this many times (default once, or always with a probability)"
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_short_forms(cls, data: Any) -> Any:
        """``path_prefix`` and ``mode`` (the first sandboxes' names) are still understood."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "path_prefix" in data and "path" not in data:
            data["path"] = str(data.pop("path_prefix")).rstrip("*") + "*"
        if "mode" in data and "kind" not in data:
            data["kind"] = data.pop("mode")
        if not {"kind", "status"} & data.keys() and data.get("latency_ms"):
            data["kind"] = "latency"  # a rule that only names a delay slows requests down
        if data.get("kind") in (None, "error") and data.get("status") == 429:
            data["kind"] = "rate_limit"
        if data.get("kind") == "rate_limit":
            data["status"] = 429
        if "count" not in data:
            # "the next matching request fails" unless a rate is given, which applies until cleared
            data["count"] = 1 if float(data.get("probability", 1.0)) >= 1.0 else None
        return data

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method.upper()) and fnmatch.fnmatchcase(
            path, self.path
        )


_RULES = TypeAdapter(list[FaultRule])


class FaultPlan:
    """The active rules and the RNG they draw from."""

    def __init__(self, rules: list[FaultRule] | None = None, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = list(rules or [])
        self.seed = seed
        self._rng = random.Random(seed)

    @classmethod
    def from_env(cls, platform: str) -> FaultPlan:
        prefix = f"{platform.upper()}_SANDBOX_"
        raw = os.environ.get(prefix + "FAULTS", "").strip()
        rules = _RULES.validate_python(json.loads(raw)) if raw else []
        seed_text = os.environ.get(prefix + "FAULT_SEED", "").strip()
        return cls(rules, int(seed_text) if seed_text else None)

    def add(self, rules: list[FaultRule]) -> None:
        self.rules.extend(rule.model_copy() for rule in rules)

    def clear(self) -> None:
        self.rules.clear()

    def reseed(self, seed: int | None) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def draw(self, method: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, if any (consuming one of its uses)."""
        for rule in list(self.rules):
            if not rule.matches(method, path):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
            return rule
        return None

    def describe(self) -> dict[str, Any]:
        return {"seed": self.seed, "data": [r.model_dump() for r in self.rules]}


async def apply(plan: FaultPlan, request: Request, call_next: CallNext, render: Render) -> Response:
    """Serve ``request`` through the plan: untouched when no rule fires (admin calls never fault)."""
    if request.url.path.startswith(ADMIN_PREFIX):
        return await call_next(request)
    rule = plan.draw(request.method, request.url.path)
    if rule is None:
        return await call_next(request)
    if rule.latency_ms:
        await asyncio.sleep(rule.latency_ms / 1000)
    if rule.kind == "latency":
        return await call_next(request)
    if rule.kind == "timeout":
        await asyncio.sleep(rule.hang_seconds)
        return render(504, rule)
    if rule.kind == "commit_then_drop":
        response = await call_next(request)
        body_iterator = getattr(response, "body_iterator", None)
        if body_iterator is not None:
            async for _ in body_iterator:
                pass
        return render(500, rule)
    return render(rule.status, rule)


def retry_after_headers(rule: FaultRule) -> dict[str, str]:
    return {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}


class SeedBody(BaseModel):
    seed: int | None = None


def admin_router(plan_of: Callable[[Request], FaultPlan]) -> APIRouter:
    """``/__sandbox/faults``: add (one rule or a list), list, clear, reseed."""
    router = APIRouter(prefix="/__sandbox/faults")

    @router.post("")
    async def add_faults(request: Request, body: FaultRule | list[FaultRule]) -> dict[str, Any]:
        plan = plan_of(request)
        plan.add(body if isinstance(body, list) else [body])
        return plan.describe()

    @router.get("")
    async def list_faults(request: Request) -> dict[str, Any]:
        return plan_of(request).describe()

    @router.delete("")
    async def clear_faults(request: Request) -> dict[str, Any]:
        plan = plan_of(request)
        plan.clear()
        return plan.describe()

    @router.post("/seed")
    async def reseed(request: Request, body: SeedBody) -> dict[str, Any]:
        plan = plan_of(request)
        plan.reseed(body.seed)
        return plan.describe()

    return router
