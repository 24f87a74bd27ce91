"""``/v1/exceptions``: the exception queue, for the ops teams that own each failure.

Without a ``status`` filter every record is listed (open and resolved), newest activity first.
"""

from __future__ import annotations

from fastapi import APIRouter
from revbridge_contracts.process import ExceptionPage

from revbridge_process.deps import Store

router = APIRouter()


@router.get("/v1/exceptions", operation_id="listExceptions", response_model=ExceptionPage)
async def list_exceptions(store: Store, status: str | None = None, flow: str | None = None) -> ExceptionPage:
    return ExceptionPage(items=await store.list_exceptions(status=status, flow=flow))
