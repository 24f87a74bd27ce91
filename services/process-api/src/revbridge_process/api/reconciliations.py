"""``/v1/reconciliations``: run a reconciliation on demand and read its report.

One run at a time across every replica and worker (``scheduling``): asking while one is running
answers that run's report. A run takes from seconds to a few minutes, so the answer is 202 with
the running report and its ``Location``; poll it (or ask with ``wait: true`` to get the finished
report in the answer).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from revbridge_contracts.problems import NotFound
from revbridge_contracts.process import ReconciliationReport, ReconciliationRequest

from revbridge_process.deps import closed_query
from revbridge_process.scheduling import Reconciliations

router = APIRouter(dependencies=[Depends(closed_query)])
ReportId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="a report id")]


def _reconciliations(request: Request) -> Reconciliations:
    return request.app.state.reconciliations


Service = Annotated[Reconciliations, Depends(_reconciliations)]


@router.post(
    "/v1/reconciliations",
    operation_id="createReconciliation",
    response_model=ReconciliationReport,
    status_code=202,
    summary="Reconcile the platforms now (or join the run in progress)",
    responses={200: {"model": ReconciliationReport, "description": "Finished (wait: true)"}},
)
async def create_reconciliation(
    body: ReconciliationRequest, service: Service, response: Response
) -> ReconciliationReport:
    report, _ = await service.start("on_demand", body)
    response.headers["Location"] = f"/v1/reconciliations/{report.id}"
    if body.wait:
        finished = await service.wait(report.id)
        if finished is not None:
            response.status_code = 200
            return finished
    return report


@router.get(
    "/v1/reconciliations/latest",
    operation_id="getLatestReconciliation",
    response_model=ReconciliationReport,
    summary="The most recent reconciliation report (running, completed or failed)",
)
async def get_latest_reconciliation(service: Service) -> ReconciliationReport:
    report = await service.latest()
    if report is None:
        raise NotFound("no reconciliation has run yet")
    return report


@router.get(
    "/v1/reconciliations/{id}",
    operation_id="getReconciliation",
    response_model=ReconciliationReport,
    summary="One reconciliation report, with its progress while it runs",
)
async def get_reconciliation(id: ReportId, service: Service) -> ReconciliationReport:
    report = await service.get(id)
    if report is None:
        raise NotFound(f"no reconciliation report {id}")
    return report
