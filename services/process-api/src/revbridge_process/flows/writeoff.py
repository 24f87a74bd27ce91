"""Voided and uncollectible invoices → the ERP invoice is written off by a credit memo.

NetSuite's REST API has no "void" for a posted invoice (the wire reference lists none, and an
invoice with payments applied cannot be deleted), so revbridge does what an accountant would: the
ERP invoice stays, and a credit memo for what was still owed when billing gave up is applied to
it, closing it. The memo's external id is ``<invoice id>:writeoff`` whether the invoice was voided
or marked uncollectible first (Stripe allows uncollectible → void), so an invoice is written off
once; its lines reverse the invoice's items in proportion (``credit_lines.spread``).

The amount comes from the billing invoice (amount due less amount paid), not from the ERP's open
balance, so the outcome does not depend on the order credit notes and write-offs are processed
in. A voided invoice the ERP never saw (its ``finalized`` event lost or late) is posted first, so
the ledger shows the invoice and its reversal rather than nothing.

An uncollectible invoice that is paid after all (Stripe allows it) gets its write-off removed
(``release``) so the payment can be applied: the dispatcher calls it when posting a payment is
refused because the write-off already closed the invoice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_contracts.models import ErpApplication, ErpCreditMemoUpsert, Invoice, InvoiceStatus

from revbridge_process.config import Mappings
from revbridge_process.errors import SystemNotFound
from revbridge_process.flows import invoice_posting, ledger
from revbridge_process.flows.billing_context import InvoiceContext, invoice_context, month_of, utcnow
from revbridge_process.flows.credit_lines import spread
from revbridge_process.ports import FactSink, SystemPort

FLOW = "invoice_voiding"
WRITTEN_OFF = frozenset({InvoiceStatus.void, InvoiceStatus.uncollectible})
log = logging.getLogger(__name__)


def writeoff_key(invoice_id: str) -> str:
    return f"{invoice_id}:writeoff"


def writeoff_amount(invoice: Invoice) -> int:
    """What billing stopped collecting: due (after pre-payment credit notes) less what was paid."""
    return max(0, invoice.amount_due - invoice.amount_paid)


def writeoff_plan(
    invoice: Invoice, customer_external_id: str, mappings: Mappings
) -> ErpCreditMemoUpsert | None:
    """The credit memo that writes the invoice off, or None when nothing was left to collect."""
    amount = writeoff_amount(invoice)
    if amount <= 0:
        return None
    reason = "voided" if invoice.status == InvoiceStatus.void else "uncollectible"
    when = invoice.voided_at or invoice.marked_uncollectible_at or invoice.issued_at
    return ErpCreditMemoUpsert(
        customer_external_id=customer_external_id,
        currency=invoice.currency,
        tran_date=(when or utcnow()).date(),
        memo=f"Write-off of {invoice.number or invoice.id} ({reason} in billing)",
        lines=spread(invoice, amount, mappings, f"Write-off ({reason})"),
        apply=[ErpApplication(invoice_external_id=invoice.id, amount=amount)],
    )


async def write_off(
    invoice_id: str,
    billing_account: str,
    system: SystemPort,
    mappings: Mappings,
    facts: FactSink,
    now: Callable[[], dt.datetime] = utcnow,
) -> InvoiceContext:
    """Converge the ERP to the invoice: written off while void or uncollectible, not once paid."""
    ctx = await invoice_context(system, mappings, billing_account, invoice_id)
    invoice = ctx.invoice
    if invoice.status == InvoiceStatus.paid:
        await release(invoice_id, system)
        return ctx
    if invoice.status not in WRITTEN_OFF:
        log.info("invoice_voiding.skipped", extra={"invoice_id": invoice_id, "status": invoice.status.value})
        return ctx
    posting = invoice_posting.posting_plan(invoice, ctx.customer_external_id, mappings)
    await facts.publish(*ledger.billed(invoice, ctx.contract, ctx.entity_code))
    ref = await system.upsert_erp_invoice(
        posting.invoice_external_id, posting.invoice
    )  # 409: no customer yet
    await facts.publish(ledger.invoice_posted(invoice, ctx.contract, ctx.entity_code, posting.invoice, ref))
    plan = writeoff_plan(invoice, ctx.customer_external_id, mappings)
    memo_id: str | None = None
    if plan is not None:
        try:
            memo_id = (await system.get_erp_credit_memo(writeoff_key(invoice_id))).internal_id
        except SystemNotFound:
            memo_id = (await system.upsert_erp_credit_memo(writeoff_key(invoice_id), plan)).internal_id
    await facts.publish(*_facts(ctx, plan, memo_id, now()))
    log.info("invoice_voiding.written_off", extra={"invoice_id": invoice_id, "credit_memo": memo_id})
    return ctx


async def release(invoice_id: str, system: SystemPort) -> bool:
    """Remove the invoice's write-off (it was paid after all); True when there was one."""
    try:
        await system.get_erp_credit_memo(writeoff_key(invoice_id))
    except SystemNotFound:
        return False
    await system.delete_erp_credit_memo(writeoff_key(invoice_id))
    log.info("invoice_voiding.released", extra={"invoice_id": invoice_id})
    return True


def _facts(
    ctx: InvoiceContext, plan: ErpCreditMemoUpsert | None, memo_id: str | None, now: dt.datetime
) -> list[Fact]:
    invoice = ctx.invoice
    when = invoice.voided_at or invoice.marked_uncollectible_at or now
    taken = invoice.total if invoice.status == InvoiceStatus.void else writeoff_amount(invoice)
    out = [
        fact(
            FactKind.invoice_voided,
            invoice.id,
            invoice.id,
            **ctx.facts_of(
                amount=taken, status=invoice.status.value, period=month_of(when), occurred_at=when
            ),
        )
    ]
    if plan is not None and memo_id is not None:
        amount = sum(line.amount for line in plan.lines)
        out.append(
            fact(
                FactKind.invoice_void_posted,
                invoice.id,
                memo_id,
                **ctx.facts_of(
                    amount=amount, status=invoice.status.value, period=month_of(when), occurred_at=when
                ),
            )
        )
    return out
