"""Dispute → the ERP's record of the money the cardholder got back, keyed by the dispute id.

A lost dispute returns the disputed amount to the cardholder: for the books it is a refund of the
payment, so it posts as the refund flow posts one made without a credit note — a credit memo
(``<dispute id>:credit``, its lines spread over the invoice's items) and a customer refund paid out
of it (``<dispute id>``). An open dispute, a won one, or an inquiry closed moves no money and posts
nothing. The dispute's state is published as a fact whenever it is seen (opened, decided), so
lineage shows it beside the payment it contested.
The dispute fee Stripe charges is a cost of the merchant's Stripe balance, not the customer's
account, and is left to the payout reconciliation (not posted here).
"""

from __future__ import annotations

import logging

from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_contracts.models import Dispute, Refund
from revbridge_contracts.process import ErrorClass

from revbridge_process.config import Mappings
from revbridge_process.errors import FlowFailure
from revbridge_process.flows.billing_context import InvoiceContext, invoice_context, month_of, utcnow
from revbridge_process.flows.refunds import refund_credit_key, refund_credit_plan, refund_facts, refund_plan
from revbridge_process.ports import FactSink, SystemPort

FLOW = "dispute_posting"
log = logging.getLogger(__name__)


def as_refund(dispute: Dispute) -> Refund:
    """The money a lost dispute returned, as the refund it amounts to (pure)."""
    return Refund(
        id=dispute.id,
        charge_id=dispute.charge_id,
        payment_id=dispute.payment_id,
        invoice_id=dispute.invoice_id,
        amount=dispute.amount,
        currency=dispute.currency,
        status="succeeded",
        created_at=dispute.created_at,
    )


def label(dispute: Dispute) -> str:
    return f"Lost dispute {dispute.id}" + (f" ({dispute.reason})" if dispute.reason else "")


async def post_dispute(
    dispute_id: str, billing_account: str, system: SystemPort, mappings: Mappings, facts: FactSink
) -> str | None:
    """Converge a dispute as it is now: the ERP refund id of a lost one, None when nothing is owed."""
    dispute = await system.get_dispute(billing_account, dispute_id)
    if not dispute.invoice_id:
        if dispute.lost:  # money left the books of a payment revbridge never posted: for revops
            raise FlowFailure(
                ErrorClass.validation, f"lost dispute {dispute.id} contests a payment of no invoice"
            )
        return None
    ctx = await invoice_context(system, mappings, billing_account, dispute.invoice_id)
    if not dispute.lost:
        await facts.publish(_recorded(dispute, ctx))
        log.info("dispute_posting.nothing_owed", extra={"dispute_id": dispute.id, "status": dispute.status})
        return None
    refund, what = as_refund(dispute), label(dispute)
    memo_key = refund_credit_key(dispute.id)
    await system.upsert_erp_credit_memo(memo_key, refund_credit_plan(refund, ctx, mappings, what))
    ref = await system.upsert_erp_refund(dispute.id, refund_plan(refund, ctx, memo_key, what))
    await facts.publish(_recorded(dispute, ctx), *refund_facts(refund, ctx, ref.internal_id))
    log.info("dispute_posting.posted", extra={"dispute_id": dispute.id, "erp_refund": ref.internal_id})
    return ref.internal_id


def _recorded(dispute: Dispute, ctx: InvoiceContext) -> Fact:
    when = dispute.created_at or utcnow()
    common = ctx.facts_of(
        amount=dispute.amount,
        currency=dispute.currency,
        status=dispute.status,
        period=month_of(when),
        occurred_at=when,
    )
    return fact(FactKind.dispute_recorded, dispute.id, dispute.id, **common)
