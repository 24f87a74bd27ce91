"""Invoice and payment posting: a billing invoice and its successful payments become one ERP
invoice and one ERP customer payment each, keyed by the billing ids.

``billing.invoice.finalized`` and ``billing.invoice.paid`` run the same converging handler: it
reads the invoice as it is now and upserts everything it implies, so order and duplicates do not
matter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from revbridge_contracts.models import (
    ErpInvoiceLine,
    ErpInvoiceUpsert,
    ErpPaymentUpsert,
    Invoice,
    InvoiceStatus,
)
from revbridge_contracts.process import ErrorClass

from revbridge_process.config import Mappings
from revbridge_process.errors import FlowFailure
from revbridge_process.facts import NoFacts
from revbridge_process.flows import ledger
from revbridge_process.ports import FactSink, SystemPort

FLOW = "invoice_posting"
POSTED_PAYMENT_STATUSES = frozenset({"succeeded", "paid"})
NOT_POSTED = frozenset({InvoiceStatus.draft, InvoiceStatus.void})
"""Drafts are not invoices yet; voided invoices are the voiding flow's (issue 4), never posted fresh."""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostingPlan:
    """The ERP writes one invoice implies, each with the key it is upserted by."""

    invoice_external_id: str
    invoice: ErpInvoiceUpsert
    payments: dict[str, ErpPaymentUpsert] = field(default_factory=dict)


def posting_plan(invoice: Invoice, customer_external_id: str, mappings: Mappings) -> PostingPlan:
    """Map a billing invoice to ERP commands. Raises ``FlowFailure`` for unmapped or unusable data."""
    missing = sorted(
        {
            line.product_code or f"(line {line.id} has no product code)"
            for line in invoice.lines
            if mappings.erp_item_of(line.product_code) is None
        }
    )
    if missing:
        raise FlowFailure(ErrorClass.mapping_missing, f"no product mapping for {', '.join(missing)}")
    if not invoice.lines:
        raise FlowFailure(ErrorClass.validation, f"invoice {invoice.id} has no lines")
    if invoice.issued_at is None:
        raise FlowFailure(
            ErrorClass.validation, f"invoice {invoice.id} is {invoice.status.value} but not issued"
        )
    lines = [
        ErpInvoiceLine(
            item_id=str(mappings.erp_item_of(line.product_code)),
            description=line.description,
            quantity=line.quantity,
            amount=line.amount,
            period_start=line.period_start,
            period_end=line.period_end,
        )
        for line in invoice.lines
    ]
    erp_invoice = ErpInvoiceUpsert(
        customer_external_id=customer_external_id,
        currency=invoice.currency,
        tran_date=invoice.issued_at.date(),
        memo=invoice.number,
        lines=lines,
    )
    payments = {
        payment.id: ErpPaymentUpsert(
            customer_external_id=customer_external_id,
            invoice_external_id=invoice.id,
            currency=payment.currency,
            amount=payment.amount,
            tran_date=(payment.paid_at or invoice.issued_at).date(),
        )
        for payment in invoice.payments
        if payment.status in POSTED_PAYMENT_STATUSES
    }
    return PostingPlan(invoice_external_id=invoice.id, invoice=erp_invoice, payments=payments)


async def post_invoice(
    invoice_id: str,
    billing_account: str,
    system: SystemPort,
    mappings: Mappings,
    facts: FactSink | None = None,
) -> PostingPlan | None:
    """Converge the ERP to the invoice as it is now; ``None`` when there is nothing to post yet.

    Facts: what billing says (billed, collected) before the ERP writes, each posting after its write.
    """
    facts = facts or NoFacts()
    invoice = await system.get_invoice(billing_account, invoice_id)
    if invoice.status in NOT_POSTED:
        log.info(
            "invoice_posting.skipped",
            extra={"invoice_id": invoice_id, "invoice_status": invoice.status.value},
        )
        return None
    if not invoice.crm_contract_id:
        raise FlowFailure(ErrorClass.validation, f"invoice {invoice_id} names no CRM contract")
    contract = await system.get_contract(invoice.crm_contract_id)
    entity = ledger.entity_of_account(billing_account, mappings)
    await facts.publish(*ledger.billed(invoice, contract, entity))
    plan = posting_plan(invoice, contract.account_id, mappings)
    ref = await system.upsert_erp_invoice(
        plan.invoice_external_id, plan.invoice
    )  # 409 while the customer is missing
    await facts.publish(ledger.invoice_posted(invoice, contract, entity, plan.invoice, ref))
    for payment_id, command in plan.payments.items():
        paid = await system.upsert_erp_payment(payment_id, command)
        await facts.publish(ledger.payment_posted(invoice, contract, entity, payment_id, command, paid))
    log.info("invoice_posting.posted", extra={"invoice_id": invoice_id, "payments": len(plan.payments)})
    return plan
