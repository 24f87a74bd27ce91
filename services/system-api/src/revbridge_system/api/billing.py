"""Billing routes: Stripe customers and subscriptions (upserts), invoices, credit notes and refunds,
per Stripe account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from revbridge_contracts.models import (
    BillingCustomer,
    BillingCustomerUpsert,
    BillingEventPage,
    CreditNote,
    CreditNotePage,
    Dispute,
    DisputePage,
    Invoice,
    InvoicePage,
    RefundPage,
    Subscription,
    SubscriptionPage,
    SubscriptionUpsert,
)

from revbridge_system.api.crm import ModifiedAfter as Instant
from revbridge_system.deps import Billing
from revbridge_system.errors import BadRequest, field_error

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
    lines: Annotated[bool, Query(description="false: totals and payments only (reconciliation)")] = True,
) -> InvoicePage:
    if not lines:
        return await billing.list_invoice_summaries(account, limit, cursor)
    return await billing.list_invoices(account, limit, cursor)


@router.get(
    "/events",
    operation_id="listBillingEvents",
    response_model=BillingEventPage,
    responses={200: {"description": "Events revbridge handles, created in [since, until], newest first"}},
)
async def list_events(
    account: str,
    billing: Billing,
    since: Instant = None,
    until: Instant = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    cursor: str | None = None,
) -> BillingEventPage:
    if since is not None and until is not None and since > until:
        raise field_error(BadRequest, "until", "before since")
    return await billing.list_events(account, since, until, limit, cursor)


@router.get("/subscriptions", operation_id="listBillingSubscriptions", response_model=SubscriptionPage)
async def list_subscriptions(
    account: str,
    billing: Billing,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    cursor: str | None = None,
) -> SubscriptionPage:
    return await billing.list_subscriptions(account, limit, cursor)


@router.get("/credit-notes", operation_id="listBillingCreditNotes", response_model=CreditNotePage)
async def list_credit_notes(
    account: str,
    billing: Billing,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    cursor: str | None = None,
) -> CreditNotePage:
    return await billing.list_credit_notes(account, limit, cursor)


@router.get("/refunds", operation_id="listBillingRefunds", response_model=RefundPage)
async def list_refunds(
    account: str,
    billing: Billing,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    cursor: str | None = None,
) -> RefundPage:
    return await billing.list_refunds(account, limit, cursor)


@router.get("/invoices/{invoice_id}", operation_id="getBillingInvoice", response_model=Invoice)
async def get_invoice(account: str, invoice_id: str, billing: Billing) -> Invoice:
    return await billing.get_invoice(account, invoice_id)


@router.get("/credit-notes/{credit_note_id}", operation_id="getBillingCreditNote", response_model=CreditNote)
async def get_credit_note(account: str, credit_note_id: str, billing: Billing) -> CreditNote:
    return await billing.get_credit_note(account, credit_note_id)


@router.get("/disputes", operation_id="listBillingDisputes", response_model=DisputePage)
async def list_disputes(
    account: str,
    billing: Billing,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    cursor: str | None = None,
) -> DisputePage:
    return await billing.list_disputes(account, limit, cursor)


@router.get("/disputes/{dispute_id}", operation_id="getBillingDispute", response_model=Dispute)
async def get_dispute(account: str, dispute_id: str, billing: Billing) -> Dispute:
    return await billing.get_dispute(account, dispute_id)


@router.get(
    "/charges/{charge_id}/refunds", operation_id="listBillingChargeRefunds", response_model=RefundPage
)
async def list_charge_refunds(account: str, charge_id: str, billing: Billing) -> RefundPage:
    return await billing.list_charge_refunds(account, charge_id)
