"""The ``apply`` sublist shared by payments, credit memos and refunds: lines keyed by ``doc``.

Each line names a target transaction of an allowed type that belongs to the same customer and is
in the same currency; the amount (default: all that is still open) must be positive and no more
than the target has open, not counting what the record being written applied before.
"""

from __future__ import annotations

from typing import Any

from ..errors import field_required, invalid_ref, invalid_type, user_error
from ..state import Record, SandboxState
from .common import money, ref_id, sublist_lines
from .ledger import CUSTOMER_FIELDS, applied_to, find_transaction

DRAWN_BY = {
    "invoice": ("customerpayment", "creditMemo"),
    "creditMemo": ("customerRefund",),
    "customerpayment": ("customerRefund",),
}
LABELS = {"invoice": "invoice", "creditMemo": "credit memo", "customerpayment": "payment"}


def open_amount(state: SandboxState, record_type: str, target: Record, source_id: str | None) -> float:
    """What ``target`` still has open for ``source_id`` (whose own earlier lines do not count)."""
    drawn = applied_to(state, target["id"], DRAWN_BY[record_type], excluding=source_id)
    if record_type == "invoice":
        return round(target["total"] - drawn, 2)
    gross = target["payment"] if record_type == "customerpayment" else target["total"]
    return round(gross - target["applied"] - drawn, 2)


def apply_lines(
    state: SandboxState,
    raw_lines: list[dict[str, Any]],
    *,
    targets: tuple[str, ...],
    customer_id: str,
    currency_id: str,
    source_id: str | None,
) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_lines):
        where = f"apply.items[{index}]"
        if raw.get("apply") is not None and not isinstance(raw.get("apply"), bool):
            raise invalid_type(f"{where}.apply", "a boolean (true or false)")
        if raw.get("apply") is False:
            continue
        doc_id = ref_id(raw, "doc", required=True, label="Doc", path=f"{where}.doc")  # guess: label
        assert doc_id is not None
        found = find_transaction(state, doc_id, targets)
        if found is None:
            raise invalid_ref("doc", doc_id, path=f"{where}.doc")
        record_type, target = found
        label = f"{LABELS[record_type]} {target['tranId']}"
        if target[CUSTOMER_FIELDS[record_type]] != customer_id:
            raise user_error(f"The {label} does not belong to the customer of this transaction.")
        if target["currency"] != currency_id:
            raise user_error(
                f"The currency of the transaction does not match the currency of {label}.", path="currency"
            )
        if any(line["doc"] == doc_id for line in lines):
            raise user_error(f"The {label} is applied more than once.")
        available = open_amount(state, record_type, target, source_id)
        amount = money(raw["amount"], f"{where}.amount") if raw.get("amount") is not None else available
        if amount <= 0:
            raise user_error("The amount applied must be greater than zero.", path="apply")
        if amount > available:
            raise user_error(
                f"You cannot apply {amount:.2f} to {label}: only {available:.2f} remains open.", path="apply"
            )
        lines.append({"doc": doc_id, "apply": True, "amount": amount, "line": len(lines)})
    return lines


def apply_sublist(
    state: SandboxState,
    body: dict[str, Any],
    current: Record | None,
    *,
    targets: tuple[str, ...],
    customer_id: str,
    currency_id: str,
    noun: str,
) -> list[dict[str, Any]] | None:
    """The record's validated ``apply`` lines, or ``None`` when an update leaves them as they were.

    A new record must send the sublist; an update that moves the record to another customer or
    currency must send it again, since its lines were checked against the old ones.
    """
    raw_lines = sublist_lines(body, "apply")
    if raw_lines is None:
        if current is None:
            raise field_required("apply", "Apply")  # guess: label
        if (customer_id, currency_id) != (current["customer"], current["currency"]):
            raise user_error(f"Re-send the apply sublist when changing the customer or currency of a {noun}.")
        return None
    return apply_lines(
        state,
        raw_lines,
        targets=targets,
        customer_id=customer_id,
        currency_id=currency_id,
        source_id=current["id"] if current else None,
    )
