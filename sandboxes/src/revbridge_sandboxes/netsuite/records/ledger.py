"""How transactions reach each other through ``apply`` sublists, and keeping the targets current.

Payments and credit memos apply to invoices; refunds apply to credit memos and payments. Each
target's derived amounts (``amountPaid``/``amountRemaining``, ``applied``/``unapplied``) are
recomputed from the sources after every write, so no stored total can drift from the lines.
"""

from __future__ import annotations

from ..state import Record, SandboxState

CUSTOMER_FIELDS = {
    "invoice": "entity",
    "creditMemo": "entity",
    "customerpayment": "customer",
    "customerRefund": "customer",
}


def applied_to(
    state: SandboxState, doc_id: str, sources: tuple[str, ...], *, excluding: str | None = None
) -> float:
    """What the apply lines of ``sources`` records (optionally all but one) put on ``doc_id``."""
    total = 0.0
    for record_type, rid in sorted(state.applications_to(doc_id)):
        record = state.table(record_type).get(rid) if record_type in sources and rid != excluding else None
        if record is not None:
            total += sum(line["amount"] for line in record.get("apply", []) if line["doc"] == doc_id)
    return round(total, 2)


def find_transaction(state: SandboxState, doc_id: str, types: tuple[str, ...]) -> tuple[str, Record] | None:
    for record_type in types:
        record = state.table(record_type).get(doc_id)
        if record is not None:
            return record_type, record
    return None


def refresh_docs(state: SandboxState, doc_ids: set[str]) -> None:
    """Recompute every target named in ``doc_ids`` (invoices, credit memos, payments)."""
    from .creditmemo import refresh as refresh_credit_memo
    from .invoice import refresh as refresh_invoice
    from .payment import refresh as refresh_payment

    refreshers = {
        "invoice": refresh_invoice,
        "creditMemo": refresh_credit_memo,
        "customerpayment": refresh_payment,
    }
    for doc_id in doc_ids:
        found = find_transaction(state, doc_id, tuple(refreshers))
        if found is not None:
            refreshers[found[0]](state, found[1])


def has_transactions(state: SandboxState, customer_id: str) -> bool:
    return any(
        record[field] == customer_id
        for record_type, field in CUSTOMER_FIELDS.items()
        for record in state.table(record_type).values()
    ) or any(
        line.get("entity") == customer_id
        for journal in state.table("journalEntry").values()
        for line in journal["line"]
    )
