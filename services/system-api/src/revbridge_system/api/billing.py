"""Billing routes: Stripe customers and subscriptions (upserts) and invoices, per Stripe account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from revbridge_contracts.models import (
    BillingCustomer,
    BillingCustomerUpsert,
    Invoice,
    InvoicePage,
    Subscription,
    SubscriptionUpsert,
)

from revbridge_system.deps import Billing

router = APIRouter(prefix="/v1/billing/{account}")


@router.put(
    "/customers/{crm_account_id}", operation_id="upsertBillingCustomer", response_model=BillingCustomer
)
async def upsert_customer(
    account: str, crm_account_id: str, body: BillingCustomerUpsert, billing: Billing
) -> BillingCustomer:
    return await billing.upsert_customer(account, crm_account_id, body)


@router.put(
    "/subscriptions/{crm_contract_id}", operation_id="upsertBillingSubscription", response_model=Subscription
)
async def upsert_subscription(
    account: str, crm_contract_id: str, body: SubscriptionUpsert, billing: Billing
) -> Subscription:
    return await billing.upsert_subscription(account, crm_contract_id, body)


@router.get("/invoices", operation_id="listBillingInvoices", response_model=InvoicePage)
async def list_invoices(
    account: str,
    billing: Billing,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    cursor: str | None = None,
) -> InvoicePage:
    return await billing.list_invoices(account, limit, cursor)


@router.get("/invoices/{invoice_id}", operation_id="getBillingInvoice", response_model=Invoice)
async def get_invoice(account: str, invoice_id: str, billing: Billing) -> Invoice:
    return await billing.get_invoice(account, invoice_id)
