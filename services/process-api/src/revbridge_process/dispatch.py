"""Routes an event envelope to its flow. The worker decides what to do with failures; this module
only knows which flow owns which event type and runs it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from revbridge_contracts.events import EventEnvelope, EventType

from revbridge_process.config import Config
from revbridge_process.facts import NoFacts
from revbridge_process.flows import invoice_posting, onboarding
from revbridge_process.ports import FactSink, StatusStore, SystemPort

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


FLOW_OF: dict[EventType, str] = {
    EventType.contract_activated: onboarding.FLOW,
    EventType.invoice_finalized: invoice_posting.FLOW,
    EventType.invoice_paid: invoice_posting.FLOW,
    EventType.invoice_payment_failed: "invoice_dunning",
    EventType.invoice_voided: "invoice_voiding",
    EventType.invoice_marked_uncollectible: "invoice_voiding",
}

EVENT_FOR_FLOW: dict[str, EventType] = {
    onboarding.FLOW: EventType.contract_activated,
    invoice_posting.FLOW: EventType.invoice_finalized,  # the converging handler also posts payments
}
"""The business event that re-runs a flow for one key (retry from the exception queue, replay)."""


async def dispatch(envelope: EventEnvelope, deps: FlowDeps) -> None:
    """Run the flow for one event; raises the flow's errors unchanged."""
    mappings = deps.config.mappings
    if envelope.type == EventType.contract_activated:
        await onboarding.onboard(
            envelope.subject, deps.system, mappings, deps.statuses, writeback=deps.crm_writeback
        )
    elif envelope.type in (EventType.invoice_finalized, EventType.invoice_paid):
        account = envelope.account or DEFAULT_BILLING_ACCOUNT
        await invoice_posting.post_invoice(envelope.subject, account, deps.system, mappings)
    else:
        # payment failed, voided, uncollectible: recorded and acknowledged until their flows exist (issue 4)
        log.info(
            "event.recorded",
            extra={"event_type": envelope.type.value, "subject": envelope.subject, "event_id": envelope.id},
        )
