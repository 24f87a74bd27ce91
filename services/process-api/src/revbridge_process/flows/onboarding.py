"""Customer onboarding: an activated CRM contract becomes a billing customer and subscription, an
ERP customer in the right subsidiary, and a write-back of those ids to the CRM.

The pre-flight gate (``preflight``) runs before anything is created anywhere, so a contract with
a missing mapping or the wrong legal entity waits as an exception instead of half-onboarding.
An amended or renewed contract runs the same converging flow (``amendments``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from revbridge_contracts.models import (
    BillingCustomer,
    BillingCustomerUpsert,
    BillingLink,
    ChargeType,
    Contract,
    ContractStatus,
    Customer,
    ErpCustomerUpsert,
    PhaseItem,
    ProrationBehavior,
    SubscriptionItem,
    SubscriptionPhase,
    SubscriptionUpsert,
)
from revbridge_contracts.process import ErrorClass, FlowState, OnboardingStatus

from revbridge_process.config import LegalEntity, Mappings
from revbridge_process.errors import BUSINESS, FlowFailure
from revbridge_process.facts import NoFacts
from revbridge_process.flows import ledger, ramps
from revbridge_process.flows.amendments import contract_revision, term_end
from revbridge_process.flows.gate import hierarchy_gate, tax_gate
from revbridge_process.ports import FactSink, StatusStore, SystemPort, UsageRegistry
from revbridge_process.usage.directory import DirectoryEntry

FLOW = "onboarding"
PAST_DUE = "past_due"
StepRun = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class OnboardingPlan:
    """Everything the flow will write, decided before the first write."""

    entity: LegalEntity
    customer: BillingCustomerUpsert
    items: list[SubscriptionItem]
    erp_customer: ErpCustomerUpsert
    revision: str | None = None
    term_end: dt.date | None = None
    phases: tuple[SubscriptionPhase, ...] = ()
    """A ramped, phased or usage contract's schedule phases (``ramps``); then ``items`` is empty."""

    def subscription(
        self, customer_id: str, proration: ProrationBehavior = "create_prorations"
    ) -> SubscriptionUpsert:
        """Create, or converge an amended/renewed contract's subscription (prorated as ``proration``)."""
        return SubscriptionUpsert(
            customer_id=customer_id,
            currency=self.entity.currency,
            items=self.items,
            phases=list(self.phases),
            revision=self.revision,
            term_end=self.term_end,
            proration_behavior=proration,
        )


def _entity(contract: Contract, account: Customer, mappings: Mappings) -> LegalEntity:
    if not account.country:
        raise FlowFailure(
            ErrorClass.entity_mismatch, f"account {account.crm_account_id} has no billing country"
        )
    entity = mappings.legal_entities.get(account.country)
    if entity is None:
        raise FlowFailure(
            ErrorClass.entity_mismatch, f"no legal entity for billing country {account.country}"
        )
    if contract.currency != entity.currency:
        raise FlowFailure(
            ErrorClass.entity_mismatch,
            f"contract currency {contract.currency} differs from {entity.name}'s currency {entity.currency}",
        )
    return entity


def _items(contract: Contract, mappings: Mappings, currency: str) -> list[SubscriptionItem]:
    missing = sorted(
        {
            line.product_code or f"(line {line.id} has no product code)"
            for line in contract.lines
            if line.product_code not in mappings.products
        }
    )
    if missing:
        raise FlowFailure(ErrorClass.mapping_missing, f"no product mapping for {', '.join(missing)}")
    if not contract.lines:
        raise FlowFailure(ErrorClass.validation, f"contract {contract.id} has no lines")
    quantities: dict[str, int] = {}
    for line in contract.lines:
        ref = mappings.products[str(line.product_code)].price_ref(currency)
        quantities[ref] = quantities.get(ref, 0) + line.quantity  # one subscription item per price
    if any(q < 1 for q in quantities.values()):
        raise FlowFailure(ErrorClass.validation, f"contract {contract.id} has a line with quantity below 1")
    return [SubscriptionItem(billing_price_ref=ref, quantity=q) for ref, q in quantities.items()]


def preflight(
    contract: Contract, account: Customer, parent: Customer | None, mappings: Mappings
) -> OnboardingPlan:
    """The gate: legal entity and currency, tax attributes, product mappings (for a ramped or usage
    contract: its segments, ``ramps.ramp_gate``), hierarchy.

    Raises ``FlowFailure`` (a person has to act), or ``SystemConflict`` while the parent account is
    not onboarded yet (``gate.hierarchy_gate``: the contract waits and is redelivered).
    """
    entity = _entity(contract, account, mappings)
    tax = tax_gate(account, mappings)
    items: list[SubscriptionItem] = []
    phases: list[SubscriptionPhase] = []
    if ramps.is_phased(contract):
        ramps.ramp_gate(contract, mappings, entity)
        phases = ramps.phases(contract, mappings, entity.currency)
    else:
        items = _items(contract, mappings, entity.currency)
    hierarchy_gate(account, parent)
    return OnboardingPlan(
        entity=entity,
        customer=BillingCustomerUpsert(name=account.name, country=account.country, currency=entity.currency),
        items=items,
        erp_customer=ErpCustomerUpsert(
            name=account.name,
            subsidiary_id=entity.subsidiary_id,
            currency=entity.currency,
            crm_account_id=account.crm_account_id,
            tax_code=tax.tax_code,
            tax_id=tax.tax_id,
        ),
        revision=contract_revision(contract),
        term_end=term_end(contract),
        phases=tuple(phases),
    )


