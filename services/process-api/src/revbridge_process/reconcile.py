"""Reconciliation's comparison: source records against target records, pair by pair (pure, no I/O).

A target names its source by external id (revbridge's key) or by memo (what a copier without
keys writes: the invoice id or number), so a duplicate made without a key is found as well as one
made with it. Per source record: no target → ``missing_in_target``; more than one →
``duplicated``; otherwise (and for the first of several, the keyed one first) amount, currency and
status are compared. A target no source claims is ``unexpected_in_target``. Records made within
the grace window of now are ``in_grace`` (still in flight, ``InFlight``), never judged, but still
claim their targets.

Records are held compact (``Rec``) because a run holds every invoice and payment at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from revbridge_contracts.models import (
    Contract,
    CreditNote,
    Dispute,
    ErpTransaction,
    Invoice,
    InvoiceStatus,
    Refund,
    Subscription,
)
from revbridge_contracts.process import (
    ReconciliationCategory,
    ReconciliationCounts,
    ReconciliationPair,
    SystemRecord,
)

from revbridge_process.config import Mappings
from revbridge_process.flows import ramps
from revbridge_process.flows.amendments import term_end
from revbridge_process.flows.refunds import REFUNDED

Category = ReconciliationCategory
POSTED_PAYMENT_STATUSES = frozenset({"succeeded", "paid"})
LIVE_SUBSCRIPTION = frozenset({"active", "trialing", "past_due", "unpaid"})
ERP_STATUS_CODES = {
    "invoice": {"a": "open", "b": "paid in full"},
    "creditMemo": {"a": "open", "b": "fully applied"},
}
"""SuiteQL answers one-letter status codes; the record API answers the words."""
ERP_OPEN, ERP_PAID_IN_FULL = "open", "paid in full"
INVOICE_STATUS_IN_ERP: dict[InvoiceStatus, str] = {
    InvoiceStatus.open: ERP_OPEN,
    InvoiceStatus.paid: ERP_PAID_IN_FULL,
    InvoiceStatus.void: ERP_PAID_IN_FULL,
    InvoiceStatus.uncollectible: ERP_PAID_IN_FULL,
}
"""The ERP invoice's status for each billing status, the one place the rule lives:

- ``open``: Open, whatever was paid or credited so far.
- ``paid``: Paid In Full, its payments applied. An invoice paid after being marked uncollectible is
  paid too: its write-off was removed (``flows.writeoff.release``) for the payment to apply, so
  Open there means the payment has not been posted yet.
- ``void`` and ``uncollectible``: Paid In Full. NetSuite cannot void a posted invoice, so the
  write-off credit memo ``<invoice id>:writeoff`` (``flows.writeoff``), applied for what billing
  stopped collecting, closes it. Open there means the write-off is missing or was removed while
  billing still says the invoice will not be collected.
"""
FLOW_SUFFIXES = (":writeoff", ":credit")
"""Credit memos of the write-off and refund flows (``<invoice id>:writeoff``, ``<refund id>:credit``):
revbridge's own, never unexpected."""


def erp_invoice_status(status: str | None) -> frozenset[str] | None:
    """The ERP statuses an invoice in billing ``status`` may have (``INVOICE_STATUS_IN_ERP``)."""
    try:
        return frozenset({INVOICE_STATUS_IN_ERP[InvoiceStatus(status or "")]})
    except (ValueError, KeyError):
        return None  # a status billing added since: not judged


@dataclass(frozen=True)
class InFlight:
    """Which records are still in flight (``in_grace``): those made within ``grace`` of now.

    A record's age is how long before now it was made. One dated after now by more than the grace
    is not young: a test clock dated it (its frozen time runs ahead of the wall clock), and waiting
    for the wall clock to catch up would leave it unjudged for months; within the grace it is
    clock skew between the platforms and revbridge. A grace of 0 judges everything."""

    now: dt.datetime
    grace: dt.timedelta = dt.timedelta(0)

    def holds(self, at: dt.datetime | None) -> bool:
        return at is not None and abs(self.now - at) < self.grace


