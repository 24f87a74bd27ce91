"""Usage routes: a batch of meter events to a Stripe account's meters, and a test clock's time.

The batch answers 200 with one result per event, in order, whatever each event's fate: ``sent``,
``rejected`` (Stripe refused it for good) or ``failed`` (send it again; Stripe counts its
identifier once). The process API's usage sender acknowledges its stream entries from this answer.
"""

from __future__ import annotations

from fastapi import APIRouter
from revbridge_contracts.usage import MeterEventBatch, MeterEventBatchResult, TestClock

from revbridge_system.deps import Billing

router = APIRouter(prefix="/v1/billing/{account}")


@router.post("/meter-events", operation_id="sendMeterEvents", response_model=MeterEventBatchResult)
async def send_meter_events(account: str, body: MeterEventBatch, billing: Billing) -> MeterEventBatchResult:
    return await billing.meters(account).send(body)


@router.get("/test-clocks/{clock_id}", operation_id="getBillingTestClock", response_model=TestClock)
async def get_test_clock(account: str, clock_id: str, billing: Billing) -> TestClock:
    return await billing.meters(account).get_test_clock(clock_id)
