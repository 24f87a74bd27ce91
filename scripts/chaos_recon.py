"""Stripe invoices and payments against NetSuite's, read from the platforms themselves.

This is the harness's own count, independent of revbridge: every finalized Stripe invoice should
have exactly one NetSuite invoice with the same amount, currency and status, and every successful
Stripe payment exactly one NetSuite customer payment. A NetSuite record names its Stripe invoice by
``externalId`` (revbridge's key) or, when it has none, by ``memo`` (what a point-to-point copier
writes); a record that names no Stripe invoice is ``unexpected_in_target``. The same count is used
for revbridge's NetSuite and for the naive copier's, so the two columns of the table compare alike.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from scripts.chaos_http import call

POSTED = ("open", "paid", "uncollectible")
"""Finalized and not voided: what must be in the ledger."""
ERP_STATUS = {"paid": "Paid In Full", "open": "Open", "uncollectible": "Paid In Full", "void": "Paid In Full"}
"""What the ledger must show for each Stripe invoice status: an uncollectible or void invoice is
written off by a credit memo, which closes the ERP invoice (revbridge's rule,
``revbridge_process.reconcile.INVOICE_STATUS_IN_ERP``); a copier that leaves it Open has not
followed it."""


@dataclass
class Counts:
    matched: int = 0
    missing_in_target: int = 0
    duplicated: int = 0
    amount_mismatch: int = 0
    currency_mismatch: int = 0
    status_mismatch: int = 0
    unexpected_in_target: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, what: str, key: str) -> None:
        setattr(self, what, getattr(self, what) + 1)
        if len(self.examples.setdefault(what, [])) < 5:
            self.examples[what].append(key)

    @property
    def clean(self) -> bool:
        return not (
            self.missing_in_target
            or self.duplicated
            or self.amount_mismatch
            or self.currency_mismatch
            or self.status_mismatch
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    source_invoices: int
    source_payments: int
    target_invoices: int
    target_payments: int
    invoices: Counts
    payments: Counts

    @property
    def clean(self) -> bool:
        return self.invoices.clean and self.payments.clean


async def stripe_invoices(clients: list[httpx.AsyncClient]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for client in clients:
        params: dict[str, Any] = {"limit": 100, "expand[]": "data.payments"}
        while True:
            page = (await call(client, "GET", "/v1/invoices", params=params)).json()
            out += page["data"]
            if not page["has_more"]:
                break
            params["starting_after"] = page["data"][-1]["id"]
    return [inv for inv in out if inv["status"] in POSTED]


def paid_payments(invoice: dict[str, Any]) -> dict[str, int]:
    """Successful payments of a Stripe invoice by payment intent id (revbridge's payment key)."""
    out = {}
    for payment in (invoice.get("payments") or {}).get("data", []):
        if payment.get("status") == "paid":
            inner = payment.get("payment") or {}
            out[str(inner.get("payment_intent") or payment["id"])] = int(payment.get("amount_paid") or 0)
    return out


async def netsuite_records(admin: httpx.AsyncClient, base: str, record_type: str) -> list[dict[str, Any]]:
    body = (await call(admin, "GET", f"{base}/__sandbox/records/{record_type}")).json()
    return list(body)


def _minor(amount: float) -> int:
    return round(float(amount) * 100)


def compare(
    invoices: list[dict[str, Any]],
    ns_invoices: list[dict[str, Any]],
    ns_payments: list[dict[str, Any]],
    currency_codes: dict[str, str],
) -> Report:
    by_id = {inv["id"]: inv for inv in invoices}
    by_number = {inv["number"]: inv for inv in invoices if inv.get("number")}
    inv_counts, pay_counts = Counts(), Counts()
    posted: dict[str, list[dict[str, Any]]] = defaultdict(list)
    stripe_of_internal: dict[str, str] = {}
    for record in ns_invoices:
        named = record.get("externalId") or record.get("memo") or ""
        source = by_id.get(named) or by_number.get(named)
        if source is None:
            inv_counts.note("unexpected_in_target", f"netsuite invoice {record['id']} ({named or 'no key'})")
            continue
        posted[source["id"]].append(record)
        stripe_of_internal[str(record["id"])] = source["id"]
    for inv in invoices:
        records = posted.get(inv["id"], [])
        if not records:
            inv_counts.note("missing_in_target", inv["id"])
            continue
        if len(records) > 1:
            inv_counts.note("duplicated", f"{inv['id']} x{len(records)}")
        record = records[0]
        if _minor(record["total"]) != int(inv["total"]):
            inv_counts.note("amount_mismatch", f"{inv['id']}: {inv['total']} vs {_minor(record['total'])}")
        elif currency_codes.get(str(record["currency"]), "?") != inv["currency"].upper():
            inv_counts.note("currency_mismatch", inv["id"])
        elif record.get("status") != ERP_STATUS[inv["status"]]:
            inv_counts.note("status_mismatch", f"{inv['id']}: {inv['status']} vs {record.get('status')}")
        elif len(records) == 1:
            inv_counts.matched += 1
    received: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for payment in ns_payments:
        docs = {stripe_of_internal.get(str(line["doc"])) for line in payment.get("apply", [])} - {None}
        if not docs:
            pay_counts.note("unexpected_in_target", f"netsuite payment {payment['id']}")
        for doc in docs:
            received[str(doc)].append(payment)
    expected = 0
    for inv in invoices:
        wanted = paid_payments(inv)
        expected += len(wanted)
        got = received.get(inv["id"], [])
        if len(got) < len(wanted):
            pay_counts.note("missing_in_target", inv["id"])
        elif len(got) > len(wanted):
            pay_counts.note("duplicated", f"{inv['id']} x{len(got)}")
        elif sum(_minor(p["payment"]) for p in got) != sum(wanted.values()):
            pay_counts.note("amount_mismatch", inv["id"])
        else:
            pay_counts.matched += len(got)
    return Report(len(invoices), expected, len(ns_invoices), len(ns_payments), inv_counts, pay_counts)


async def reconcile_platforms(
    stripe_clients: list[httpx.AsyncClient], admin: httpx.AsyncClient, netsuite_base: str
) -> Report:
    invoices = await stripe_invoices(stripe_clients)
    currencies = await netsuite_records(admin, netsuite_base, "currency")
    codes = {str(c["id"]): str(c["symbol"]).upper() for c in currencies}
    return compare(
        invoices,
        await netsuite_records(admin, netsuite_base, "invoice"),
        await netsuite_records(admin, netsuite_base, "customerpayment"),
        codes,
    )


@dataclass
class LedgerCheck:
    """Facts missing from revbridge's ledger, counted against the platforms' own records."""

    expected: dict[str, int] = field(default_factory=dict)
    """Per fact kind: the records the platforms hold."""
    missing: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not any(self.missing.values())


async def check_ledger(
    stripe_clients: list[httpx.AsyncClient], admin: httpx.AsyncClient, netsuite_base: str, database_url: str
) -> LedgerCheck:
    """Every finalized Stripe invoice has its ``invoice.billed`` fact, every successful payment its
    ``payment.collected``; every NetSuite invoice keyed by a Stripe invoice its ``invoice.posted``
    (with NetSuite's internal id), every NetSuite payment of one its ``payment.posted``."""
    import psycopg

    invoices = await stripe_invoices(stripe_clients)
    ns_invoices = await netsuite_records(admin, netsuite_base, "invoice")
    ns_payments = await netsuite_records(admin, netsuite_base, "customerpayment")
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT kind, key, record_id FROM revbridge.ledger_fact WHERE kind = ANY(%s)",
            (["invoice.billed", "payment.collected", "invoice.posted", "payment.posted"],),
        ).fetchall()
    keys: dict[str, set[str]] = defaultdict(set)
    records: dict[str, set[str]] = defaultdict(set)
    for kind, key, record_id in rows:
        keys[kind].add(key)
        records[kind].add(record_id)
    expected = {
        "invoice.billed": {inv["id"] for inv in invoices},
        "payment.collected": {pid for inv in invoices for pid in paid_payments(inv)},
        "invoice.posted": {str(r["id"]) for r in ns_invoices if r.get("externalId", "").startswith("in_")},
        "payment.posted": {str(p["id"]) for p in ns_payments},
    }
    check = LedgerCheck()
    for kind, wanted in expected.items():
        have = records[kind] if kind.endswith("posted") else keys[kind]
        gone = sorted(wanted - have)
        check.expected[kind], check.missing[kind], check.examples[kind] = len(wanted), len(gone), gone[:5]
    return check
