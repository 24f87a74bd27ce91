"""What every billing-side flow needs first: the invoice, the contract it bills, and the legal entity.

The ERP customer of an invoice is keyed by the contract's CRM account id (onboarding upserted it
so), and the legal entity is the one whose Stripe account sent the event. ``facts_of`` gives the
ids and figures every ledger fact about the invoice carries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from revbridge_contracts.models import Contract, Invoice
from revbridge_contracts.process import ErrorClass

from revbridge_process.config import LegalEntity, Mappings
from revbridge_process.errors import FlowFailure
from revbridge_process.ports import SystemPort


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def month_of(value: dt.date | dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m") if value else None


@dataclass(frozen=True)
class InvoiceContext:
    billing_account: str
    invoice: Invoice
    contract: Contract
    entity_code: str | None
    entity: LegalEntity | None

    @property
    def customer_external_id(self) -> str:
        """The ERP customer's external id: the CRM account id (as onboarding upserts it)."""
        return self.contract.account_id

    def facts_of(self, **values: Any) -> dict[str, Any]:
        """Common fields of a fact about this invoice; ``values`` add or override."""
        return {
            "contract_id": self.contract.id,
            "customer_id": self.contract.account_id,
            "invoice_id": self.invoice.id,
            "entity": self.entity_code,
            "currency": self.invoice.currency,
        } | values

    def subsidiary_id(self) -> str:
        if self.entity is None:
            raise FlowFailure(
                ErrorClass.entity_mismatch,
                f"no legal entity is billed by Stripe account {self.billing_account!r}",
            )
        return self.entity.subsidiary_id


async def invoice_context(
    system: SystemPort, mappings: Mappings, billing_account: str, invoice_id: str
) -> InvoiceContext:
    """Read the invoice and its contract. ``FlowFailure`` when the invoice names no contract."""
    invoice = await system.get_invoice(billing_account, invoice_id)
    if not invoice.crm_contract_id:
        raise FlowFailure(ErrorClass.validation, f"invoice {invoice_id} names no CRM contract")
    contract = await system.get_contract(invoice.crm_contract_id)
    found = mappings.entity_of_account(billing_account)
    code, entity = found if found else (None, None)
    return InvoiceContext(billing_account, invoice, contract, code, entity)
