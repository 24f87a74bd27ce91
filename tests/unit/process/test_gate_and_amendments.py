"""The tax and hierarchy gates, the second legal entity, and contract versions for amendments."""

from __future__ import annotations

import datetime as dt

import pytest
from revbridge_contracts.models import SubscriptionItem
from revbridge_contracts.process import ErrorClass
from revbridge_process.errors import FlowFailure
from revbridge_process.flows.amendments import contract_revision, term_end
from revbridge_process.flows.gate import tax_gate
from revbridge_process.flows.onboarding import onboard, preflight

from tests.unit.process.fakes import NOW, FakeStatuses, FakeSystem, account, contract, mappings

pytestmark = pytest.mark.anyio


def _tax_failure(**overrides: object) -> FlowFailure:
    with pytest.raises(FlowFailure) as caught:
        tax_gate(account(**overrides), mappings())
    assert caught.value.error_class == ErrorClass.tax_code_missing
    return caught.value


def test_tax_code_comes_from_the_country_and_exempt_accounts_get_the_exempt_code() -> None:
    assert tax_gate(account(), mappings()).tax_code == "US-SALES"
    gb = tax_gate(account(country="GB", tax_id="GB123456789"), mappings())
    assert (gb.tax_code, gb.tax_id) == ("GB-VAT-20", "GB123456789")
    assert tax_gate(account(country="GB", tax_exempt=True), mappings()).tax_code == "EXEMPT"


def test_missing_tax_attributes_are_tax_code_missing() -> None:
    assert "GB" in _tax_failure(country="GB").reason  # GB needs a tax id or an exemption
    assert "needs a tax id" in _tax_failure(country="GB", tax_id="  ").reason
    assert "DE" in _tax_failure(country="DE").reason  # no tax code configured for DE
    no_exempt = mappings().model_copy(
        update={"tax": mappings().tax.model_copy(update={"exempt_tax_code": None})}
    )
    with pytest.raises(FlowFailure) as caught:
        tax_gate(account(tax_exempt=True), no_exempt)
    assert caught.value.error_class == ErrorClass.tax_code_missing


def test_gb_contract_maps_to_revbridge_ltd_gbp_prices_and_subsidiary_2() -> None:
    gb = account(country="GB", currency="GBP", tax_id="GB123456789")
    prices = mappings().model_copy(
        update={
            "products": {
                code: p.model_copy(
                    update={"billing_price_refs": {"GBP": p.billing_price_ref.replace("usd", "gbp")}}
                )
                for code, p in mappings().products.items()
            }
        }
    )
    plan = preflight(contract(currency="GBP"), gb, None, prices)
    assert plan.entity.billing_account == "uk" and plan.entity.subsidiary_id == "2"
    assert plan.items == [
        SubscriptionItem(billing_price_ref="plat_ent_monthly_gbp", quantity=1),
        SubscriptionItem(billing_price_ref="seat_monthly_gbp", quantity=40),
    ]
    assert (plan.erp_customer.subsidiary_id, plan.erp_customer.currency) == ("2", "GBP")
    assert (plan.erp_customer.tax_code, plan.erp_customer.tax_id) == ("GB-VAT-20", "GB123456789")


def test_contract_version_and_term_end() -> None:
    stamp = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    assert contract_revision(contract(modified_at=stamp)) == "20260301T120000.123Z"
    assert contract_revision(contract()) is None
    assert term_end(contract(start_date=dt.date(2026, 1, 31), term_months=1)) == dt.date(2026, 2, 27)
    assert term_end(contract(start_date=dt.date(2026, 3, 1), term_months=12)) == dt.date(2027, 2, 28)
    assert term_end(contract(term_months=12)) is None


async def test_amended_contract_sends_its_version_term_and_proration_to_the_subscription() -> None:
    system, statuses = FakeSystem(), FakeStatuses()
    stamp = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    system.add(contract(start_date=dt.date(2026, 3, 1), modified_at=stamp), account())
    await onboard(
        "800000000000001", system, mappings(), statuses, now=lambda: NOW, proration="always_invoice"
    )
    command = system.subscriptions[("default", "800000000000001")]
    assert command.revision == "20260302T093000.000Z" and command.term_end == dt.date(2027, 2, 28)
    assert command.proration_behavior == "always_invoice"
    assert system.erp_customers["001A"].tax_code == "US-SALES"


async def test_write_back_keeps_a_past_due_status_for_dunning_to_clear() -> None:
    system, statuses = FakeSystem(), FakeStatuses()
    system.add(contract(billing_status="past_due"), account())
    await onboard("800000000000001", system, mappings(), statuses, now=lambda: NOW)
    assert system.links["800000000000001"].billing_status == "past_due"