@dataclass(frozen=True, slots=True)
class Rec:
    """One record as a comparison reads it."""

    system: str
    record_type: str
    id: str
    account: str | None = None
    amount: int | None = None
    currency: str | None = None
    status: str | None = None
    external_id: str | None = None
    memo: str | None = None
    at: dt.datetime | None = None
    aliases: tuple[str, ...] = ()
    """Other names of a source a target may use (an invoice number, the invoice of a payment)."""
    owners: tuple[str, ...] = ()
    """Exception ids (``flow:key``) whose open exception means this difference is already owned."""
    items: tuple[tuple[str, int], ...] | None = None
    """Subscription items (price ref, quantity) expected or found; None when not comparable."""
    ends: dt.date | None = None
    """A contract's last day of term; the day a subscription ended."""

    def record(self) -> SystemRecord:
        return SystemRecord(
            system=self.system,
            record_type=self.record_type,
            id=self.id,
            status=self.status,
            amount=self.amount,
            currency=self.currency,
        )

    def names(self) -> tuple[str, ...]:
        """What a target calls itself: its external id and its memo."""
        return tuple(n for n in (self.external_id, self.memo) if n)


@dataclass
class Finding:
    pair: ReconciliationPair
    key: str
    account: str | None
    problems: list[tuple[Category, str]]
    source: Rec | None
    targets: list[Rec]


@dataclass
class PairResult:
    pair: ReconciliationPair
    counts: ReconciliationCounts = field(default_factory=ReconciliationCounts)
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class PairSpec:
    """How one pair compares: which statuses a target may have, whether one must exist at all."""

    pair: ReconciliationPair
    expected_status: Callable[[Rec], frozenset[str] | None] = lambda _: None
    required: Callable[[Rec], bool] = lambda _: True
    forbidden: Callable[[Rec], str | None] = lambda _: None
    """A reason the source must have no target (a voided credit note), else None."""
    own: Callable[[Rec], bool] = lambda _: False
    """Targets no source names that are still not unexpected (another flow's, or not live)."""
    prefer: Callable[[Rec], bool] = lambda _: True
    completed: Callable[[Rec, Rec], bool] = lambda _s, _t: False
    """A target whose status is not the expected one because its source's term is over."""
    """Of several targets naming a source, only these count when there are any (live subscriptions)."""


def compare(
    spec: PairSpec, sources: Iterable[Rec], targets: Iterable[Rec], in_flight: InFlight
) -> PairResult:
    result = PairResult(spec.pair)
    counts = result.counts
    index: dict[str, list[Rec]] = {}
    all_targets = list(targets)
    counts.target_records = len(all_targets)
    for target in all_targets:
        for name in dict.fromkeys(target.names()):
            index.setdefault(name, []).append(target)
    claimed: set[str] = set()
    for source in sources:
        counts.source_records += 1
        found = _candidates(source, index)
        claimed.update(t.id for t in found)
        found = [t for t in found if spec.prefer(t)] or found
        if in_flight.holds(source.at):
            counts.in_grace += 1
            continue
        problems = _problems(spec, source, found)
        if not problems:
            counts.matched += 1
            continue
        for category, _ in problems:
            setattr(counts, category.value, getattr(counts, category.value) + 1)
        result.findings.append(Finding(spec.pair, source.id, source.account, problems, source, found))
    for target in all_targets:
        if target.id in claimed or spec.own(target):
            continue
        counts.unexpected_in_target += 1
        key = target.external_id or target.memo or f"{target.system}:{target.record_type}:{target.id}"
        detail = f"{target.system} {target.record_type} {target.id} ({key}) matches no source record"
        problem = [(Category.unexpected_in_target, detail)]
        result.findings.append(Finding(spec.pair, key, target.account, problem, None, [target]))
    return result


def _candidates(source: Rec, index: dict[str, list[Rec]]) -> list[Rec]:
    """Targets naming the source, by its id first (the keyed record leads), then by its aliases."""
    found: dict[str, Rec] = {}
    for name in (source.id, *source.aliases):
        for target in index.get(name, []):
            found.setdefault(target.id, target)
    keyed = [t for t in found.values() if t.external_id == source.id]
    return keyed + [t for t in found.values() if t.external_id != source.id]


