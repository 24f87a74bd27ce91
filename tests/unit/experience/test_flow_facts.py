"""The facts onboarding and invoice posting publish for the read models (process flows, in-memory
fakes): the billing side before the ERP write, so a failed posting leaves a billed-not-posted fact."""

from __future__ import annotations

import pytest
from revbridge_contracts.facts import Fact
from revbridge_contracts.models import ErpCustomerUpsert, InvoiceLine
from revbridge_process.errors import FlowFailure, SystemConflict
from revbridge_process.flows.invoice_posting import post_invoice
from revbridge_process.flows.onboarding import onboard

from tests.unit.process.fakes import NOW, FakeStatuses, FakeSystem, account, contract, invoice, mappings

pytestmark = pytest.mark.anyio


def with_erp_customer(system: FakeSystem) -> FakeSystem:
    system.erp_customers["001A"] = ErpCustomerUpsert(
        name="Globex", subsidiary_id="1", currency="USD", crm_account_id="001A"
    )
    return system


class RecordingFacts:
    def __init__(self) -> None:
        self.published: list[Fact] = []

    async def publish(self, *facts: Fact) -> None:
        self.published.extend(facts)


def kinds(facts: RecordingFacts) -> list[str]:
    return [f.kind.value for f in facts.published]


async def test_onboarding_books_the_total_contract_value_and_links_the_ids() -> None:
    system, facts = FakeSystem(), RecordingFacts()
    system.add(contract(activated_at=NOW, start_date=NOW.date()), account())
    await onboard("800000000000001", system, mappings(), FakeStatuses(), facts=facts)
    assert kinds(facts) == [
        "contract.booked",
        "customer.linked",
        "subscription.linked",
        "erp_customer.linked",
        *["billing.scheduled"] * 12,
        *["revenue.scheduled"] * 12,  # starting on the 1st, each period is one calendar month
    ]
    booked = facts.published[0]
    forecast = facts.published[4:]
    for kind in ("billing.scheduled", "revenue.scheduled"):  # the forecast bills and recognises the TCV
        assert sum(f.amount or 0 for f in forecast if f.kind == kind) == 300000 * 12
    assert (booked.amount, booked.currency, booked.entity, booked.period) == (
        300000 * 12,
        "USD",
        "US",
        "2026-03",
    )
    assert {f.contract_id for f in facts.published} == {"800000000000001"}


async def test_a_contract_stopped_by_the_gate_is_still_booked() -> None:
    system, facts = FakeSystem(), RecordingFacts()
    system.add(contract(), account(country="ZZ"))
    with pytest.raises(FlowFailure):
        await onboard("800000000000001", system, mappings(), FakeStatuses(), facts=facts)
    assert kinds(facts) == ["contract.booked"] and facts.published[0].entity is None


async def test_posting_publishes_billing_side_first_and_each_posting_after_its_write() -> None:
    system, facts = with_erp_customer(FakeSystem()), RecordingFacts()
    system.add(contract(), account(), invoice())
    await post_invoice("in_1", "default", system, mappings(), facts)
    assert kinds(facts) == ["invoice.billed", "payment.collected", "invoice.posted", "payment.posted"]
    billed, collected, posted, paid = facts.published
    assert billed.amount == posted.amount == 300000 and billed.period == posted.period == "2026-03"
    assert collected.key == paid.key == "py_1" and paid.record_id != "py_1"  # the ERP's own id
    assert {f.invoice_id for f in facts.published} == {"in_1"} and {f.entity for f in facts.published} == {
        "US"
    }


async def test_an_unmapped_line_leaves_a_billed_invoice_without_its_posting() -> None:
    system, facts = FakeSystem(), RecordingFacts()
    odd = InvoiceLine(
        id="il_9", product_code="WIDGET", quantity=1, amount=5, period_start=NOW.date(), period_end=NOW.date()
    )
    system.add(contract(), account(), invoice(lines=[odd], total=5, paid=False))
    with pytest.raises(FlowFailure):
        await post_invoice("in_1", "default", system, mappings(), facts)
    assert kinds(facts) == ["invoice.billed"]


async def test_a_refused_erp_write_publishes_no_posting() -> None:
    system, facts = FakeSystem(), RecordingFacts()
    system.add(contract(), account(), invoice(paid=False))
    system.failures["upsert_erp_invoice"].append(SystemConflict("customer missing"))
    with pytest.raises(SystemConflict):
        await post_invoice("in_1", "default", system, mappings(), facts)
    assert kinds(facts) == ["invoice.billed"]
