"""Hand-written fakes of the process API's ports, plus builders of canonical records.

``FakeSystem`` behaves like the system API where the flows can tell: upserts are keyed (a repeat
returns the same record), an ERP invoice for an unknown ERP customer is a 409, listings are
paginated. It records every write so tests can assert on the commands sent.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from revbridge_contracts.models import (
    BillingCustomer,
    BillingCustomerUpsert,
    BillingLink,
    Contract,
    ContractLine,
    ContractPage,
    ContractStatus,
    CreditNote,
    Customer,
    Dispute,
    DunningStatus,
    ErpCreditMemoUpsert,
    ErpCustomerUpsert,
    ErpInvoiceUpsert,
    ErpJournalEntryUpsert,
    ErpPaymentUpsert,
    ErpRef,
    ErpRefundUpsert,
    ErpTransaction,
    ErpTransactionPage,
    Invoice,
    InvoiceLine,
    InvoicePage,
    Payment,
    Refund,
    RefundPage,
    Subscription,
    SubscriptionUpsert,
)
from revbridge_contracts.process import ErrorClass, ExceptionRecord, OnboardingStatus
from revbridge_process.config import LegalEntity, Mappings, ProductMapping, TaxMappings, TaxRule
from revbridge_process.errors import SystemConflict, SystemNotFound

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def mappings() -> Mappings:
    return Mappings(
        products={
            "PLAT-ENT": ProductMapping(billing_price_ref="plat_ent_monthly_usd", erp_item_id="101"),
            "SEAT": ProductMapping(billing_price_ref="seat_monthly_usd", erp_item_id="102"),
        },
        legal_entities={
            "US": LegalEntity(
                name="Revbridge Inc.", subsidiary_id="1", currency="USD", billing_account="default"
            ),
            "GB": LegalEntity(name="Revbridge Ltd", subsidiary_id="2", currency="GBP", billing_account="uk"),
        },
        tax=TaxMappings(
            countries={
                "US": TaxRule(tax_code="US-SALES"),
                "GB": TaxRule(tax_code="GB-VAT-20", tax_id_required=True),
            },
            exempt_tax_code="EXEMPT",
        ),
    )


def account(account_id: str = "001A", **overrides: Any) -> Customer:
    return Customer.model_validate(
        {"crm_account_id": account_id, "name": "Globex", "country": "US", "currency": "USD"} | overrides
    )


def contract(contract_id: str = "800000000000001", account_id: str = "001A", **overrides: Any) -> Contract:
    lines = [
        ContractLine(id="L1", product_code="PLAT-ENT", quantity=1, unit_amount=200000, amount=200000),
        ContractLine(id="L2", product_code="SEAT", quantity=40, unit_amount=2500, amount=100000),
    ]
    return Contract.model_validate(
        {
            "id": contract_id,
            "account_id": account_id,
            "status": "activated",
            "currency": "USD",
            "term_months": 12,
            "lines": lines,
        }
        | overrides
    )


def invoice(
    invoice_id: str = "in_1", contract_id: str = "800000000000001", paid: bool = True, **overrides: Any
) -> Invoice:
    lines = [
        InvoiceLine(
            id="il_1",
            product_code="PLAT-ENT",
            quantity=1,
            amount=200000,
            period_start=dt.date(2026, 3, 1),
            period_end=dt.date(2026, 3, 31),
        ),
        InvoiceLine(
            id="il_2",
            product_code="SEAT",
            quantity=40,
            amount=100000,
            period_start=dt.date(2026, 3, 1),
            period_end=dt.date(2026, 3, 31),
        ),
    ]
    payments = (
        [
            Payment(
                id="py_1",
                invoice_id=invoice_id,
                amount=300000,
                currency="USD",
                status="succeeded",
                paid_at=NOW + dt.timedelta(days=2),
            )
        ]
        if paid
        else []
    )
    return Invoice.model_validate(
        {
            "id": invoice_id,
            "number": "INV-0001",
            "customer_id": "cus_001A",
            "crm_contract_id": contract_id,
            "status": "paid" if paid else "open",
            "currency": "USD",
            "total": 300000,
            "amount_paid": 300000 if paid else 0,
            "amount_due": 0 if paid else 300000,
            "issued_at": NOW,
            "lines": lines,
            "payments": payments,
        }
        | overrides
    )


class FakeSystem:
    """Implements ``SystemPort`` in memory."""

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self.contracts: dict[str, Contract] = {}
        self.accounts: dict[str, Customer] = {}
        self.invoices: dict[str, dict[str, Invoice]] = defaultdict(dict)
        self.billing_customers: dict[tuple[str, str], BillingCustomerUpsert] = {}
        self.subscriptions: dict[tuple[str, str], SubscriptionUpsert] = {}
        self.erp_customers: dict[str, ErpCustomerUpsert] = {}
        self.erp_invoices: dict[str, ErpInvoiceUpsert] = {}
        self.erp_payments: dict[str, ErpPaymentUpsert] = {}
        self.links: dict[str, BillingLink] = {}
        self.writes: list[tuple[str, str, Any]] = []
        self.failures: dict[str, list[Exception]] = defaultdict(list)
        """Method name → errors to raise on its next calls, in order (a fault injector)."""
        self.dunning: list[tuple[str, DunningStatus]] = []
        self.credit_notes: dict[str, CreditNote] = {}
        self.refunds: dict[str, list[Refund]] = {}
        self.disputes: dict[str, Dispute] = {}
        self.erp_credit_memos: dict[str, ErpCreditMemoUpsert] = {}
        self.erp_refunds: dict[str, ErpRefundUpsert] = {}
        self.erp_journals: dict[str, ErpJournalEntryUpsert] = {}
        self.deleted: list[str] = []

    def add(self, *records: Contract | Customer | Invoice, billing_account: str = "default") -> None:
        for record in records:
            if isinstance(record, Contract):
                self.contracts[record.id] = record
            elif isinstance(record, Customer):
                self.accounts[record.crm_account_id] = record
            else:
                self.invoices[billing_account][record.id] = record

    def _fault(self, method: str) -> None:
        if self.failures[method]:
            raise self.failures[method].pop(0)

    def _page(self, items: list[Any], cursor: str | None) -> tuple[list[Any], str | None]:
        start = int(cursor or 0)
        end = start + self.page_size
        return items[start:end], (str(end) if end < len(items) else None)

    async def get_contract(self, contract_id: str) -> Contract:
        self._fault("get_contract")
        if contract_id not in self.contracts:
            raise SystemNotFound(f"contract {contract_id} not found")
        return self.contracts[contract_id]

    async def list_contracts(
        self, status: ContractStatus | None = None, cursor: str | None = None
    ) -> ContractPage:
        matching = [c for c in self.contracts.values() if status is None or c.status == status]
        items, next_cursor = self._page(matching, cursor)
        return ContractPage(items=items, next_cursor=next_cursor)

    async def put_billing_link(self, contract_id: str, link: BillingLink) -> Contract:
        self._fault("put_billing_link")
        self.links[contract_id] = link
        self.writes.append(("put_billing_link", contract_id, link))
        updated = self.contracts[contract_id].model_copy(update=link.model_dump(exclude={"synced_at"}))
        self.contracts[contract_id] = updated
        acct = self.accounts[updated.account_id]
        self.accounts[acct.crm_account_id] = acct.model_copy(
            update={"billing_customer_id": link.billing_customer_id, "erp_customer_id": link.erp_customer_id}
        )
        return updated

    async def get_account(self, account_id: str) -> Customer:
        self._fault("get_account")
        if account_id not in self.accounts:
            raise SystemNotFound(f"account {account_id} not found")
        return self.accounts[account_id]

    async def upsert_billing_customer(
        self, account: str, crm_account_id: str, command: BillingCustomerUpsert
    ) -> BillingCustomer:
        self._fault("upsert_billing_customer")
        created = (account, crm_account_id) not in self.billing_customers
        self.billing_customers[(account, crm_account_id)] = command
        self.writes.append(("upsert_billing_customer", crm_account_id, command))
        return BillingCustomer(
            id=f"cus_{crm_account_id}",
            crm_account_id=crm_account_id,
            name=command.name,
            currency=command.currency,
            created=created,
        )

    async def upsert_subscription(
        self, account: str, crm_contract_id: str, command: SubscriptionUpsert
    ) -> Subscription:
        self._fault("upsert_subscription")
        self.subscriptions[(account, crm_contract_id)] = command
        self.writes.append(("upsert_subscription", crm_contract_id, command))
        return Subscription(
            id=f"sub_{crm_contract_id}",
            customer_id=command.customer_id,
            crm_contract_id=crm_contract_id,
            status="active",
        )

    async def list_invoices(self, account: str, cursor: str | None = None) -> InvoicePage:
        self._fault("list_invoices")
        items, next_cursor = self._page(list(self.invoices[account].values()), cursor)
        return InvoicePage(items=items, next_cursor=next_cursor)

    async def get_invoice(self, account: str, invoice_id: str) -> Invoice:
        self._fault("get_invoice")
        if invoice_id not in self.invoices[account]:
            raise SystemNotFound(f"invoice {invoice_id} not found")
        return self.invoices[account][invoice_id]

    async def get_erp_customer(self, external_id: str) -> ErpRef:
        if external_id not in self.erp_customers:
            raise SystemNotFound(f"ERP customer {external_id} not found")
        return ErpRef(record_type="customer", internal_id=f"C-{external_id}", external_id=external_id)

    async def upsert_erp_customer(self, external_id: str, command: ErpCustomerUpsert) -> ErpRef:
        self._fault("upsert_erp_customer")
        self.erp_customers[external_id] = command
        self.writes.append(("upsert_erp_customer", external_id, command))
        return ErpRef(record_type="customer", internal_id=f"C-{external_id}", external_id=external_id)

    def _erp_tx(
        self, record_type: str, external_id: str, command: ErpInvoiceUpsert | ErpPaymentUpsert
    ) -> ErpTransaction:
        total = (
            command.amount
            if isinstance(command, ErpPaymentUpsert)
            else sum(li.amount for li in command.lines)
        )
        return ErpTransaction(
            record_type=record_type,
            internal_id=f"T-{external_id}",
            external_id=external_id,
            currency=command.currency,
            total=total,
            status="posted",
        )

    async def get_erp_invoice(self, external_id: str) -> ErpTransaction:
        if external_id not in self.erp_invoices:
            raise SystemNotFound(f"ERP invoice {external_id} not found")
        return self._erp_tx("invoice", external_id, self.erp_invoices[external_id])

    async def upsert_erp_invoice(self, external_id: str, command: ErpInvoiceUpsert) -> ErpRef:
        self._fault("upsert_erp_invoice")
        if command.customer_external_id not in self.erp_customers:
            raise SystemConflict(f"ERP customer {command.customer_external_id} does not exist")
        self.erp_invoices.setdefault(external_id, command)  # created, or left as it was
        self.writes.append(("upsert_erp_invoice", external_id, command))
        return ErpRef(record_type="invoice", internal_id=f"T-{external_id}", external_id=external_id)

    async def get_erp_payment(self, external_id: str) -> ErpTransaction:
        if external_id not in self.erp_payments:
            raise SystemNotFound(f"ERP payment {external_id} not found")
        return self._erp_tx("payment", external_id, self.erp_payments[external_id])

    async def upsert_erp_payment(self, external_id: str, command: ErpPaymentUpsert) -> ErpRef:
        self._fault("upsert_erp_payment")
        self.erp_payments.setdefault(external_id, command)
        self.writes.append(("upsert_erp_payment", external_id, command))
        return ErpRef(record_type="payment", internal_id=f"T-{external_id}", external_id=external_id)

    async def list_erp_transactions(self, record_type: str, cursor: str | None = None) -> ErpTransactionPage:
        if record_type == "journal_entry":
            journals = [await self.get_erp_journal_entry(key) for key in self.erp_journals]
            page, after = self._page(journals, cursor)
            return ErpTransactionPage(items=page, next_cursor=after)
        source = self.erp_invoices if record_type == "invoice" else self.erp_payments
        txs = [self._erp_tx(record_type, ext, cmd) for ext, cmd in source.items()]  # type: ignore[arg-type]
        items, next_cursor = self._page(txs, cursor)
        return ErpTransactionPage(items=items, next_cursor=next_cursor)

    # --- dunning, write-offs, credits, refunds, revenue (issue 4) ---------------------------

    async def put_dunning_status(self, contract_id: str, status: DunningStatus) -> Contract:
        self._fault("put_dunning_status")
        self.dunning.append((contract_id, status))
        self.writes.append(("put_dunning_status", contract_id, status))
        past_due = status.billing_status == "past_due"
        updated = self.contracts[contract_id].model_copy(
            update={
                "billing_status": status.billing_status,
                "dunning_invoice_id": status.invoice_id if past_due else None,
            }
        )
        self.contracts[contract_id] = updated
        return updated

    async def get_credit_note(self, account: str, credit_note_id: str) -> CreditNote:
        if credit_note_id not in self.credit_notes:
            raise SystemNotFound(f"credit note {credit_note_id} not found")
        return self.credit_notes[credit_note_id]

    async def list_charge_refunds(self, account: str, charge_id: str) -> RefundPage:
        return RefundPage(items=self.refunds.get(charge_id, []))

    async def get_dispute(self, account: str, dispute_id: str) -> Dispute:
        if dispute_id not in self.disputes:
            raise SystemNotFound(f"dispute {dispute_id} not found")
        return self.disputes[dispute_id]

    def _tx(self, record_type: str, external_id: str, total: int, currency: str) -> ErpTransaction:
        return ErpTransaction(
            record_type=record_type,
            internal_id=f"T-{external_id}",
            external_id=external_id,
            currency=currency,
            total=total,
        )

    async def get_erp_credit_memo(self, external_id: str) -> ErpTransaction:
        memo = self.erp_credit_memos.get(external_id)
        if memo is None:
            raise SystemNotFound(f"ERP credit memo {external_id} not found")
        return self._tx("creditMemo", external_id, sum(li.amount for li in memo.lines), memo.currency)

    async def upsert_erp_credit_memo(self, external_id: str, command: ErpCreditMemoUpsert) -> ErpRef:
        self._fault("upsert_erp_credit_memo")
        if command.customer_external_id not in self.erp_customers:
            raise SystemConflict(f"ERP customer {command.customer_external_id} does not exist")
        for application in command.apply:
            if application.invoice_external_id not in self.erp_invoices:
                raise SystemConflict(f"invoice not in ERP: {application.invoice_external_id}")
        self.erp_credit_memos.setdefault(external_id, command)
        self.writes.append(("upsert_erp_credit_memo", external_id, command))
        return ErpRef(record_type="creditMemo", internal_id=f"T-{external_id}", external_id=external_id)

    async def delete_erp_credit_memo(self, external_id: str) -> None:
        self.erp_credit_memos.pop(external_id, None)
        self.deleted.append(external_id)

    async def get_erp_refund(self, external_id: str) -> ErpTransaction:
        refund = self.erp_refunds.get(external_id)
        if refund is None:
            raise SystemNotFound(f"ERP refund {external_id} not found")
        return self._tx("customerRefund", external_id, refund.amount, refund.currency)

    async def upsert_erp_refund(self, external_id: str, command: ErpRefundUpsert) -> ErpRef:
        self._fault("upsert_erp_refund")
        if command.credit_memo_external_id not in self.erp_credit_memos:
            raise SystemConflict(f"credit memo not in ERP: {command.credit_memo_external_id}")
        self.erp_refunds.setdefault(external_id, command)
        self.writes.append(("upsert_erp_refund", external_id, command))
        return ErpRef(record_type="customerRefund", internal_id=f"T-{external_id}", external_id=external_id)

    async def get_erp_journal_entry(self, external_id: str) -> ErpTransaction:
        journal = self.erp_journals.get(external_id)
        if journal is None:
            raise SystemNotFound(f"ERP journal entry {external_id} not found")
        return self._tx("journalEntry", external_id, sum(li.debit for li in journal.lines), journal.currency)

    async def upsert_erp_journal_entry(self, external_id: str, command: ErpJournalEntryUpsert) -> ErpRef:
        self._fault("upsert_erp_journal_entry")
        self.erp_journals.setdefault(external_id, command)
        self.writes.append(("upsert_erp_journal_entry", external_id, command))
        return ErpRef(record_type="journalEntry", internal_id=f"T-{external_id}", external_id=external_id)


class FakeStatuses:
    """Implements ``StatusStore``; keeps every status written, in order."""

    def __init__(self) -> None:
        self.current: dict[str, OnboardingStatus] = {}
        self.history: list[OnboardingStatus] = []

    async def get_status(self, contract_id: str) -> OnboardingStatus | None:
        return self.current.get(contract_id)

    async def put_status(self, status: OnboardingStatus) -> None:
        self.current[status.contract_id] = status
        self.history.append(status)


class FakeExceptions:
    """Implements ``ExceptionSink`` without owners (``store.PgStore``'s job)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], ExceptionRecord] = {}

    async def record_exception(
        self, flow: str, business_key: str, error_class: ErrorClass, reason: str, account: str | None = None
    ) -> ExceptionRecord:
        previous = self.records.get((flow, business_key))
        record = ExceptionRecord(
            id=f"{flow}:{business_key}",
            flow=flow,
            business_key=business_key,
            error_class=error_class,
            reason=reason,
            owner="test",
            attempts=previous.attempts + 1 if previous else 1,
            first_seen=NOW,
            last_seen=NOW,
            sla_due=NOW,
            account=account,
        )
        self.records[(flow, business_key)] = record
        return record

    async def resolve_exception(self, flow: str, business_key: str) -> None:
        if (flow, business_key) in self.records:
            self.records[(flow, business_key)] = self.records[(flow, business_key)].model_copy(
                update={"status": "resolved"}
            )
