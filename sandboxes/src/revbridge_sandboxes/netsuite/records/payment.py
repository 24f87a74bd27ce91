"""The ``customerpayment`` record: a payment from a customer applied to its open invoices.

Rules: ``customer`` and ``payment`` are required; the ``apply`` sublist names invoices by
``doc``; each invoice must belong to the customer and be in the payment's currency; applying more
than an invoice's remaining amount, or more than the payment, is a ``USER_ERROR``. Invoices are
refreshed after every create, update and delete so their ``amountPaid`` and ``status`` follow.
"""

from __future__ import annotations

from typing import Any

from ..errors import field_required, invalid_ref, user_error
from ..state import Record, SandboxState
from . import invoice as invoices
from .common import existing, iso_date, money, now_iso, ref_id, sublist_lines, text, today, unique_external_id
from .kinds import RecordKind

HEADER_TEXT = ("externalId", "memo", "tranId")
UNDEPOSITED_FUNDS = "2"


def _apply_lines(
    state: SandboxState,
    raw_lines: list[dict[str, Any]],
    customer_id: str,
    currency_id: str,
    payment_id: str | None,
) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for raw in raw_lines:
        if raw.get("apply") is False:
            continue
        doc_id = ref_id(raw, "doc", required=True)
        assert doc_id is not None
        invoice = state.table("invoice").get(doc_id)
        if invoice is None:
            raise invalid_ref("doc", doc_id)
        if invoice["entity"] != customer_id:
            raise user_error(f"Invoice {invoice['tranId']} does not belong to the customer of this payment.")
        if invoice["currency"] != currency_id:
            raise user_error(
                f"The currency of the payment does not match the currency of invoice {invoice['tranId']}.",
                path="currency",
            )
        if any(line["doc"] == doc_id for line in lines):
            raise user_error(f"Invoice {invoice['tranId']} is applied more than once.")
        available = round(invoice["total"] - invoices.paid_amount(state, doc_id, excluding=payment_id), 2)
        amount = money(raw["amount"], "amount") if raw.get("amount") is not None else available
        if amount <= 0:
            raise user_error("The amount applied must be greater than zero.", path="apply")
        if amount > available:
            raise user_error(
                f"You cannot apply {amount:.2f} to invoice {invoice['tranId']}: "
                f"only {available:.2f} remains due.",
                path="apply",
            )
        lines.append({"doc": doc_id, "apply": True, "amount": amount, "line": len(lines)})
    return lines


def _validated(state: SandboxState, body: dict[str, Any], current: Record | None) -> dict[str, Any]:
    merged = {**(current or {}), **body}
    customer_id = ref_id(merged, "customer", required=True)
    assert customer_id is not None
    customer = existing(state, "customer", "customer", customer_id)
    if merged.get("payment") is None:
        raise field_required("payment")
    payment = money(merged["payment"], "payment")
    if payment <= 0:
        raise user_error("The payment amount must be greater than zero.", path="payment")
    currency_id = ref_id(merged, "currency") or customer["currency"]
    existing(state, "currency", "currency", currency_id)
    account_id = ref_id(merged, "account") or UNDEPOSITED_FUNDS
    existing(state, "account", "account", account_id)
    fields: dict[str, Any] = {
        "customer": customer_id,
        "payment": payment,
        "currency": currency_id,
        "account": account_id,
        "subsidiary": customer["subsidiary"],
        "tranDate": iso_date(merged.get("tranDate") or today(), "tranDate"),
    }
    for name in HEADER_TEXT:
        if merged.get(name) is not None:
            fields[name] = text(merged[name], name)
    raw_lines = sublist_lines(body, "apply")
    if raw_lines is None and current is None:
        raise field_required("apply")
    if raw_lines is not None:
        fields["apply"] = _apply_lines(
            state, raw_lines, customer_id, currency_id, current["id"] if current else None
        )
    elif current is not None and (customer_id, currency_id) != (current["customer"], current["currency"]):
        raise user_error("Re-send the apply sublist when changing the customer or currency of a payment.")
    applied = round(sum(line["amount"] for line in fields.get("apply", merged.get("apply", []))), 2)
    if applied > payment:
        raise user_error(
            f"The total applied ({applied:.2f}) exceeds the payment amount ({payment:.2f}).", path="apply"
        )
    fields["applied"], fields["unapplied"] = applied, round(payment - applied, 2)
    fields.update({k: v for k, v in merged.items() if k.lower().startswith("custbody")})
    return fields


def _refresh_invoices(state: SandboxState, doc_ids: set[str]) -> None:
    for doc_id in doc_ids:
        record = state.table("invoice").get(doc_id)
        if record is not None:
            invoices.refresh(state, record)


def create(state: SandboxState, body: dict[str, Any]) -> Record:
    fields = _validated(state, body, None)
    rid = str(state.next_id("transaction"))
    if fields.get("externalId"):
        unique_external_id(state, ("customerpayment",), fields["externalId"], rid)
    fields.setdefault("tranId", f"PYMT{state.next_id('payment_number')}")
    stamp = now_iso()
    record: Record = {"id": rid, **fields, "status": "Not Deposited", "createdDate": stamp}
    record["lastModifiedDate"] = stamp
    state.table("customerpayment")[rid] = record
    _refresh_invoices(state, {line["doc"] for line in record["apply"]})
    return record


def update(state: SandboxState, record: Record, body: dict[str, Any]) -> None:
    fields = _validated(state, body, record)
    if fields.get("externalId"):
        unique_external_id(state, ("customerpayment",), fields["externalId"], record["id"])
    touched = {line["doc"] for line in record["apply"]}
    record.update(fields)
    record["lastModifiedDate"] = now_iso()
    _refresh_invoices(state, touched | {line["doc"] for line in record["apply"]})


def delete(state: SandboxState, record: Record) -> None:
    del state.table("customerpayment")[record["id"]]
    _refresh_invoices(state, {line["doc"] for line in record["apply"]})


KIND = RecordKind(
    name="customerpayment",
    ref_name=lambda record: f"Payment #{record['tranId']}",
    refs={"customer": "customer", "currency": "currency", "account": "account", "subsidiary": "subsidiary"},
    sublists={"apply": {"doc": "invoice"}},
    fields=frozenset({*HEADER_TEXT, "customer", "payment", "currency", "account", "tranDate", "apply"}),
    line_fields=frozenset({"doc", "apply", "amount", "line"}),
    read_only=frozenset(
        {
            "id",
            "applied",
            "unapplied",
            "status",
            "subsidiary",
            "createdDate",
            "lastModifiedDate",
            "toBeEmailed",
        }
    ),
    create=create,
    update=update,
    delete=delete,
)
