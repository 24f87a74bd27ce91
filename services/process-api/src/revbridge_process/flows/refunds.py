"""Refund → ERP customer refund, keyed by the refund id; ``billing.charge.refunded`` converges every
refund of the charge.

NetSuite pays a refund out of a credit (a credit memo or an unapplied payment), and the payment of
a paid invoice is fully applied to it, so each refund draws on a credit memo: the one of the
credit note that made the refund (posted first if need be, so a refund seen before its credit
note converges the same), or, for a refund made without a credit note, a credit memo of its own
(``<refund id>:credit``, unapplied, its lines spread over the invoice's items).
"""

from __future__ import annotations

import logging

from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_contracts.models import ErpCreditMemoUpsert, ErpRefundUpsert, Refund
from revbridge_contracts.process import ErrorClass

from revbridge_process.config import Mappings
from revbridge_process.errors import FlowFailure
from revbridge_process.flows import credits
from revbridge_process.flows.billing_context import InvoiceContext, invoice_context, month_of, utcnow
from revbridge_process.flows.credit_lines import spread
from revbridge_process.ports import FactSink, SystemPort

FLOW = "refund_posting"
REFUNDED = frozenset({"succeeded", "pending"})
log = logging.getLogger(__name__)


def refund_credit_key(refund_id: str) -> str:
    return f"{refund_id}:credit"


def refund_credit_plan(
    refund: Refund, ctx: InvoiceContext, mappings: Mappings, what: str | None = None
) -> ErpCreditMemoUpsert:
    """The credit a refund without a credit note is paid out of (pure); ``what`` names the money
    returned in the memos (``Refund re_...`` unless given, e.g. a lost dispute)."""
    when = refund.created_at or utcnow()
    what = what or f"Refund {refund.id}"
    return ErpCreditMemoUpsert(
        customer_external_id=ctx.customer_external_id,
        currency=refund.currency,
        tran_date=when.date(),
        memo=f"Credit for {what[0].lower()}{what[1:]}",
        lines=spread(ctx.invoice, refund.amount, mappings, what),
    )


def refund_plan(
    refund: Refund, ctx: InvoiceContext, credit_memo_external_id: str, what: str | None = None
) -> ErpRefundUpsert:
    when = refund.created_at or utcnow()
    return ErpRefundUpsert(
        customer_external_id=ctx.customer_external_id,
        credit_memo_external_id=credit_memo_external_id,
        currency=refund.currency,
        amount=refund.amount,
        tran_date=when.date(),
        memo=f"{what or f'Refund {refund.id}'} of {ctx.invoice.number or ctx.invoice.id}",
    )


async def post_refunds(
    charge_id: str, billing_account: str, system: SystemPort, mappings: Mappings, facts: FactSink
) -> list[str]:
    """Converge every refund of the charge; the ERP refund ids written or found."""
    page = await system.list_charge_refunds(billing_account, charge_id)
    posted = []
    for refund in page.items:
        if refund.status not in REFUNDED:
            continue
        if not refund.invoice_id:
            raise FlowFailure(
                ErrorClass.validation, f"refund {refund.id} of charge {charge_id} pays back no invoice"
            )
        ctx = await invoice_context(system, mappings, billing_account, refund.invoice_id)
        if refund.credit_note_id:
            await credits.post_credit_note(refund.credit_note_id, billing_account, system, mappings, facts)
            memo_key = refund.credit_note_id
        else:
            memo_key = refund_credit_key(refund.id)
            await system.upsert_erp_credit_memo(memo_key, refund_credit_plan(refund, ctx, mappings))
        ref = await system.upsert_erp_refund(refund.id, refund_plan(refund, ctx, memo_key))
        await facts.publish(*refund_facts(refund, ctx, ref.internal_id))
        posted.append(ref.internal_id)
        log.info("refund_posting.posted", extra={"refund_id": refund.id, "erp_refund": ref.internal_id})
    return posted


def refund_facts(refund: Refund, ctx: InvoiceContext, erp_id: str) -> list[Fact]:
    when = refund.created_at or utcnow()
    common = ctx.facts_of(
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status,
        period=month_of(when),
        occurred_at=when,
    )
    return [
        fact(FactKind.refund_issued, refund.id, refund.id, **common),
        fact(FactKind.refund_posted, refund.id, erp_id, **common),
    ]
