"""ERP routes: NetSuite customers, invoices, payments, credit memos, refunds and journal entries
upserted by external id, and listings."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from revbridge_contracts.models import (
    ErpCreditMemoUpsert,
    ErpCustomerUpsert,
    ErpInvoiceUpsert,
    ErpJournalEntryUpsert,
    ErpPaymentUpsert,
    ErpRef,
    ErpRefundUpsert,
    ErpTransaction,
    ErpTransactionPage,
)

from revbridge_system.deps import Erp
from revbridge_system.errors import BadRequest, field_error

router = APIRouter(prefix="/v1/erp")


@router.get("/customers/{external_id}", operation_id="getErpCustomer", response_model=ErpRef)
async def get_customer(external_id: str, erp: Erp) -> ErpRef:
    return await erp.get_customer(external_id)


@router.put("/customers/{external_id}", operation_id="upsertErpCustomer", response_model=ErpRef)
async def upsert_customer(external_id: str, body: ErpCustomerUpsert, erp: Erp) -> ErpRef:
    return await erp.upsert_customer(external_id, body)


@router.get("/invoices/{external_id}", operation_id="getErpInvoice", response_model=ErpTransaction)
async def get_invoice(external_id: str, erp: Erp) -> ErpTransaction:
    return await erp.get_transaction("invoice", external_id)


@router.put("/invoices/{external_id}", operation_id="upsertErpInvoice", response_model=ErpRef)
async def upsert_invoice(external_id: str, body: ErpInvoiceUpsert, erp: Erp) -> ErpRef:
    return await erp.upsert_invoice(external_id, body)


@router.get("/payments/{external_id}", operation_id="getErpPayment", response_model=ErpTransaction)
async def get_payment(external_id: str, erp: Erp) -> ErpTransaction:
    return await erp.get_transaction("customerpayment", external_id)


@router.put("/payments/{external_id}", operation_id="upsertErpPayment", response_model=ErpRef)
async def upsert_payment(external_id: str, body: ErpPaymentUpsert, erp: Erp) -> ErpRef:
    return await erp.upsert_payment(external_id, body)


@router.get("/credit-memos/{external_id}", operation_id="getErpCreditMemo", response_model=ErpTransaction)
async def get_credit_memo(external_id: str, erp: Erp) -> ErpTransaction:
    return await erp.get_transaction("creditMemo", external_id)


@router.put("/credit-memos/{external_id}", operation_id="upsertErpCreditMemo", response_model=ErpRef)
async def upsert_credit_memo(external_id: str, body: ErpCreditMemoUpsert, erp: Erp) -> ErpRef:
    return await erp.upsert_credit_memo(external_id, body)


@router.delete(
    "/credit-memos/{external_id}",
    operation_id="deleteErpCreditMemo",
    status_code=204,
    response_class=Response,
    summary="Remove a credit memo nothing was refunded from (a write-off whose invoice was paid after all)",
)
async def delete_credit_memo(external_id: str, erp: Erp) -> Response:
    await erp.delete_credit_memo(external_id)
    return Response(status_code=204)


@router.get("/refunds/{external_id}", operation_id="getErpRefund", response_model=ErpTransaction)
async def get_refund(external_id: str, erp: Erp) -> ErpTransaction:
    return await erp.get_transaction("customerRefund", external_id)


@router.put("/refunds/{external_id}", operation_id="upsertErpRefund", response_model=ErpRef)
async def upsert_refund(external_id: str, body: ErpRefundUpsert, erp: Erp) -> ErpRef:
    return await erp.upsert_refund(external_id, body)


@router.get(
    "/journal-entries/{external_id}", operation_id="getErpJournalEntry", response_model=ErpTransaction
)
async def get_journal_entry(external_id: str, erp: Erp) -> ErpTransaction:
    return await erp.get_transaction("journalEntry", external_id)


@router.put("/journal-entries/{external_id}", operation_id="upsertErpJournalEntry", response_model=ErpRef)
async def upsert_journal_entry(external_id: str, body: ErpJournalEntryUpsert, erp: Erp) -> ErpRef:
    return await erp.upsert_journal_entry(external_id, body)


@router.get("/transactions", operation_id="listErpTransactions", response_model=ErpTransactionPage)
async def list_transactions(
    erp: Erp,
    record_type: Literal["invoice", "payment", "credit_memo", "refund", "journal_entry"],
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
    cursor: str | None = None,
) -> ErpTransactionPage:
    if cursor is not None and not cursor.isdigit():
        raise field_error(BadRequest, "cursor", "not a cursor this API issued")
    return await erp.list_transactions(record_type, limit, int(cursor or 0))
