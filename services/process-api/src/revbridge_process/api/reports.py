"""Revenue positions and contract lineage, read live from the systems of record via the system API."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from revbridge_contracts.process import ContractLineage, RevenuePositions

from revbridge_process.deps import AppConfig, System
from revbridge_process.flows import positions

router = APIRouter()


@router.get("/v1/revenue/positions", operation_id="getRevenuePositions", response_model=RevenuePositions)
async def revenue_positions(system: System, config: AppConfig) -> RevenuePositions:
    return await positions.revenue_positions(
        system, config.mappings.billing_accounts(), lambda: dt.datetime.now(dt.UTC)
    )


@router.get(
    "/v1/lineage/contracts/{contract_id}", operation_id="getContractLineage", response_model=ContractLineage
)
async def contract_lineage(contract_id: str, system: System, config: AppConfig) -> ContractLineage:
    return await positions.contract_lineage(contract_id, system, config.mappings.billing_accounts())
