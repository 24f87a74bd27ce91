"""Version policy read from the contracts: deprecation headers, and 410 once the sunset has passed.

An operation marked ``deprecated: true`` must say since when (``x-deprecated-since``, a date) so the
``Deprecation`` header (RFC 9745, ``@<unix seconds>``) is truthful; ``x-sunset`` (a date) becomes the
``Sunset`` header (RFC 8594, an HTTP-date) and, once passed, a 410; ``x-successor`` (a path of the
same API, e.g. ``/v2/revenue/summary``) becomes ``Link: <...>; rel="successor-version"``. Dates are
midnight UTC. The clock is injected so the sunset can be tested without editing a contract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from revbridge_gateway.errors import ContractPolicyError


@dataclass(frozen=True)
class Deprecation:
    since: float
    sunset: float | None
    successor: str | None

    def headers(self) -> dict[str, str]:
        out = {"Deprecation": f"@{int(self.since)}"}
        if self.sunset is not None:
            out["Sunset"] = formatdate(self.sunset, usegmt=True)
        if self.successor:
            out["Link"] = f'<{self.successor}>; rel="successor-version"'
        return out

    def gone(self, now: float) -> bool:
        return self.sunset is not None and now >= self.sunset


def _timestamp(value: Any, where: str, name: str) -> float:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ContractPolicyError(f"{where}: {name} must be a date (YYYY-MM-DD)") from exc
    if not isinstance(value, dt.date):
        raise ContractPolicyError(f"{where}: {name} must be a date (YYYY-MM-DD)")
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp()


def deprecation_of(api: str, op: dict[str, Any], where: str) -> Deprecation | None:
    """The operation's deprecation policy, or None; ContractPolicyError if it is half-written."""
    if not op.get("deprecated"):
        if "x-sunset" in op:
            raise ContractPolicyError(f"{where}: x-sunset without deprecated: true")
        return None
    if "x-deprecated-since" not in op:
        raise ContractPolicyError(f"{where}: deprecated operations need x-deprecated-since")
    since = _timestamp(op["x-deprecated-since"], where, "x-deprecated-since")
    sunset = _timestamp(op["x-sunset"], where, "x-sunset") if "x-sunset" in op else None
    if sunset is not None and sunset <= since:
        raise ContractPolicyError(f"{where}: x-sunset must be after x-deprecated-since")
    successor = op.get("x-successor")
    if successor is not None and (not isinstance(successor, str) or not successor.startswith("/v")):
        raise ContractPolicyError(f"{where}: x-successor must be a versioned path like /v2/...")
    return Deprecation(since=since, sunset=sunset, successor=f"/{api}{successor}" if successor else None)
