"""Lineage: v1/v2 contract lineage grouped by system, and the v2 lineage by contract, customer or invoice."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from revbridge_contracts.experience import Lineage, LineageView

from revbridge_experience import lineage
from revbridge_experience.deps import Model, closed_query, invalid

router = APIRouter()
CRM_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
Key = Annotated[str | None, Query(min_length=1, max_length=255)]


@router.get(
    "/v1/lineage/contracts/{contract_id}", operation_id="getContractLineageView", response_model=LineageView
)
async def contract_lineage(contract_id: str, rm: Model) -> LineageView:
    if not CRM_ID.match(contract_id):
        raise invalid("path.contract_id", "not a contract id (15 or 18 letters and digits)")
    return await lineage.lineage_view(rm, contract_id)


@router.get(
    "/v2/lineage/contracts/{contract_id}",
    operation_id="getContractLineageViewV2",
    response_model=LineageView,
)
async def contract_lineage_v2(
    contract_id: Annotated[str, Path(min_length=1, max_length=64)], rm: Model
) -> LineageView:
    return await lineage.lineage_view(rm, contract_id)


@router.get(
    "/v2/lineage",
    operation_id="getLineage",
    response_model=Lineage,
    dependencies=[Depends(closed_query)],
    summary="Lineage of one contract, customer (CRM account) or invoice: give exactly one of them",
)
async def find_lineage(
    rm: Model, contract_id: Key = None, customer_id: Key = None, invoice_id: Key = None
) -> Lineage:
    given = {
        name: value
        for name, value in (("contract", contract_id), ("customer", customer_id), ("invoice", invoice_id))
        if value is not None
    }
    if len(given) != 1:
        raise invalid("query.contract_id", "give exactly one of contract_id, customer_id, invoice_id")
    [(scope, key)] = given.items()
    return await lineage.lineage(rm, scope, key)  # type: ignore[arg-type]
