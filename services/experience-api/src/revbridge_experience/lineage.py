"""Lineage from the read model: every record a contract, customer or invoice has across CRM,
billing and ERP, arranged as the revenue flows link them.

contract (CRM) → billing customer and subscription → invoices → ERP invoice → payments → ERP
payments → revenue journal entries; voids, credits and refunds hang off their invoice.
"""

from __future__ import annotations

from typing import Any, Literal

from revbridge_contracts.experience import (
    LedgerRecord,
    Lineage,
    LineageContract,
    LineageInvoice,
    LineageView,
)
from revbridge_contracts.problems import NotFound
from revbridge_contracts.process import SystemRecord

from revbridge_experience.readmodel.queries import ReadModel

Scope = Literal["contract", "customer", "invoice"]
MAX_INVOICES = 200
RECORD_TYPE = {
    "contract.booked": "contract",
    "customer.linked": "customer",
    "subscription.linked": "subscription",
    "erp_customer.linked": "customer",
    "invoice.billed": "invoice",
    "invoice.posted": "invoice",
    "payment.collected": "payment",
    "payment.posted": "payment",
    "payment.failed": "payment_failure",
    "invoice.voided": "invoice_void",
    "invoice.void_posted": "credit_memo",
    "credit.issued": "credit_note",
    "credit.posted": "credit_memo",
    "refund.issued": "refund",
    "refund.posted": "customer_refund",
    "dispute.recorded": "dispute",
    "revenue.recognized": "journal_entry",
}


def record(doc: dict[str, Any]) -> LedgerRecord:
    return LedgerRecord(
        kind=doc["kind"],
        key=doc["key"],
        system=doc["system"],
        record_type=RECORD_TYPE.get(doc["kind"], doc["kind"]),
        id=doc["record_id"],
        contract_id=doc.get("contract_id"),
        customer_id=doc.get("customer_id"),
        invoice_id=doc.get("invoice_id"),
        entity=doc.get("entity"),
        currency=doc.get("currency"),
        amount=doc.get("amount"),
        period=doc.get("period"),
        status=doc.get("status"),
        occurred_at=doc["occurred_at"],
        recorded_at=doc["recorded_at"],
        trace_id=doc.get("trace_id"),
        correlation_id=doc.get("correlation_id"),
    )


def _invoice(invoice_id: str, docs: list[dict[str, Any]]) -> LineageInvoice:
    by_kind: dict[str, list[LedgerRecord]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(record(doc))
    for items in by_kind.values():
        items.sort(key=lambda r: (r.occurred_at, r.key))

    def one(kind: str) -> LedgerRecord | None:
        found = by_kind.get(kind)
        return found[0] if found else None

    billed, posted = one("invoice.billed"), one("invoice.posted")
    payments, posted_payments = by_kind.get("payment.collected", []), by_kind.get("payment.posted", [])
    adjustments = [
        r
        for kind in (
            "payment.failed",
            "invoice.voided",
            "invoice.void_posted",
            "credit.issued",
            "credit.posted",
            "refund.issued",
            "refund.posted",
            "dispute.recorded",
        )
        for r in by_kind.get(kind, [])
    ]
    reconciled = (
        billed is not None
        and posted is not None
        and billed.amount == posted.amount
        and {p.key for p in payments} <= {p.key for p in posted_payments}
    )
    return LineageInvoice(
        invoice_id=invoice_id,
        billed=billed,
        posted=posted,
        payments=payments,
        posted_payments=posted_payments,
        journal_entries=by_kind.get("revenue.recognized", []),
        adjustments=adjustments,
        reconciled=reconciled,
    )


async def _contract(rm: ReadModel, contract_id: str, docs: list[dict[str, Any]]) -> LineageContract:
    booked = next((d for d in docs if d["kind"] == "contract.booked"), None)
    subscription = next((d for d in docs if d["kind"] == "subscription.linked"), None)
    account = (booked or subscription or next(iter(docs), {})).get("customer_id")
    customer = await rm.fact("customer.linked", account) if account else None
    erp_customer = await rm.fact("erp_customer.linked", account) if account else None
    invoices: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        if doc.get("invoice_id"):
            invoices.setdefault(doc["invoice_id"], []).append(doc)
    ordered = sorted(invoices.items(), key=lambda kv: min(d["_o"] for d in kv[1]), reverse=True)
    return LineageContract(
        contract_id=contract_id,
        contract=record(booked) if booked else None,
        billing_customer=record(customer) if customer else None,
        subscription=record(subscription) if subscription else None,
        erp_customer=record(erp_customer) if erp_customer else None,
        invoices=[_invoice(i, d) for i, d in ordered[:MAX_INVOICES]],
    )


async def lineage(rm: ReadModel, scope: Scope, key: str) -> Lineage:
    """The lineage of one contract, customer (CRM account) or invoice; ``NotFound`` if none is known."""
    docs = [d for d in await rm.facts(await rm.index(scope, key)) if d is not None]
    if not docs:
        raise NotFound(f"no {scope} {key} in the read model")
    by_contract: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        by_contract.setdefault(doc.get("contract_id") or "", []).append(doc)
    if scope == "invoice":  # the invoice's contract and links, but only this invoice
        for contract_id in [c for c in by_contract if c]:
            for kind in ("contract.booked", "subscription.linked"):
                found = await rm.fact(kind, contract_id)
                if found:
                    by_contract[contract_id].append(found)
    contracts = [await _contract(rm, c, d) for c, d in sorted(by_contract.items())]
    invoices = sum(len(c.invoices) for c in contracts)
    traces = sorted({d["trace_id"] for d in docs if d.get("trace_id")})
    return Lineage(
        scope=scope,
        key=key,
        contracts=contracts,
        trace_ids=traces,
        truncated=invoices >= MAX_INVOICES,
    )


async def lineage_view(rm: ReadModel, contract_id: str) -> LineageView:
    """v1's contract lineage shape (records grouped by system), from the read model."""
    docs = [d for d in await rm.facts(await rm.index("contract", contract_id)) if d is not None]
    if not docs:
        raise NotFound(f"no contract {contract_id} in the read model")
    account = next((d.get("customer_id") for d in docs if d.get("customer_id")), None)
    if account:
        for kind in ("customer.linked", "erp_customer.linked"):
            found = await rm.fact(kind, account)
            if found and found not in docs:
                docs.append(found)
    groups: dict[str, list[SystemRecord]] = {"crm": [], "billing": [], "erp": []}
    for doc in sorted(docs, key=lambda d: (d["_o"], d["kind"])):
        groups[doc["system"]].append(
            SystemRecord(
                system=doc["system"],
                record_type=RECORD_TYPE.get(doc["kind"], doc["kind"]),
                id=doc["record_id"],
                status=doc.get("status"),
                amount=doc.get("amount"),
                currency=doc.get("currency"),
            )
        )
    return LineageView(contract_id=contract_id, **groups)