def _usage_entry(
    contract: Contract, account: Customer, plan: OnboardingPlan, customer: BillingCustomer, mappings: Mappings
) -> DirectoryEntry | None:
    """What usage ingestion needs of a contract with usage lines: its customer, meters and periods."""
    meters = frozenset(
        mappings.meters[str(line.product_code)].event_name
        for line in contract.lines
        if line.charge_type is ChargeType.usage and line.product_code in mappings.meters
    )
    if not meters or not plan.phases:
        return None
    start = plan.phases[0].start_date
    return DirectoryEntry(
        contract_id=contract.id,
        crm_account_id=account.crm_account_id,
        billing_account=plan.entity.billing_account,
        billing_customer_id=customer.id,
        meters=meters,
        billing_anchor=dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC),
        test_clock=customer.test_clock,
    )


def _flat_phases(contract: Contract, plan: OnboardingPlan) -> list[SubscriptionPhase]:
    """A flat contract's term as one phase at its lines' prices (for the forecast only)."""
    if contract.start_date is None or plan.term_end is None or not plan.items:
        return []
    items = [
        PhaseItem(
            billing_price_ref=line.product_code or line.id,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
        )
        for line in contract.lines
        if line.quantity >= 1
    ]
    end = plan.term_end + dt.timedelta(days=1)
    return [SubscriptionPhase(start_date=contract.start_date, end_date=end, items=items)] if items else []


async def _direct(call: Callable[[], Awaitable[Any]]) -> Any:
    return await call()


async def _converge(
    contract_id: str,
    system: SystemPort,
    mappings: Mappings,
    now: Callable[[], dt.datetime],
    writeback: StepRun = _direct,
    proration: ProrationBehavior = "create_prorations",
    facts: FactSink | None = None,
    usage: UsageRegistry | None = None,
) -> OnboardingStatus:
    facts = facts or NoFacts()
    contract = await system.get_contract(contract_id)
    if contract.status != ContractStatus.activated:
        log.info(
            "onboarding.skipped", extra={"contract_id": contract_id, "contract_status": contract.status.value}
        )
        return OnboardingStatus(
            contract_id=contract_id,
            state=FlowState.failed,
            updated_at=now(),
            error=f"contract is {contract.status.value}, not activated",
        )
    account = await system.get_account(contract.account_id)
    await facts.publish(ledger.booked(contract, account, mappings))  # booked, whether the gate passes or not
    parent = (
        await system.get_account(account.parent_crm_account_id) if account.parent_crm_account_id else None
    )
    plan = preflight(contract, account, parent, mappings)
    billing_account = plan.entity.billing_account
    customer = await system.upsert_billing_customer(billing_account, account.crm_account_id, plan.customer)
    subscription = await system.upsert_subscription(
        billing_account, contract.id, plan.subscription(customer.id, proration)
    )
    erp_customer = await system.upsert_erp_customer(account.crm_account_id, plan.erp_customer)
    link = BillingLink(
        billing_customer_id=customer.id,
        billing_subscription_id=subscription.id,
        erp_customer_id=erp_customer.internal_id,
        billing_status=PAST_DUE if contract.billing_status == PAST_DUE else "active",  # dunning's to clear
        synced_at=now(),
    )
    if usage is not None and (entry := _usage_entry(contract, account, plan, customer, mappings)) is not None:
        await usage.register(entry)  # before the write-back: a sender told "onboarded" can send usage
    await writeback(lambda: system.put_billing_link(contract.id, link))
    entity = ledger.entity_of_country(account.country, mappings)
    await facts.publish(*ledger.linked(contract, customer, subscription, erp_customer, entity))
    await facts.publish(*ledger.scheduled(contract, plan.phases or _flat_phases(contract, plan), entity))
    log.info(
        "onboarding.done",
        extra={
            "contract_id": contract_id,
            "billing_customer_id": customer.id,
            "erp_customer_id": erp_customer.internal_id,
        },
    )
    return OnboardingStatus(
        contract_id=contract_id,
        state=FlowState.done,
        billing_customer_id=customer.id,
        billing_subscription_id=subscription.id,
        erp_customer_id=erp_customer.internal_id,
        updated_at=now(),
    )


async def onboard(
    contract_id: str,
    system: SystemPort,
    mappings: Mappings,
    statuses: StatusStore,
    now: Callable[[], dt.datetime] = utcnow,
    writeback: StepRun | None = None,
    proration: ProrationBehavior = "create_prorations",
    facts: FactSink | None = None,
    usage: UsageRegistry | None = None,
) -> OnboardingStatus:
    """Converge one contract; keep its status current. Failures propagate to the caller after the
    status says so: business failures as ``failed``, anything else as ``queued`` (it will be retried)."""
    previous = await statuses.get_status(contract_id)
    base = previous or OnboardingStatus(contract_id=contract_id, state=FlowState.queued, updated_at=now())
    await statuses.put_status(base.model_copy(update={"state": FlowState.running, "updated_at": now()}))
    try:
        status = await _converge(
            contract_id, system, mappings, now, writeback or _direct, proration, facts, usage
        )
    except BUSINESS as exc:
        await statuses.put_status(
            base.model_copy(update={"state": FlowState.failed, "error": str(exc), "updated_at": now()})
        )
        raise
    except Exception as exc:
        await statuses.put_status(
            base.model_copy(
                update={"state": FlowState.queued, "updated_at": now(), "error": f"will retry: {exc}"}
            )
        )
        raise
    await statuses.put_status(status)
    return status
