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
    ErpCustomerUpsert,
    ErpInvoiceLine,
    ErpInvoiceUpsert,
    ErpPaymentUpsert,
    ErpRef,
    ErpTransaction,
)

from revbridge_system.adapters.netsuite.types import NsLine, NsRecord, NsSuiteQlRow
from revbridge_system.money import exponent, to_major, to_minor

SUITEQL_TYPES = {"invoice": "CustInvc", "payment": "CustPymt"}
RECORD_TYPES = {"invoice": "invoice", "payment": "customerpayment"}


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


def record_amount(record: NsRecord, record_type: str, currency: str) -> int:
    """The money a stored invoice (``total``) or payment (``payment``) carries, in minor units."""
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
    is_payment = record_type == "customerpayment"
    customer = record.get("customer") if is_payment else record.get("entity")
    return ErpTransaction(
        record_type=record_type,
        internal_id=str(record["id"]),
        external_id=record.get("externalId"),
        tran_id=record.get("tranId"),
        customer_internal_id=_ref_id(customer),
        status=_status(record.get("status")),
        currency=currency,
        total=record_amount(record, record_type, code),
        amount_paid=0 if is_payment else to_minor(record.get("amountPaid"), code),
        tran_date=parse_date(record.get("tranDate")),
    )


def suiteql_transactions_query(kind: str) -> str:
    return (
        "SELECT id, tranid, externalid, entity, status, foreigntotal, foreignamountpaid, currency, trandate "
        f"FROM transaction WHERE type = '{SUITEQL_TYPES[kind]}' ORDER BY id"
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
    )
