"""Builders for the dunning, write-off, credit, refund and revenue tests (``FakeSystem`` implements
their system API operations; ``FakeLedgerSystem`` is the same class under the name those tests use).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from revbridge_contracts.facts import Fact
from revbridge_contracts.models import CreditNote, CreditNoteLine, Invoice, Refund

from tests.unit.process.fakes import NOW, FakeSystem, invoice

FakeLedgerSystem = FakeSystem


class RecordingFacts:
    """Implements ``FactSink``; keeps every fact published, in order."""

    def __init__(self) -> None:
        self.published: list[Fact] = []

    async def publish(self, *facts: Fact) -> None:
        self.published.extend(facts)


def open_invoice(invoice_id: str = "in_1", **overrides: Any) -> Invoice:
    """An unpaid open invoice of 3,000.00 USD (two lines), still owed in full."""
    return invoice(invoice_id, paid=False, **({"amount_remaining": 300000} | overrides))


def credit_note(
    note_id: str = "cn_1",
    invoice_id: str = "in_1",
    total: int = 50000,
    pre: int = 0,
    post: int = 0,
    lines: list[CreditNoteLine] | None = None,
    refund_ids: list[str] | None = None,
) -> CreditNote:
    return CreditNote(
        id=note_id,
        number=f"{invoice_id}-CN-01",
        invoice_id=invoice_id,
        customer_id="cus_001A",
        status="issued",
        currency="USD",
        total=total,
        pre_payment_amount=pre,
        post_payment_amount=post,
        refund_ids=refund_ids or [],
        issued_at=NOW + dt.timedelta(days=3),
        lines=lines or [],
    )


def refund(
    refund_id: str = "re_1", amount: int = 20000, credit_note_id: str | None = None, invoice_id: str = "in_1"
) -> Refund:
    return Refund(
        id=refund_id,
        charge_id="ch_1",
        payment_id="py_1",
        invoice_id=invoice_id,
        credit_note_id=credit_note_id,
        amount=amount,
        currency="USD",
        status="succeeded",
        created_at=NOW + dt.timedelta(days=4),
    )
