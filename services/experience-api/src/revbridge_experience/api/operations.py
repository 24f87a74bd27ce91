"""Operations metrics for the dashboard (see ``operations``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from revbridge_contracts.experience import OperationsMetrics

from revbridge_experience.deps import Model, Process, closed_query, utcnow
from revbridge_experience.operations import operations_metrics

router = APIRouter()


@router.get(
    "/v2/operations/metrics",
    operation_id="getOperationsMetrics",
    response_model=OperationsMetrics,
    dependencies=[Depends(closed_query)],
)
async def metrics(
    rm: Model,
    process: Process,
    period: Annotated[
        str | None,
        Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="month of posting; default: the last three"),
    ] = None,
) -> OperationsMetrics:
    return await operations_metrics(rm, process, period, utcnow())
