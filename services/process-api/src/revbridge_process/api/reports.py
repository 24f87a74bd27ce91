"""Revenue positions and contract lineage, read live from the systems of record via the system API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path
from revbridge_contracts.process import ContractLineage, RevenuePositions

from revbridge_process.deps import AppConfig, System
from revbridge_process.flows import positions

router = APIRouter()

# Checked here, not left to the system API: its 400 for a malformed CRM id would reach our caller
# as a 502 (a rejected command), when the caller's own input is what is wrong.
ContractId = Annotated[str, Path(min_length=15, max_length=18, pattern=r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")]


@router.get("/v1/revenue/positions", operation_id="getRevenuePositions", response_model=RevenuePositions)
async def revenue_positions(system: System, config: AppConfig) -> RevenuePositions:
    return await positions.revenue_positions(
        system, config.mappings.billing_accounts(), lambda: dt.datetime.now(dt.UTC)
    )


@router.get(
    "/v1/lineage/contracts/{contract_id}", operation_id="getContractLineage", response_model=ContractLineage
)
async def contract_lineage(contract_id: ContractId, system: System, config: AppConfig) -> ContractLineage:
    return await positions.contract_lineage(contract_id, system, config.mappings.billing_accounts())
