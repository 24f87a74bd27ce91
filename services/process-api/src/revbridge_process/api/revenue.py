"""``/v1/revenue/recognition-runs`` and ``/v1/revenue/schedules/{invoice_id}``: revenue recognition.

A run posts every schedule period due by ``as_of`` that the ERP does not have yet (it is safe to
run again: journal entries are keyed by ``<invoice line id>:<YYYY-MM>``); call it from a scheduler
at the start of each month, or on demand. The schedule view reads what was recognised back from
the ERP. See ``flows.revenue``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from revbridge_contracts.models import InvoiceRevenue, RecognitionRunRequest, RecognitionRunResult

from revbridge_process.deps import AppConfig, Facts, System, closed_query
from revbridge_process.errors import InvalidField
from revbridge_process.flows import revenue

router = APIRouter(dependencies=[Depends(closed_query)])

InvoiceId = Annotated[str, Path(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_]+$")]
Account = Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[a-z0-9_-]+$")]


def _known_account(account: str | None, config: AppConfig, name: str) -> None:
    if account is not None and account not in config.mappings.billing_accounts():
        raise InvalidField(name, f"not a billing account of config/mappings.yaml: {account}")


@router.post(
    "/v1/revenue/recognition-runs",
    operation_id="createRecognitionRun",
    response_model=RecognitionRunResult,
    summary="Post every revenue schedule period due by as_of that the ERP does not have yet",
)
async def create_recognition_run(
    body: RecognitionRunRequest, system: System, config: AppConfig, facts: Facts
) -> RecognitionRunResult:
    _known_account(body.account, config, "account")
    today = dt.datetime.now(dt.UTC).date()
    return await revenue.recognition_run(system, config.mappings, facts, body, today)


@router.get(
    "/v1/revenue/schedules/{invoice_id}",
    operation_id="getInvoiceRevenue",
    response_model=InvoiceRevenue,
    summary="An invoice's revenue schedules, with what the ERP shows recognised",
)
async def get_invoice_revenue(
    invoice_id: InvoiceId, system: System, config: AppConfig, account: Account = "default"
) -> InvoiceRevenue:
    _known_account(account, config, "query.account")
    return await revenue.invoice_revenue(system, account, invoice_id)
