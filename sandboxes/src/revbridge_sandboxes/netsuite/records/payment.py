"""The ``customerpayment`` record: a payment from a customer applied to its open invoices.

Rules: ``customer`` and ``payment`` are required; the ``apply`` sublist names invoices by
``doc``; each invoice must belong to the customer and be in the payment's currency; applying more
than an invoice's remaining amount, or more than the payment, is a ``USER_ERROR``. Invoices are
refreshed after every create, update and delete so their ``amountPaid`` and ``status`` follow.
"""

from __future__ import annotations

from typing import Any

from ..errors import field_required, user_error
from ..state import Record, SandboxState
from .apply import apply_sublist
from .common import existing, iso_date, money, now_iso, ref_id, text, today, unique_external_id
from .kinds import RecordKind
from .ledger import applied_to, refresh_docs

HEADER_TEXT = ("externalId", "memo", "tranId")
UNDEPOSITED_FUNDS = "2"
REFUNDED_BY = ("customerRefund",)


def _validated(state: SandboxState, body: dict[str, Any], current: Record | None) -> dict[str, Any]:
    merged = {**(current or {}), **body}
    customer_id = ref_id(merged, "customer", required=True, label="Customer")
    assert customer_id is not None
    customer = existing(state, "customer", "customer", customer_id)
    if merged.get("payment") is None:
        raise field_required("payment", "Payment Amount")  # guess: label
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
    lines = apply_sublist(
        state,
        body,
        current,
        targets=("invoice",),
        customer_id=customer_id,
        currency_id=currency_id,
        noun="payment",
    )
    if lines is not None:
        fields["apply"] = lines
    applied = round(sum(line["amount"] for line in fields.get("apply", merged.get("apply", []))), 2)
    refunded = applied_to(state, current["id"], REFUNDED_BY) if current else 0.0
    if round(applied + refunded, 2) > payment:
        raise user_error(
            f"The total applied and refunded ({applied + refunded:.2f}) exceeds the payment amount "
            f"({payment:.2f}).",
            path="apply",
        )
    fields["applied"], fields["unapplied"] = applied, round(payment - applied - refunded, 2)
    fields.update({k: v for k, v in merged.items() if k.lower().startswith("custbody")})
    return fields


def refresh(state: SandboxState, record: Record) -> None:
    """Recompute ``unapplied`` after a refund drew on this payment."""
    refunded = applied_to(state, record["id"], REFUNDED_BY)
    record["unapplied"] = round(record["payment"] - record["applied"] - refunded, 2)


def _refresh_invoices(state: SandboxState, doc_ids: set[str]) -> None:
    refresh_docs(state, doc_ids)


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
    state.track_applications("customerpayment", record)
    _refresh_invoices(state, {line["doc"] for line in record["apply"]})
    return record


def update(state: SandboxState, record: Record, body: dict[str, Any]) -> None:
    fields = _validated(state, body, record)
    if fields.get("externalId"):
        unique_external_id(state, ("customerpayment",), fields["externalId"], record["id"])
    touched = {line["doc"] for line in record["apply"]}
    record.update(fields)
    record["lastModifiedDate"] = now_iso()
    state.track_applications("customerpayment", record)
    _refresh_invoices(state, touched | {line["doc"] for line in record["apply"]})


def delete(state: SandboxState, record: Record) -> None:
    if applied_to(state, record["id"], REFUNDED_BY):
        raise user_error("This record cannot be deleted because it has dependent records.")
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
