"""Injected failures for tests and chaos drills: the next N matching requests get an error status.

Answers use Salesforce's error array shape, and 429/503 carry ``Retry-After`` when asked, so a
client's retry table can be exercised against the same wire format it meets in production.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

_CODES = {500: "UNKNOWN_EXCEPTION", 503: "SERVER_UNAVAILABLE", 429: "REQUEST_LIMIT_EXCEEDED"}


class FaultSpec(BaseModel):
    path_prefix: str = "/services/data"
    method: str | None = None  # None: any method
    status: Literal[429, 500, 502, 503, 504] = 500
    retry_after: int | None = Field(default=None, ge=0)
    count: int = Field(default=1, ge=1)


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[FaultSpec] = []

    def add(self, spec: FaultSpec) -> None:
        self._faults.append(spec.model_copy())

    def clear(self) -> None:
        self._faults.clear()

    def pending(self) -> list[dict[str, object]]:
        return [f.model_dump() for f in self._faults]

    def take(self, method: str, path: str) -> FaultSpec | None:
        """Consume one use of the first fault matching this request, if any."""
        for fault in self._faults:
            if path.startswith(fault.path_prefix) and (
                fault.method is None or fault.method.upper() == method
            ):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None


def fault_body(status: int) -> list[dict[str, str]]:
    code = _CODES.get(status, "UNKNOWN_EXCEPTION")
    return [{"message": f"Injected fault: HTTP {status}", "errorCode": code}]