def _problems(spec: PairSpec, source: Rec, found: list[Rec]) -> list[tuple[Category, str]]:
    what = f"{source.system} {source.record_type} {source.id}"
    reason = spec.forbidden(source)
    if reason is not None:
        if not found:
            return []
        ids = ", ".join(t.id for t in found)
        return [(Category.status_mismatch, f"{what} is {reason}, yet the target still holds {ids}")]
    if not found:
        return (
            []
            if not spec.required(source)
            else [(Category.missing_in_target, f"{what} has no target record")]
        )
    problems: list[tuple[Category, str]] = []
    if len(found) > 1:
        ids = ", ".join(f"{t.id} ({'/'.join(t.names()) or 'no key'})" for t in found)
        problems.append((Category.duplicated, f"{what} has {len(found)} target records: {ids}"))
    target = found[0]
    if source.amount is not None and target.amount != source.amount:
        problems.append((Category.amount_mismatch, f"{what}: amount {source.amount}, target {target.amount}"))
    if source.items is not None and target.items is not None and source.items != target.items:
        detail = f"{what}: items {_items(source.items)}, target {_items(target.items)}"
        problems.append((Category.amount_mismatch, detail))
    if source.currency and target.currency and source.currency != target.currency:
        detail = f"{what}: currency {source.currency}, target {target.currency}"
        problems.append((Category.currency_mismatch, detail))
    allowed = spec.expected_status(source)
    if (
        allowed is not None
        and (target.status or "").lower() not in allowed
        and not spec.completed(source, target)
    ):
        wanted = " or ".join(sorted(allowed))
        detail = f"{what} is {source.status}: target status {target.status!r}, expected {wanted}"
        problems.append((Category.status_mismatch, detail))
    return problems


