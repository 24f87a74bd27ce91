"""Payment failed → dunning status written back to the CRM; an owned exception past a threshold.

The handler reads the invoice as it is now and converges the CRM to it, so a duplicate or late
``billing.invoice.payment_failed`` changes nothing: an invoice still owed after failed attempts is
``past_due`` on its contract and account (attempts, next retry, amount past due); an invoice paid,
voided or written off since then clears that status (``settle``). When the failed attempts reach
``config/flows.yaml`` ``dunning.exception_after_attempts``, the flow stops with a
``payment_overdue`` failure, which the worker records as an exception owned by the team
``exceptions.yaml`` names (collections); settling the invoice resolves it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_contracts.models import DunningStatus, Invoice, InvoiceStatus
from revbridge_contracts.process import ErrorClass

from revbridge_process.config import DunningPolicy, Mappings
from revbridge_process.errors import FlowFailure
from revbridge_process.flows.billing_context import InvoiceContext, invoice_context, month_of, utcnow
from revbridge_process.ports import ExceptionSink, FactSink, SystemPort

FLOW = "invoice_dunning"
PAST_DUE = "past_due"
CURRENT = "active"
log = logging.getLogger(__name__)


def is_past_due(invoice: Invoice) -> bool:
    """Still owed after at least one failed attempt."""
    return invoice.status == InvoiceStatus.open and invoice.attempt_count > 0 and invoice.remaining > 0


def dunning_status(invoice: Invoice, now: dt.datetime) -> DunningStatus:
    """The CRM's view of the invoice's collection, as of now."""
    past_due = is_past_due(invoice)
    return DunningStatus(
        billing_status=PAST_DUE if past_due else CURRENT,
        invoice_id=invoice.id,
        attempt_count=invoice.attempt_count,
        next_attempt_at=invoice.next_payment_attempt if past_due else None,
        amount_due=invoice.remaining if past_due else 0,
        currency=invoice.currency,
        synced_at=now,
    )


def overdue(invoice: Invoice, policy: DunningPolicy) -> FlowFailure | None:
    """The failure that pages the owner, when the attempts reached the threshold."""
    if not is_past_due(invoice) or invoice.attempt_count < policy.exception_after_attempts:
        return None
    amount = f"{invoice.remaining} {invoice.currency} (minor units)"
    return FlowFailure(
        ErrorClass.payment_overdue,
        f"invoice {invoice.id}: {invoice.attempt_count} failed payment attempts, {amount} past due",
    )


async def on_payment_failed(
    invoice_id: str,
    billing_account: str,
    system: SystemPort,
    mappings: Mappings,
    policy: DunningPolicy,
    facts: FactSink,
    now: Callable[[], dt.datetime] = utcnow,
) -> DunningStatus:
    """Converge the CRM's dunning status to the invoice; raise ``payment_overdue`` past the threshold."""
    ctx = await invoice_context(system, mappings, billing_account, invoice_id)
    status = dunning_status(ctx.invoice, now())
    await system.put_dunning_status(ctx.contract.id, status)
    if status.billing_status == PAST_DUE:
        await facts.publish(_failed_fact(ctx, status))
    log.info(
        "invoice_dunning.written",
        extra={
            "invoice_id": invoice_id,
            "billing_status": status.billing_status,
            "attempts": status.attempt_count,
        },
    )
    failure = overdue(ctx.invoice, policy)
    if failure is not None:
        raise failure
    return status


async def settle(
    ctx: InvoiceContext,
    system: SystemPort,
    exceptions: ExceptionSink | None,
    now: Callable[[], dt.datetime] = utcnow,
) -> bool:
    """After the invoice was paid, voided or written off: clear the contract's past-due status if it is
    about this invoice, and resolve its dunning exception. True when something was cleared."""
    if ctx.contract.dunning_invoice_id != ctx.invoice.id or is_past_due(ctx.invoice):
        return False
    await system.put_dunning_status(ctx.contract.id, dunning_status(ctx.invoice, now()))
    if exceptions is not None:
        await exceptions.resolve_exception(FLOW, ctx.invoice.id)
    log.info("invoice_dunning.settled", extra={"invoice_id": ctx.invoice.id})
    return True


def _failed_fact(ctx: InvoiceContext, status: DunningStatus) -> Fact:
    return fact(
        FactKind.payment_failed,
        ctx.invoice.id,
        ctx.invoice.id,
        **ctx.facts_of(
            amount=status.amount_due,
            status=PAST_DUE,
            period=month_of(ctx.invoice.issued_at),
            occurred_at=status.synced_at,
        ),
    )
