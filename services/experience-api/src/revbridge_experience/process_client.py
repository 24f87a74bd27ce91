"""Client of the process API, the one layer the experience API may call."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from revbridge_contracts.problems import NotFound, ServiceError, UpstreamUnavailable
from revbridge_contracts.process import ContractLineage, RevenuePositions


class InvalidRequest(ServiceError):
    """The process API refused our caller's input (a 422 naming the field): passed on as it is."""

    status = 422
    title = "Invalid request"


class ProcessApi:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def _get(self, path: str) -> httpx.Response:
        try:
            response = await self._http.get(path)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"process API unreachable: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise NotFound(response.json().get("detail") or "not found")
        if response.status_code == 422:
            problem = response.json()
            raise InvalidRequest(problem.get("detail"), invalid_params=problem.get("invalid_params"))
        if response.status_code >= 400:
            raise UpstreamUnavailable(f"process API answered {response.status_code}")
        return response

    async def revenue_positions(self) -> RevenuePositions:
        return RevenuePositions.model_validate_json((await self._get("/v1/revenue/positions")).content)

    async def contract_lineage(self, contract_id: str) -> ContractLineage:
        response = await self._get(f"/v1/lineage/contracts/{quote(contract_id, safe='')}")
        return ContractLineage.model_validate_json(response.content)
