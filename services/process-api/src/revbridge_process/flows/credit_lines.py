"""ERP credit lines for an amount taken off an invoice: which items, periods and amounts it reverses.

A billing credit note names the invoice lines it credits; a write-off or a plain refund credits
an amount without naming lines. Either way the ERP credit memo carries item lines, so the amount
not tied to a line is spread over the invoice's lines in proportion to their amounts
(``allocation.allocate``), keeping each line's item and service period.
"""

from __future__ import annotations

from revbridge_contracts.models import CreditNote, ErpCreditLine, Invoice, InvoiceLine
from revbridge_contracts.process import ErrorClass

from revbridge_process.config import Mappings
from revbridge_process.errors import FlowFailure
from revbridge_process.flows.allocation import allocate


def _item(line: InvoiceLine, mappings: Mappings) -> str:
    item = mappings.erp_item_of(line.product_code)
    if item is None:
        name = line.product_code or f"(line {line.id} has no product code)"
        raise FlowFailure(ErrorClass.mapping_missing, f"no product mapping for {name}")
    return item


def _line(line: InvoiceLine, amount: int, mappings: Mappings, description: str | None) -> ErpCreditLine:
    return ErpCreditLine(
        item_id=_item(line, mappings),
        description=description or line.description,
        quantity=1,
        amount=amount,
        period_start=line.period_start,
        period_end=line.period_end,
    )


def spread(
    invoice: Invoice, amount: int, mappings: Mappings, description: str | None = None
) -> list[ErpCreditLine]:
    """``amount`` (> 0) over the invoice's positive lines, in proportion to their amounts."""
    lines = [line for line in invoice.lines if line.amount > 0]
    if amount <= 0:
        return []
    if not lines:
        raise FlowFailure(ErrorClass.validation, f"invoice {invoice.id} has no line to credit against")
    parts = allocate(amount, [line.amount for line in lines])
    return [
        _line(line, part, mappings, description) for line, part in zip(lines, parts, strict=True) if part > 0
    ]


def credit_note_lines(note: CreditNote, invoice: Invoice, mappings: Mappings) -> list[ErpCreditLine]:
    """Lines that name an invoice line credit its item; the rest of the note's total is spread."""
    by_id = {line.id: line for line in invoice.lines}
    out: list[ErpCreditLine] = []
    named = 0
    for line in note.lines:
        source = by_id.get(line.invoice_line_id or "")
        if source is not None and line.amount > 0:
            out.append(_line(source, line.amount, mappings, line.description))
            named += line.amount
    rest = note.total - named
    if rest < 0:
        raise FlowFailure(
            ErrorClass.validation, f"credit note {note.id} lines exceed its total ({named} > {note.total})"
        )
    return out + spread(invoice, rest, mappings, note.memo)
