"""The ``customerRefund`` record: money paid back to a customer out of a credit memo or a payment.

Rules: ``customer`` is required and the refund is in the customer's currency; the ``apply``
sublist names credit memos or customer payments of that customer by ``doc`` and must refund
something; each line is limited to what the document has left (unapplied and not yet refunded).
The refund's ``total`` is the sum of its lines; the documents' ``unapplied`` follow.
"""

from __future__ import annotations

from typing import Any

from ..errors import field_required, user_error
from ..state import Record, SandboxState
from .apply import apply_sublist
from .common import existing, iso_date, now_iso, ref_id, text, today, unique_external_id
from .kinds import RecordKind
from .ledger import refresh_docs

HEADER_TEXT = ("externalId", "memo", "tranId")
CHECKING = "5"
SOURCES = ("creditMemo", "customerpayment")


def _validated(state: SandboxState, body: dict[str, Any], current: Record | None) -> dict[str, Any]:
    merged = {**(current or {}), **body}
    customer_id = ref_id(merged, "customer", required=True, label="Customer")
    assert customer_id is not None
    customer = existing(state, "customer", "customer", customer_id)
    currency_id = ref_id(merged, "currency") or customer["currency"]
    existing(state, "currency", "currency", currency_id)
    if currency_id != customer["currency"]:
        raise user_error("The currency of the refund is not the currency of the customer.", path="currency")
    account_id = ref_id(merged, "account") or CHECKING
    existing(state, "account", "account", account_id)
    fields: dict[str, Any] = {
        "customer": customer_id,
        "currency": currency_id,
        "account": account_id,
        "subsidiary": customer["subsidiary"],
        "tranDate": iso_date(merged.get("tranDate") or today(), "tranDate"),
    }
    for name in HEADER_TEXT:
        if merged.get(name) is not None:
            fields[name] = text(merged[name], name)
    lines = apply_sublist(
        state, body, current, targets=SOURCES, customer_id=customer_id, currency_id=currency_id, noun="refund"
    )
    if lines is not None:
        if not lines:
            raise field_required("apply", "Apply")  # guess: label
        fields["apply"] = lines
    lines = fields.get("apply") or (current["apply"] if current else [])
    fields["total"] = round(sum(line["amount"] for line in lines), 2)
    fields.update({k: v for k, v in merged.items() if k.lower().startswith("custbody")})
    return fields


def create(state: SandboxState, body: dict[str, Any]) -> Record:
    fields = _validated(state, body, None)
    rid = str(state.next_id("transaction"))
    if fields.get("externalId"):
        unique_external_id(state, ("customerRefund",), fields["externalId"], rid)
    fields.setdefault("tranId", f"RFND{state.next_id('refund_number')}")
    stamp = now_iso()
    record: Record = {"id": rid, **fields, "createdDate": stamp, "lastModifiedDate": stamp}
    state.table("customerRefund")[rid] = record
    state.track_applications("customerRefund", record)
    refresh_docs(state, {line["doc"] for line in record["apply"]})
    return record


def update(state: SandboxState, record: Record, body: dict[str, Any]) -> None:
    fields = _validated(state, body, record)
    if fields.get("externalId"):
        unique_external_id(state, ("customerRefund",), fields["externalId"], record["id"])
    touched = {line["doc"] for line in record["apply"]}
    record.update(fields)
    record["lastModifiedDate"] = now_iso()
    state.track_applications("customerRefund", record)
    refresh_docs(state, touched | {line["doc"] for line in record["apply"]})


def delete(state: SandboxState, record: Record) -> None:
    del state.table("customerRefund")[record["id"]]
    refresh_docs(state, {line["doc"] for line in record["apply"]})


KIND = RecordKind(
    name="customerRefund",
    ref_name=lambda record: f"Customer Refund #{record['tranId']}",
    refs={"customer": "customer", "currency": "currency", "account": "account", "subsidiary": "subsidiary"},
    sublists={"apply": {"doc": "transaction"}},
    fields=frozenset({*HEADER_TEXT, "customer", "currency", "account", "tranDate", "apply"}),
    line_fields=frozenset({"doc", "apply", "amount", "line"}),
    read_only=frozenset({"id", "total", "subsidiary", "createdDate", "lastModifiedDate"}),
    create=create,
    update=update,
    delete=delete,
)
