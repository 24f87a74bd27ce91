"""Pure mappings between NetSuite records and canonical models (no I/O).

Canonical amounts are integer minor units; NetSuite takes and returns decimal major units, so
every amount crosses ``revbridge_system.money``. Currencies are NetSuite internal ids; the client
resolves them from ISO codes (the currency record's ``symbol``) and passes the maps in here.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from revbridge_contracts.models import (
    ErpCreditLine,
    ErpCreditMemoUpsert,
    ErpCustomerUpsert,
    ErpInvoiceLine,
    ErpInvoiceUpsert,
    ErpJournalEntryUpsert,
    ErpPaymentUpsert,
    ErpRef,
    ErpRefundUpsert,
    ErpTransaction,
)

from revbridge_system.adapters.netsuite.types import NsLine, NsRecord, NsSuiteQlRow
from revbridge_system.money import exponent, to_major, to_minor

SUITEQL_TYPES = {
    "invoice": "CustInvc",
    "payment": "CustPymt",
    "credit_memo": "CustCred",
    "refund": "CustRfnd",
    "journal_entry": "Journal",
}
RECORD_TYPES = {
    "invoice": "invoice",
    "payment": "customerpayment",
    "credit_memo": "creditMemo",
    "refund": "customerRefund",
    "journal_entry": "journalEntry",
}
CUSTOMER_FIELD = {"customerpayment": "customer", "customerRefund": "customer", "journalEntry": ""}
"""Where a transaction names its customer (``entity`` unless listed; journal entries: on lines)."""
TAX_CODE_FIELD = "custentity_revbridge_tax_code"
TAX_ID_FIELD = "custentity_revbridge_tax_id"


def _major(amount: int, currency: str) -> float:
    return float(to_major(amount, currency))


def customer_body(cmd: ErpCustomerUpsert, currency_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "companyName": cmd.name,
        "subsidiary": {"id": cmd.subsidiary_id},
        "currency": {"id": currency_id},
    }
    if cmd.email:
        body["email"] = cmd.email
    if cmd.tax_code:
        body[TAX_CODE_FIELD] = cmd.tax_code
    if cmd.tax_id:
        body[TAX_ID_FIELD] = cmd.tax_id
    return body


def invoice_line(line: ErpInvoiceLine, currency: str) -> NsLine:
    rate = (
        to_major(line.amount, currency) / line.quantity if line.quantity else to_major(line.amount, currency)
    )
    quantum = Decimal(1).scaleb(-exponent(currency))
    out: NsLine = {
        "item": {"id": line.item_id},
        "quantity": line.quantity,
        "rate": float(rate.quantize(quantum, rounding=ROUND_HALF_UP)),
        "amount": _major(line.amount, currency),
        "custcol_service_start": line.period_start.isoformat(),
        "custcol_service_end": line.period_end.isoformat(),
    }
    if line.description:
        out["description"] = line.description
    return out


def invoice_body(cmd: ErpInvoiceUpsert, customer_id: str, currency_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity": {"id": customer_id},
        "currency": {"id": currency_id},
        "tranDate": cmd.tran_date.isoformat(),
        "item": {"items": [invoice_line(line, cmd.currency) for line in cmd.lines]},
    }
    if cmd.memo:
        body["memo"] = cmd.memo
    return body


def invoice_total(cmd: ErpInvoiceUpsert) -> int:
    return sum(line.amount for line in cmd.lines)


def payment_body(
    cmd: ErpPaymentUpsert, customer_id: str, currency_id: str, invoice_id: str
) -> dict[str, Any]:
    amount = _major(cmd.amount, cmd.currency)
    return {
        "customer": {"id": customer_id},
        "currency": {"id": currency_id},
        "payment": amount,
        "tranDate": cmd.tran_date.isoformat(),
        "apply": {"items": [{"doc": {"id": invoice_id}, "apply": True, "amount": amount}]},
    }


def credit_line(line: ErpCreditLine, currency: str) -> NsLine:
    amount = to_major(line.amount, currency)
    quantum = Decimal(1).scaleb(-exponent(currency))
    rate = (amount / line.quantity if line.quantity else amount).quantize(quantum, rounding=ROUND_HALF_UP)
    out: NsLine = {
        "item": {"id": line.item_id},
        "quantity": line.quantity,
        "rate": float(rate),
        "amount": float(amount),
    }
    if line.description:
        out["description"] = line.description
    if line.period_start and line.period_end:
        out["custcol_service_start"] = line.period_start.isoformat()
        out["custcol_service_end"] = line.period_end.isoformat()
    return out


def credit_memo_body(
    cmd: ErpCreditMemoUpsert, customer_id: str, currency_id: str, invoice_ids: list[str]
) -> dict[str, Any]:
    """``invoice_ids[i]`` is the internal id of ``cmd.apply[i]``'s invoice."""
    body: dict[str, Any] = {
        "entity": {"id": customer_id},
        "currency": {"id": currency_id},
        "tranDate": cmd.tran_date.isoformat(),
        "item": {"items": [credit_line(line, cmd.currency) for line in cmd.lines]},
        "apply": {
            "items": [
                {"doc": {"id": doc}, "apply": True, "amount": _major(a.amount, cmd.currency)}
                for a, doc in zip(cmd.apply, invoice_ids, strict=True)
            ]
        },
    }
    if cmd.memo:
        body["memo"] = cmd.memo
    return body