def _items(items: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{ref} x{qty}" for ref, qty in items) or "none"


# --- records from canonical models ----------------------------------------------------------


def invoice_rec(invoice: Invoice, account: str) -> Rec:
    return Rec(
        system="billing",
        record_type="invoice",
        id=invoice.id,
        account=account,
        amount=invoice.total,
        currency=invoice.currency,
        status=invoice.status.value,
        at=invoice.issued_at,
        aliases=(invoice.number,) if invoice.number else (),
        owners=(f"invoice_posting:{invoice.id}", f"invoice_voiding:{invoice.id}"),
    )


def payment_recs(invoice: Invoice, account: str) -> list[Rec]:
    """Successful payments; the first also answers to its invoice's id and number (a copier's memo)."""
    paid = sorted((p for p in invoice.payments if p.status in POSTED_PAYMENT_STATUSES), key=lambda p: p.id)
    invoice_names = tuple(n for n in (invoice.id, invoice.number) if n)
    return [
        Rec(
            system="billing",
            record_type="payment",
            id=payment.id,
            account=account,
            amount=payment.amount,
            currency=payment.currency,
            status=payment.status,
            at=payment.paid_at or invoice.issued_at,
            aliases=invoice_names if i == 0 else (),
            owners=(f"invoice_posting:{invoice.id}",),
        )
        for i, payment in enumerate(paid)
    ]


def credit_note_rec(note: CreditNote, account: str) -> Rec:
    return Rec(
        system="billing",
        record_type="credit_note",
        id=note.id,
        account=account,
        amount=note.total,
        currency=note.currency,
        status=note.status,
        at=note.issued_at,
        aliases=(note.number,) if note.number else (),
        owners=(f"credit_posting:{note.id}",),
    )


def refund_rec(refund: Refund, account: str) -> Rec:
    return Rec(
        system="billing",
        record_type="refund",
        id=refund.id,
        account=account,
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status,
        at=refund.created_at,
        owners=(f"refund_posting:{refund.charge_id}",),  # the refund flow converges a charge's refunds
    )


def dispute_rec(dispute: Dispute, account: str) -> Rec:
    """A dispute on the refund pair's source side: a lost one is posted as a customer refund of its
    own (external id = the dispute id); any other must have none."""
    return Rec(
        system="billing",
        record_type="dispute",
        id=dispute.id,
        account=account,
        amount=dispute.amount,
        currency=dispute.currency,
        status=dispute.status,
        at=dispute.created_at,
        owners=(f"dispute_posting:{dispute.id}",),
    )


def _refund_forbidden(source: Rec) -> str | None:
    """The refund flow posts the refunds billing made or is making, the dispute flow the disputes
    lost; any other must have no ERP refund."""
    if source.record_type == "dispute":
        return None if source.status == "lost" else f"dispute {source.status} in billing"
    return None if source.status in REFUNDED else f"{source.status} in billing"


def erp_rec(tx: ErpTransaction) -> Rec:
    codes = ERP_STATUS_CODES.get(tx.record_type, {})
    status = codes.get((tx.status or "").lower(), tx.status)
    return Rec(
        system="erp",
        record_type=tx.record_type,
        id=tx.internal_id,
        amount=tx.total,
        currency=tx.currency,
        status=status,
        external_id=tx.external_id,
        memo=tx.memo,
    )


def contract_rec(contract: Contract, mappings: Mappings) -> Rec:
    """An activated contract, with the subscription items its lines map to (None if any is unmapped,
    or when the contract is phased: its schedule's items change from phase to phase)."""
    items: dict[str, int] | None = (
        None if ramps.is_phased(contract) else {}
    )  # phases: items change over the term
    for line in contract.lines:
        product = mappings.products.get(line.product_code or "")
        if product is None or items is None:
            items = None
            continue
        ref = product.price_ref(contract.currency)
        items[ref] = items.get(ref, 0) + line.quantity
    return Rec(
        system="crm",
        record_type="contract",
        id=contract.id,
        currency=contract.currency,
        status=contract.status.value,
        at=contract.activated_at or contract.modified_at,
        owners=(f"onboarding:{contract.id}",),
        items=tuple(sorted(items.items())) if items is not None else None,
        ends=term_end(contract),
    )


def subscription_rec(sub: Subscription, account: str) -> Rec:
    items: dict[str, int] = {}
    for item in sub.items:
        items[item.billing_price_ref] = items.get(item.billing_price_ref, 0) + item.quantity
    return Rec(
        system="billing",
        record_type="subscription",
        id=sub.id,
        account=account,
        currency=sub.currency,
        status=sub.status,
        external_id=sub.crm_contract_id,
        items=tuple(sorted(items.items())) if sub.items else None,
        ends=sub.ended_at.date() if sub.ended_at else None,
    )


def _term_completed(contract: Rec, sub: Rec) -> bool:
    """A subscription that ended once the contract's term was over (a schedule ends with its term)."""
    if (sub.status or "") != "canceled" or contract.ends is None or sub.ends is None:
        return False
    return sub.ends >= contract.ends


# --- the pairs ------------------------------------------------------------------------------

SPECS: dict[ReconciliationPair, PairSpec] = {
    ReconciliationPair.contract_subscription: PairSpec(
        ReconciliationPair.contract_subscription,
        expected_status=lambda _: LIVE_SUBSCRIPTION,
        own=lambda target: (target.status or "") not in LIVE_SUBSCRIPTION,
        prefer=lambda target: (target.status or "") in LIVE_SUBSCRIPTION,  # a cancelled one is history
        completed=_term_completed,
    ),
    ReconciliationPair.invoice: PairSpec(
        ReconciliationPair.invoice,
        expected_status=lambda s: erp_invoice_status(s.status),
        required=lambda s: s.status != InvoiceStatus.void,  # a void invoice never posted needs nothing
    ),
    ReconciliationPair.payment: PairSpec(ReconciliationPair.payment),
    ReconciliationPair.credit_note: PairSpec(
        ReconciliationPair.credit_note,
        forbidden=lambda s: "void in billing" if s.status == "void" else None,
        own=lambda target: (target.external_id or "").endswith(FLOW_SUFFIXES),
    ),
    ReconciliationPair.refund: PairSpec(ReconciliationPair.refund, forbidden=_refund_forbidden),
}
