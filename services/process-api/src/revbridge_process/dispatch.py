"""Routes an event envelope to its flow. The worker decides what to do with failures; this module
only knows which flow owns which event type and runs it.

Every event gets a fresh ``reads.read_once`` view of the system API, so steps of one event that
read the same invoice or contract (posting, then revenue recognition) read it once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from revbridge_contracts.events import EventEnvelope, EventType

from revbridge_process.config import Config
from revbridge_process.errors import SystemRejected
from revbridge_process.facts import NoFacts
from revbridge_process.flows import (
    credits,
    disputes,
    dunning,
    invoice_posting,
    onboarding,
    refunds,
    revenue,
    writeoff,
)
from revbridge_process.flows.billing_context import invoice_context
from revbridge_process.flows.reads import read_once
from revbridge_process.ports import ExceptionSink, FactSink, StatusStore, SystemPort, UsageRegistry

DEFAULT_BILLING_ACCOUNT = "default"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowDeps:
    system: SystemPort
    config: Config
    statuses: StatusStore
    crm_writeback: onboarding.StepRun | None = None
    """Runs onboarding's CRM write-back under its own retry policy (``retry.step_runner``)."""
    facts: FactSink = field(default_factory=NoFacts)
    """Where the flows publish ledger facts for the experience API's read models."""
    usage: UsageRegistry | None = None
    """Where onboarding records a metered contract for usage ingestion (``usage.directory``)."""
    exceptions: ExceptionSink | None = None
    """Lets a flow resolve its own exceptions (dunning, once the invoice is settled); when None, the
    status store is used if it is also the exception queue (as ``store.PgStore`` is)."""

    def exception_sink(self) -> ExceptionSink | None:
        if self.exceptions is not None:
            return self.exceptions
        return self.statuses if isinstance(self.statuses, ExceptionSink) else None


FLOWS: dict[str, tuple[EventType, ...]] = {
    onboarding.FLOW: (EventType.contract_activated,),  # activations, amendments and renewals alike
    invoice_posting.FLOW: (EventType.invoice_finalized, EventType.invoice_paid),
    dunning.FLOW: (EventType.invoice_payment_failed,),
    writeoff.FLOW: (EventType.invoice_voided, EventType.invoice_marked_uncollectible),
    credits.FLOW: (EventType.credit_note_created,),
    refunds.FLOW: (EventType.charge_refunded,),
    disputes.FLOW: (EventType.dispute_closed, EventType.dispute_created),
}
"""Every flow and the event types it handles: the one table the worker routes by, the exception
queue retries by and replay (by business key, by time range) publishes from, so none of them can
miss a flow another knows. The first type of each re-runs the flow for one key; its handler reads
the record as it is now and converges, so it also covers the other types of the flow (posting
converges payments, a write-off converges void and uncollectible alike, dunning converges to the
invoice paid or not)."""

FLOW_OF: dict[EventType, str] = {event: flow for flow, events in FLOWS.items() for event in events}
"""The flow that handles each event type."""

EVENT_FOR_FLOW: dict[str, EventType] = {flow: events[0] for flow, events in FLOWS.items()}
"""The business event that re-runs a flow for one key (retry from the exception queue, replay)."""


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def dispatch(envelope: EventEnvelope, deps: FlowDeps) -> None:
    """Run the flow for one event; raises the flow's errors unchanged."""
    config, mappings = deps.config, deps.config.mappings
    system = read_once(deps.system)
    account = envelope.account or DEFAULT_BILLING_ACCOUNT
    subject = envelope.subject
    kind = envelope.type
    if kind == EventType.contract_activated:
        await onboarding.onboard(
            subject,
            system,
            mappings,
            deps.statuses,
            writeback=deps.crm_writeback,
            proration=config.flows.amendments.proration_behavior,
            facts=deps.facts,
            usage=deps.usage,
        )
    elif kind == EventType.invoice_finalized:
        posted = await _post(subject, account, system, deps)
        if posted is not None and config.flows.revenue.recognize_on_posting:
            await _recognize(subject, account, system, deps)
    elif kind == EventType.invoice_paid:
        await _post_paid(subject, account, system, deps)
    elif kind == EventType.invoice_payment_failed:
        await dunning.on_payment_failed(subject, account, system, mappings, config.flows.dunning, deps.facts)
    elif kind in (EventType.invoice_voided, EventType.invoice_marked_uncollectible):
        ctx = await writeoff.write_off(subject, account, system, mappings, deps.facts)
        await dunning.settle(ctx, system, deps.exception_sink())
    elif kind == EventType.credit_note_created:
        await credits.post_credit_note(subject, account, system, mappings, deps.facts)
    elif kind == EventType.charge_refunded:
        await refunds.post_refunds(subject, account, system, mappings, deps.facts)
    elif kind in (EventType.dispute_closed, EventType.dispute_created):
        await disputes.post_dispute(subject, account, system, mappings, deps.facts)
    else:  # an event type added to the contract before its flow: recorded and acknowledged
        log.info(
            "event.recorded", extra={"event_type": kind.value, "subject": subject, "event_id": envelope.id}
        )


async def _post(
    invoice_id: str, account: str, system: SystemPort, deps: FlowDeps
) -> invoice_posting.PostingPlan | None:
    """Post the invoice as it is now, payments included. An uncollectible invoice paid after all has
    its write-off removed first (the write-off closed it, so the payment could not be applied): on
    the paid notice, and on a finalized one too, which is what a replay by business key publishes
    when the paid notice was lost."""
    mappings = deps.config.mappings
    try:
        return await invoice_posting.post_invoice(invoice_id, account, system, mappings, deps.facts)
    except SystemRejected:
        if not await writeoff.release(invoice_id, system):
            raise
        return await invoice_posting.post_invoice(invoice_id, account, system, mappings, deps.facts)


async def _post_paid(invoice_id: str, account: str, system: SystemPort, deps: FlowDeps) -> None:
    """Post the invoice and its payment, then clear dunning."""
    if await _post(invoice_id, account, system, deps) is None:
        return
    ctx = await invoice_context(system, deps.config.mappings, account, invoice_id)
    await dunning.settle(ctx, system, deps.exception_sink())


async def _recognize(invoice_id: str, account: str, system: SystemPort, deps: FlowDeps) -> None:
    ctx = await invoice_context(system, deps.config.mappings, account, invoice_id)
    await revenue.recognize_invoice(
        ctx.invoice, account, system, deps.config.mappings, deps.facts, _today(), contract=ctx.contract
    )
