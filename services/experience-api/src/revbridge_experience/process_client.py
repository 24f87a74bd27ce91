"""Client of the process API, the one layer the experience API may call: the exception queue, its
operations counts and the latest reconciliation (reports themselves come from the read model)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from revbridge_contracts.problems import Conflict, NotFound, ServiceError, UpstreamUnavailable
from revbridge_contracts.process import ExceptionPage, ExceptionRecord, OperationsStats

CLIENT_ID_HEADER = "X-Revbridge-Client-Id"
USER_HEADER = "X-Revbridge-User"
IDENTITY_HEADERS = (CLIENT_ID_HEADER, USER_HEADER)
"""Who the gateway says is calling (the client, and the token's subject): passed on to the process
API on an action, which records the user (else the client) in the exception's history."""


class InvalidRequest(ServiceError):
    """The process API refused our caller's input (a 422 naming the field): passed on as it is."""

    status = 422
    title = "Invalid request"


class ProcessApi:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        identity: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = identity or None
        try:
            response = await self._http.request(method, path, params=params, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"process API unreachable: {type(exc).__name__}") from exc
        if response.status_code < 400:
            return response
        problem = _problem(response)
        detail = problem.get("detail") or problem.get("title")
        if response.status_code == 404:
            raise NotFound(detail or "not found")
        if response.status_code == 409:
            raise Conflict(detail or "conflict")
        if response.status_code in (400, 422):
            raise InvalidRequest(detail, invalid_params=problem.get("invalid_params"))
        raise UpstreamUnavailable(f"process API answered {response.status_code}")

    async def list_exceptions(self, params: dict[str, Any]) -> ExceptionPage:
        query = {k: v for k, v in params.items() if v is not None and v is not False}
        response = await self._call("GET", "/v1/exceptions", params=query)
        return ExceptionPage.model_validate_json(response.content)

    async def get_exception(self, record_id: str) -> ExceptionRecord:
        response = await self._call("GET", f"/v1/exceptions/{quote(record_id, safe='')}")
        return ExceptionRecord.model_validate_json(response.content)

    async def act_on_exception(
        self, record_id: str, action: str, body: dict[str, Any] | None, identity: dict[str, str]
    ) -> ExceptionRecord:
        path = f"/v1/exceptions/{quote(record_id, safe='')}/{action}"
        response = await self._call("POST", path, body=body, identity=identity)
        return ExceptionRecord.model_validate_json(response.content)

    async def operations_stats(self) -> OperationsStats:
        return OperationsStats.model_validate_json((await self._call("GET", "/v1/operations/stats")).content)

    async def latest_reconciliation(self) -> dict[str, Any] | None:
        """The latest report as JSON, or None when there is none (or the operation does not exist yet)."""
        try:
            response = await self._call("GET", "/v1/reconciliations/latest")
        except NotFound:
            return None
        body = response.json()
        return body if isinstance(body, dict) else None


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
