"""CRM routes: contracts and accounts read from Salesforce, and the billing write-back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BeforeValidator
from revbridge_contracts.models import (
    BillingLink,
    Contract,
    ContractPage,
    ContractStatus,
    Customer,
    DunningStatus,
)

from revbridge_system.deps import Crm
from revbridge_system.errors import BadRequest, field_error

router = APIRouter(prefix="/v1/crm")


def _not_a_timestamp(value: object) -> object:
    """RFC 3339 only, as the contract says: pydantic would otherwise read a bare number as Unix time."""
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("expected an RFC 3339 date-time")
    return value


ModifiedAfter = Annotated[dt.datetime | None, BeforeValidator(_not_a_timestamp)]


@router.get(
    "/contracts",
    operation_id="listCrmContracts",
    response_model=ContractPage,
    responses={200: {"description": "Contracts, oldest modification first"}},
)
async def list_contracts(
    crm: Crm,
    status: ContractStatus | None = None,
    modified_after: ModifiedAfter = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
    cursor: str | None = None,
    modified_before: ModifiedAfter = None,
) -> ContractPage:
    if modified_after is not None and modified_before is not None and modified_before < modified_after:
        raise field_error(BadRequest, "modified_before", "before modified_after")
    return await crm.list_contracts(status, modified_after, limit, cursor, modified_before)


@router.get("/contracts/{contract_id}", operation_id="getCrmContract", response_model=Contract)
async def get_contract(contract_id: str, crm: Crm) -> Contract:
    return await crm.get_contract(contract_id)


@router.put(
    "/contracts/{contract_id}/billing-link",
    operation_id="putCrmBillingLink",
    response_model=Contract,
    summary="Write the billing and ERP ids and status back to the contract and its account",
)
async def put_billing_link(contract_id: str, link: BillingLink, crm: Crm) -> Contract:
    return await crm.put_billing_link(contract_id, link)


@router.put(
    "/contracts/{contract_id}/dunning-status",
    operation_id="putCrmDunningStatus",
    response_model=Contract,
    summary="Write an invoice's collection status (past due, attempts, next retry) to contract and account",
)
async def put_dunning_status(contract_id: str, status: DunningStatus, crm: Crm) -> Contract:
    return await crm.put_dunning_status(contract_id, status)


@router.get("/accounts/{account_id}", operation_id="getCrmAccount", response_model=Customer)
async def get_account(account_id: str, crm: Crm) -> Customer:
    return await crm.get_account(account_id)
