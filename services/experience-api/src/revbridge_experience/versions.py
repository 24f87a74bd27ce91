"""The versions this API serves and their deprecations, read once from its own contracts.

Clients ask ``/v2/versions`` to plan a move before a sunset; the answer comes from the contract
files (``deprecated``, ``x-sunset``, ``x-successor``), so it can't drift from what the gateway enforces.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from revbridge_contracts import loader
from revbridge_contracts.experience import ApiVersion, ApiVersions, DeprecatedOperation


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def api_versions(api: str = "experience") -> ApiVersions:
    versions = []
    major = 1
    while True:
        try:
            doc = loader.openapi(api, major)
        except FileNotFoundError:
            break
        deprecated = [
            DeprecatedOperation(
                operation_id=op["operationId"],
                path=path,
                sunset=_date(op.get("x-sunset")),
                successor=op.get("x-successor"),
            )
            for _, path, op in loader.operations(doc)
            if op.get("deprecated")
        ]
        versions.append(ApiVersion(major=major, deprecated_operations=deprecated))
        major += 1
    return ApiVersions(versions=versions)
