"""The ``creditMemo`` record: a credit to a customer, with item lines, applied to open invoices.

Rules: as for invoices, ``entity`` is an existing customer whose subsidiary and currency the memo
shares, and ``item`` lines set the ``total``. The ``apply`` sublist names invoices of the same
customer and currency by ``doc``; what it applies reduces each invoice's ``amountRemaining``
(NetSuite counts applied credits in the invoice's ``amountPaid``) and may not exceed what the
invoice still owes or what the memo has left after refunds. ``status`` is Open until nothing is
left to apply (Fully Applied).
"""

from __future__ import annotations

from typing import Any

from ..errors import lines_required, user_error
from ..state import Record, SandboxState
from . import invoice as invoices
from .apply import apply_lines
from .common import now_iso, sublist_lines, unique_external_id
from .kinds import RecordKind
from .ledger import applied_to, refresh_docs

REFUNDED_BY = ("customerRefund",)


def _validated(state: SandboxState, body: dict[str, Any], current: Record | None) -> dict[str, Any]:
    header = invoices.header_fields(state, body, current)
    raw_items = sublist_lines(body, "item")
    if raw_items is not None:
        header["item"] = invoices.item_lines(state, raw_items)
    elif current is None:
        raise lines_required("item")
    lines: list[dict[str, Any]] = header["item"] if "item" in header else current["item"] if current else []
    total = round(sum(line["amount"] for line in lines), 2)
    raw_apply = sublist_lines(body, "apply")
    if raw_apply is not None:
        header["apply"] = apply_lines(
            state,
            raw_apply,
            targets=("invoice",),
            customer_id=header["entity"],
            currency_id=header["currency"],
            source_id=current["id"] if current else None,
        )
    elif current is None:
        header["apply"] = []
    elif current["apply"] and (header["entity"], header["currency"]) != (
        current["entity"],
        current["currency"],
    ):
        raise user_error("Re-send the apply sublist when changing the customer or currency of a credit memo.")
    applies: list[dict[str, Any]] = (
        header["apply"] if "apply" in header else current["apply"] if current else []
    )
    applied = round(sum(line["amount"] for line in applies), 2)
    refunded = applied_to(state, current["id"], REFUNDED_BY) if current else 0.0
    if round(applied + refunded, 2) > total:
        raise user_error(
            f"The total applied and refunded ({applied + refunded:.2f}) exceeds the credit memo total "
            f"({total:.2f}).",
            path="apply",
        )
    return header


def refresh(state: SandboxState, record: Record) -> None:
    record["total"] = round(sum(line["amount"] for line in record["item"]), 2)
    record["applied"] = round(sum(line["amount"] for line in record["apply"]), 2)
    refunded = applied_to(state, record["id"], REFUNDED_BY)
    record["unapplied"] = round(record["total"] - record["applied"] - refunded, 2)
    record["amountRemaining"] = record["unapplied"]
    record["status"] = "Fully Applied" if record["unapplied"] <= 0 else "Open"


def create(state: SandboxState, body: dict[str, Any]) -> Record:
    fields = _validated(state, body, None)
    rid = str(state.next_id("transaction"))
    if fields.get("externalId"):
        unique_external_id(state, ("creditMemo",), fields["externalId"], rid)
    fields.setdefault("tranId", f"CM{state.next_id('creditmemo_number')}")
    stamp = now_iso()
    record: Record = {"id": rid, **fields, "createdDate": stamp, "lastModifiedDate": stamp}
    state.table("creditMemo")[rid] = record
    state.track_applications("creditMemo", record)
    refresh(state, record)
    refresh_docs(state, {line["doc"] for line in record["apply"]})
    return record


def update(state: SandboxState, record: Record, body: dict[str, Any]) -> None:
    fields = _validated(state, body, record)
    if fields.get("externalId"):
        unique_external_id(state, ("creditMemo",), fields["externalId"], record["id"])
    touched = {line["doc"] for line in record["apply"]}
    record.update(fields)
    record["lastModifiedDate"] = now_iso()
    state.track_applications("creditMemo", record)
    refresh(state, record)
    refresh_docs(state, touched | {line["doc"] for line in record["apply"]})


def delete(state: SandboxState, record: Record) -> None:
    if applied_to(state, record["id"], REFUNDED_BY):
        raise user_error("This record cannot be deleted because it has dependent records.")
    del state.table("creditMemo")[record["id"]]
    refresh_docs(state, {line["doc"] for line in record["apply"]})


KIND = RecordKind(
    name="creditMemo",
    ref_name=lambda record: f"Credit Memo #{record['tranId']}",
    refs={"entity": "customer", "subsidiary": "subsidiary", "currency": "currency"},
    sublists={"item": {"item": "item"}, "apply": {"doc": "invoice"}},
    fields=frozenset(
        {*invoices.HEADER_TEXT, "entity", "subsidiary", "currency", "tranDate", "item", "apply"}
    ),
    line_fields=invoices.LINE_FIELDS | {"doc", "apply"},
    read_only=frozenset(
        {
            "id",
            "total",
            "applied",
            "unapplied",
            "amountRemaining",
            "status",
            "createdDate",
            "lastModifiedDate",
        }
    ),
    create=create,
    update=update,
    delete=delete,
)
