"""Credit note → ERP credit memo, keyed by the credit note id.

What a pre-payment credit note took off the invoice (``pre_payment_amount``) is applied to the ERP
invoice, reducing what the customer owes there too; a post-payment credit note (the invoice was
already paid) stays an unapplied credit on the customer, from which the refunds it made are paid
out (``refunds``). The split comes from the credit note itself, never from the ERP's balances, so
the result is the same whichever of the invoice, payment, credit note and refund events is
processed first. The invoice is posted first when the ERP does not have it yet.
"""

from __future__ import annotations

import logging

from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_contracts.models import CreditNote, ErpApplication, ErpCreditMemoUpsert, ErpRef

from revbridge_process.config import Mappings
from revbridge_process.flows import invoice_posting
from revbridge_process.flows.billing_context import InvoiceContext, invoice_context, month_of, utcnow
from revbridge_process.flows.credit_lines import credit_note_lines
from revbridge_process.ports import FactSink, SystemPort

FLOW = "credit_posting"
log = logging.getLogger(__name__)


def credit_memo_plan(note: CreditNote, ctx: InvoiceContext, mappings: Mappings) -> ErpCreditMemoUpsert:
    """The ERP credit memo of a credit note (pure)."""
    apply = (
        [ErpApplication(invoice_external_id=note.invoice_id, amount=note.pre_payment_amount)]
        if note.pre_payment_amount > 0
        else []
    )
    issued = note.issued_at or ctx.invoice.issued_at or utcnow()
    return ErpCreditMemoUpsert(
        customer_external_id=ctx.customer_external_id,
        currency=note.currency,
        tran_date=issued.date(),
        memo=note.number or note.id,
        lines=credit_note_lines(note, ctx.invoice, mappings),
        apply=apply,
    )


async def post_credit_note(
    credit_note_id: str, billing_account: str, system: SystemPort, mappings: Mappings, facts: FactSink
) -> ErpRef | None:
    """Converge the ERP to the credit note; None for a voided note (its memo is removed)."""
    note = await system.get_credit_note(billing_account, credit_note_id)
    ctx = await invoice_context(system, mappings, billing_account, note.invoice_id)
    if note.status == "void":  # voided since: the ERP credit goes too (refused if something was refunded)
        await system.delete_erp_credit_memo(note.id)
        log.info("credit_posting.void_note", extra={"credit_note_id": credit_note_id})
        return None
    await invoice_posting.post_invoice(note.invoice_id, billing_account, system, mappings, facts)
    ref = await system.upsert_erp_credit_memo(note.id, credit_memo_plan(note, ctx, mappings))
    await facts.publish(*_facts(note, ctx, ref.internal_id))
    log.info("credit_posting.posted", extra={"credit_note_id": note.id, "credit_memo": ref.internal_id})
    return ref


def _facts(note: CreditNote, ctx: InvoiceContext, memo_id: str) -> list[Fact]:
    when = note.issued_at or ctx.invoice.issued_at or utcnow()
    common = ctx.facts_of(
        amount=note.total, currency=note.currency, status=note.status, period=month_of(when)
    )
    return [
        fact(FactKind.credit_issued, note.id, note.id, occurred_at=when, **common),
        fact(FactKind.credit_posted, note.id, memo_id, occurred_at=when, **common),
    ]
