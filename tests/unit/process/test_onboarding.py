"""The onboarding gate runs before any write, and an accepted contract maps to the right commands."""

from __future__ import annotations

import pytest
from revbridge_contracts.models import ContractLine, SubscriptionItem
from revbridge_contracts.process import ErrorClass, FlowState
from revbridge_process.errors import FlowFailure, SystemConflict, SystemUnavailable
from revbridge_process.flows.onboarding import onboard, preflight

from tests.unit.process.fakes import NOW, FakeStatuses, FakeSystem, account, contract, mappings

pytestmark = pytest.mark.anyio


def _gate_failure(**kwargs: object) -> FlowFailure:
    with pytest.raises(FlowFailure) as caught:
        preflight(**kwargs)  # type: ignore[arg-type]
    return caught.value


def test_plan_maps_entity_products_and_merges_repeated_prices() -> None:
    lines = [
        *contract().lines,
        ContractLine(id="L3", product_code="SEAT", quantity=5, unit_amount=2500, amount=12500),
    ]
    plan = preflight(contract(lines=lines), account(), None, mappings())
    assert plan.entity.billing_account == "default"
    assert plan.customer.model_dump() == {"name": "Globex", "email": None, "country": "US", "currency": "USD"}
    assert plan.items == [
        SubscriptionItem(billing_price_ref="plat_ent_monthly_usd", quantity=1),
        SubscriptionItem(billing_price_ref="seat_monthly_usd", quantity=45),
    ]
    assert plan.subscription("cus_1").customer_id == "cus_1"
    assert plan.erp_customer.subsidiary_id == "1" and plan.erp_customer.currency == "USD"
    assert plan.erp_customer.crm_account_id == "001A"


def test_unknown_country_is_an_entity_mismatch() -> None:
    failure = _gate_failure(
        contract=contract(), account=account(country="FR"), parent=None, mappings=mappings()
    )
    assert failure.error_class == ErrorClass.entity_mismatch and "FR" in failure.reason
    failure = _gate_failure(
        contract=contract(), account=account(country=None), parent=None, mappings=mappings()
    )
    assert failure.error_class == ErrorClass.entity_mismatch


def test_contract_currency_must_match_the_entity() -> None:
    failure = _gate_failure(
        contract=contract(currency="GBP"), account=account(), parent=None, mappings=mappings()
    )
    assert failure.error_class == ErrorClass.entity_mismatch and "GBP" in failure.reason


def test_missing_mappings_are_named() -> None:
    lines = [
        ContractLine(id="L1", product_code="WIDGET", quantity=1, unit_amount=1, amount=1),
        ContractLine(id="L2", product_code="GADGET", quantity=1, unit_amount=1, amount=1),
        ContractLine(id="L3", product_code="SEAT", quantity=1, unit_amount=1, amount=1),
    ]
    failure = _gate_failure(
        contract=contract(lines=lines), account=account(), parent=None, mappings=mappings()
    )
    assert failure.error_class == ErrorClass.mapping_missing
    assert failure.reason == "no product mapping for GADGET, WIDGET"


def test_child_waits_for_its_parent_then_passes_and_a_self_parent_is_refused() -> None:
    child = account("001B", parent_crm_account_id="001A")
    with pytest.raises(SystemConflict) as waiting:  # deferred and redelivered, not failed
        preflight(contract(), child, account(), mappings())
    assert "001A" in str(waiting.value)
    plan = preflight(contract(), child, account(billing_customer_id="cus_001A"), mappings())
    assert plan.erp_customer.crm_account_id == "001B"
    own = account("001B", parent_crm_account_id="001B")
    failure = _gate_failure(contract=contract(), account=own, parent=own, mappings=mappings())
    assert failure.error_class == ErrorClass.validation and "own parent" in failure.reason


async def test_activated_contract_is_onboarded_in_order_and_written_back() -> None:
    system, statuses = FakeSystem(), FakeStatuses()
    system.add(contract(), account())
    status = await onboard("800000000000001", system, mappings(), statuses, now=lambda: NOW)
    assert [w[0] for w in system.writes] == [
        "upsert_billing_customer",
        "upsert_subscription",
        "upsert_erp_customer",
        "put_billing_link",
    ]
    assert system.subscriptions[("default", "800000000000001")].items[1].quantity == 40
    link = system.links["800000000000001"]
    assert (
        link.billing_customer_id,
        link.billing_subscription_id,
        link.erp_customer_id,
        link.billing_status,
    ) == ("cus_001A", "sub_800000000000001", "C-001A", "active")
    assert status.state == FlowState.done and status.erp_customer_id == "C-001A"
    assert [s.state for s in statuses.history] == [FlowState.running, FlowState.done]


async def test_gate_failure_writes_nothing_and_marks_failed() -> None:
    system, statuses = FakeSystem(), FakeStatuses()
    system.add(contract(), account(country="FR"))
    with pytest.raises(FlowFailure):
        await onboard("800000000000001", system, mappings(), statuses)
    assert system.writes == []
    assert statuses.current["800000000000001"].state == FlowState.failed


async def test_draft_contract_is_recorded_not_onboarded() -> None:
    system, statuses = FakeSystem(), FakeStatuses()
    system.add(contract(status="draft"), account())
    status = await onboard("800000000000001", system, mappings(), statuses)
    assert system.writes == [] and status.state == FlowState.failed and "draft" in (status.error or "")


async def test_transient_failure_leaves_the_contract_queued_for_retry() -> None:
    system, statuses = FakeSystem(), FakeStatuses()
    system.add(contract(), account())
    system.failures["upsert_erp_customer"].append(SystemUnavailable("NetSuite down"))
    with pytest.raises(SystemUnavailable):
        await onboard("800000000000001", system, mappings(), statuses)
    assert statuses.current["800000000000001"].state == FlowState.queued
    status = await onboard("800000000000001", system, mappings(), statuses)
    assert status.state == FlowState.done and len(system.billing_customers) == 1