def credit_memo_total(cmd: ErpCreditMemoUpsert) -> int:
    return sum(line.amount for line in cmd.lines)


def refund_body(
    cmd: ErpRefundUpsert, customer_id: str, currency_id: str, credit_memo_id: str
) -> dict[str, Any]:
    amount = _major(cmd.amount, cmd.currency)
    body: dict[str, Any] = {
        "customer": {"id": customer_id},
        "currency": {"id": currency_id},
        "tranDate": cmd.tran_date.isoformat(),
        "apply": {"items": [{"doc": {"id": credit_memo_id}, "apply": True, "amount": amount}]},
    }
    if cmd.memo:
        body["memo"] = cmd.memo
    return body


def journal_body(cmd: ErpJournalEntryUpsert, currency_id: str, customers: dict[str, str]) -> dict[str, Any]:
    """``customers`` maps each line's customer external id to its internal id."""
    lines = []
    for line in cmd.lines:
        out: dict[str, Any] = {"account": {"id": line.account_id}}
        if line.debit:
            out["debit"] = _major(line.debit, cmd.currency)
        if line.credit:
            out["credit"] = _major(line.credit, cmd.currency)
        if line.memo:
            out["memo"] = line.memo
        if line.customer_external_id:
            out["entity"] = {"id": customers[line.customer_external_id]}
        lines.append(out)
    body: dict[str, Any] = {
        "subsidiary": {"id": cmd.subsidiary_id},
        "currency": {"id": currency_id},
        "tranDate": cmd.tran_date.isoformat(),
        "line": {"items": lines},
    }
    if cmd.memo:
        body["memo"] = cmd.memo
    return body


def journal_total(cmd: ErpJournalEntryUpsert) -> int:
    return sum(line.debit for line in cmd.lines)


def record_amount(record: NsRecord, record_type: str, currency: str) -> int:
    """The money a stored transaction carries, in minor units: a payment's ``payment``, else ``total``."""
    value = record.get("payment") if record_type == "customerpayment" else record.get("total")
    return to_minor(value, currency)


def to_ref(record_type: str, internal_id: str, external_id: str) -> ErpRef:
    return ErpRef(record_type=record_type, internal_id=str(internal_id), external_id=external_id)


def _ref_id(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value["id"]) if value.get("id") is not None else None
    return str(value) if value not in (None, "") else None


def parse_date(value: str | None) -> dt.date | None:
    """ISO dates, or NetSuite's default ``M/D/YYYY`` display format."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return dt.datetime.strptime(value, "%m/%d/%Y").date()


def _status(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("refName") or value.get("id") or "") or None
    return str(value) if value is not None else None


def to_transaction(record: NsRecord, record_type: str, currencies: dict[str, str]) -> ErpTransaction:
    """A record GET (invoice or customerpayment) as a canonical transaction; ``currencies`` maps id -> ISO."""
    currency = currencies.get(_ref_id(record.get("currency")) or "")
    code = currency or "USD"
    field = CUSTOMER_FIELD.get(record_type, "entity")
    customer = record.get(field) if field else None  # type: ignore[misc]
    paid = record.get("applied") if record_type == "creditMemo" else record.get("amountPaid")
    return ErpTransaction(
        record_type=record_type,
        internal_id=str(record["id"]),
        external_id=record.get("externalId"),
        tran_id=record.get("tranId"),
        customer_internal_id=_ref_id(customer),
        status=_status(record.get("status")),
        currency=currency,
        total=record_amount(record, record_type, code),
        amount_paid=to_minor(paid, code) if record_type in ("invoice", "creditMemo") else 0,
        tran_date=parse_date(record.get("tranDate")),
    )


def suiteql_transactions_query(kind: str) -> str:
    return (
        "SELECT id, tranid, externalid, entity, status, foreigntotal, foreignamountpaid, currency, trandate, "
        f"memo FROM transaction WHERE type = '{SUITEQL_TYPES[kind]}' ORDER BY id"
    )


def row_to_transaction(row: NsSuiteQlRow, kind: str, currencies: dict[str, str]) -> ErpTransaction:
    currency = currencies.get(_ref_id(row.get("currency")) or "")
    code = currency or "USD"
    return ErpTransaction(
        record_type=RECORD_TYPES[kind],
        internal_id=str(row["id"]),
        external_id=row.get("externalid"),
        tran_id=row.get("tranid"),
        customer_internal_id=_ref_id(row.get("entity")),
        status=row.get("status"),
        currency=currency,
        total=to_minor(row.get("foreigntotal"), code),
        amount_paid=to_minor(row.get("foreignamountpaid"), code),
        tran_date=parse_date(row.get("trandate")),
        memo=row.get("memo"),
    )
