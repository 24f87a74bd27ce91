"""A billing invoice maps to one ERP invoice and one ERP payment per successful payment."""

from __future__ import annotations

import datetime as dt

import pytest
from revbridge_contracts.models import InvoiceLine, Payment
from revbridge_contracts.process import ErrorClass
from revbridge_process.errors import FlowFailure, SystemConflict
from revbridge_process.flows.invoice_posting import post_invoice, posting_plan

from tests.unit.process.fakes import NOW, FakeSystem, account, contract, invoice, mappings

pytestmark = pytest.mark.anyio


def test_lines_map_to_erp_items_and_only_settled_payments_post() -> None:
    failed = Payment(id="py_0", invoice_id="in_1", amount=300000, currency="USD", status="failed")
    plan = posting_plan(invoice(payments=[failed, *invoice().payments]), "001A", mappings())
    assert plan.invoice_external_id == "in_1"
    assert plan.invoice.customer_external_id == "001A"
    assert plan.invoice.tran_date == NOW.date() and plan.invoice.memo == "INV-0001"
    assert [(li.item_id, li.quantity, li.amount) for li in plan.invoice.lines] == [
        ("101", 1, 200000),
        ("102", 40, 100000),
    ]
    assert plan.invoice.lines[0].period_start == dt.date(2026, 3, 1)
    assert list(plan.payments) == ["py_1"]
    payment = plan.payments["py_1"]
    assert (payment.invoice_external_id, payment.amount, payment.tran_date) == (
        "in_1",
        300000,
        dt.date(2026, 3, 3),
    )


def test_unmapped_invoice_line_is_mapping_missing() -> None:
    line = InvoiceLine(
        id="il_9",
        product_code="WIDGET",
        quantity=1,
        amount=5,
        period_start=dt.date(2026, 3, 1),
        period_end=dt.date(2026, 3, 31),
    )
    with pytest.raises(FlowFailure) as caught:
        posting_plan(invoice(lines=[line]), "001A", mappings())
    assert caught.value.error_class == ErrorClass.mapping_missing and "WIDGET" in caught.value.reason


async def test_posting_uses_the_contracts_account_as_erp_customer() -> None:
    system = FakeSystem()
    system.add(contract(account_id="001Z"), account("001Z"), invoice())
    system.erp_customers["001Z"] = None  # type: ignore[assignment]  # onboarded earlier
    plan = await post_invoice("in_1", "default", system, mappings())
    assert plan is not None
    assert system.erp_invoices["in_1"].customer_external_id == "001Z"
    assert system.erp_payments["py_1"].customer_external_id == "001Z"


async def test_draft_and_void_invoices_post_nothing() -> None:
    system = FakeSystem()
    system.add(
        contract(), invoice("in_d", status="draft", paid=False), invoice("in_v", status="void", paid=False)
    )
    assert await post_invoice("in_d", "default", system, mappings()) is None
    assert await post_invoice("in_v", "default", system, mappings()) is None
    assert system.writes == []


async def test_missing_erp_customer_is_a_conflict_to_retry_later() -> None:
    system = FakeSystem()
    system.add(contract(), invoice())
    with pytest.raises(SystemConflict):
        await post_invoice("in_1", "default", system, mappings())
    assert system.erp_payments == {}


async def test_invoice_without_contract_is_a_validation_failure() -> None:
    system = FakeSystem()
    system.add(invoice(crm_contract_id=None))
    with pytest.raises(FlowFailure) as caught:
        await post_invoice("in_1", "default", system, mappings())
    assert caught.value.error_class == ErrorClass.validation
