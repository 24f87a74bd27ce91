"""The invoice state machine and payments (wire reference §1.9), shared by subscriptions and invoices.

draft --finalize--> open --pay--> paid; open --mark_uncollectible--> uncollectible;
open|uncollectible --void--> void; uncollectible --pay--> paid. Payment outcomes follow Stripe's
test payment methods (``pm_card_visa`` succeeds, ``pm_card_chargeDeclined`` declines).
"""

from __future__ import annotations

from decimal import Decimal

from . import (
    cards,
    customer_balance,
    discount_ops,
    dispute_ops,
    intents,
    invoice_items,
    invoice_shapes,
    shapes,
    tax_ops,
    tiers,
)
from .deps import Ctx
from .errors import StripeError, bad_state, missing_reference
from .state import Obj, new_id, now, snapshot

RETRY_AFTER_FAILURE_SECONDS = 3 * 86400


def check_payment_method(ctx: Ctx, pm: str | None, param: str) -> None:
    """A payment method a request names must be a test card or a ``pm_...`` made from one."""
    if pm is not None and cards.test_card(ctx.account, pm) is None:
        raise missing_reference("PaymentMethod", pm, param)


def check_default_payment_method(ctx: Ctx, customer_id: str, pm: str, param: str) -> None:
    """A default payment method must be attached to the customer first (Stripe's rule; a magic
    test id is not attached to anyone). The code Stripe gives this refusal is a guess."""
    check_payment_method(ctx, pm, param)
    stored = ctx.account.get("payment_method", pm)
    if stored is None or stored["customer"] != customer_id:
        raise StripeError(
            400,
            f"The customer does not have a payment method with the ID {pm}. The payment method must "
            "be attached to the customer.",
            code="resource_missing",
            param=param,
        )


def needs_authentication(ctx: Ctx, pm: str | None) -> bool:
    """A 3-D Secure card the customer must authenticate for this payment."""
    card = cards.test_card(ctx.account, pm)
    if card is None or card.authentication is None:
        return False
    return card.authentication == "always" or not any(
        si["payment_method"] == pm and si["status"] == "succeeded"
        for si in ctx.account.newest_first("setup_intent")
    )


def _decline(ctx: Ctx, pm: str | None) -> tuple[str, str, str] | None:
    """How a payment off session (no customer present) with ``pm`` is declined, if it is."""
    card = cards.test_card(ctx.account, pm)
    if card is None:
        return None
    if card.decline is None and needs_authentication(ctx, pm):
        return cards.AUTHENTICATION_REQUIRED
    return card.decline


def declines(ctx: Ctx, pm: str | None) -> bool:
    return _decline(ctx, pm) is not None


def card_error(ctx: Ctx, pm: str, intent: Obj | None) -> StripeError:
    """The 402 of a declined card, carrying the whole payment method (and the payment or setup
    intent, under its own name) as Stripe does."""
    decline = _decline(ctx, pm)
    card = cards.test_card(ctx.account, pm)
    assert decline is not None and card is not None
    code, decline_code, message = decline
    stored = ctx.account.get("payment_method", pm)
    extra: dict[str, object] = {
        "decline_code": decline_code,
        "payment_method": snapshot(stored) if stored else cards.payment_method(card, pm),
    }
    if intent is not None:
        extra[intent["object"]] = snapshot(intent)
    return StripeError(402, message, type="card_error", code=code, extra=extra)


def set_lines(inv: Obj, lines: list[Obj]) -> None:
    inv["lines"]["data"] = lines
    total = sum(int(line["amount"]) for line in lines)
    inv.update(subtotal=total, subtotal_excluding_tax=total, total=total, total_excluding_tax=total)
    inv.update(amount_due=total, amount_remaining=total - int(inv["amount_paid"]))


Usage = dict[str, tuple[int, int, int]]  # subscription item id -> (quantity, period start, period end)


def is_metered(price: Obj) -> bool:
    return bool(price.get("recurring")) and price["recurring"].get("usage_type") == "metered"


def meter_events(ctx: Ctx, meter: Obj, customer_id: str, start: int, end: int) -> list[Obj]:
    """The meter's events for ``customer_id`` with ``start <= timestamp < end``, oldest first."""
    customer_key = meter["customer_mapping"]["event_payload_key"]
    return sorted(
        (
            event
            for event in ctx.account.newest_first("billing.meter_event")
            if event["event_name"] == meter["event_name"]
            and event["payload"].get(customer_key) == customer_id
            and start <= int(event["timestamp"]) < end
        ),
        key=lambda event: (int(event["timestamp"]), int(event["created"])),
    )


def aggregate(meter: Obj, events: list[Obj]) -> Decimal:
    """The meter's ``default_aggregation``: the sum of the values, the number of events, or the last value."""
    formula = meter["default_aggregation"]["formula"]
    if formula == "count":
        return Decimal(len(events))
    value_key = meter["value_settings"]["event_payload_key"]
    values = [Decimal(str(event["payload"].get(value_key) or 0)) for event in events]
    if formula == "last":
        return values[-1] if values else Decimal(0)
    return sum(values, Decimal(0))


def metered_usage(ctx: Ctx, sub: Obj) -> Usage:
    """Each metered item's usage in its current period (whole units), billed when the period ends."""
    usage: Usage = {}
    for item in sub["items"]["data"]:
        if not is_metered(item["price"]):
            continue
        start, end = int(item["current_period_start"]), int(item["current_period_end"])
        meter = ctx.account.get("billing.meter", item["price"]["recurring"].get("meter") or "")
        total = (
            aggregate(meter, meter_events(ctx, meter, sub["customer"], start, end)) if meter else Decimal(0)
        )
        usage[item["id"]] = (int(total), start, end)
    return usage


def _subscription_invoice(ctx: Ctx, sub: Obj, billing_reason: str, invoice_id: str) -> Obj:
    customer = ctx.account.require("customer", sub["customer"], "customer", "customer")
    inv = shapes.invoice(invoice_id, customer, sub["currency"], sub["collection_method"])
    inv["billing_reason"] = billing_reason
    inv["parent"] = {
        "type": "subscription_details",
        "quote_details": None,
        "subscription_details": {"subscription": sub["id"], "metadata": dict(sub["metadata"])},
    }
    if sub["collection_method"] == "send_invoice" and sub.get("days_until_due") is not None:
        inv["due_date"] = inv["created"] + 86400 * int(sub["days_until_due"])
    return inv


def _item_lines(ctx: Ctx, inv: Obj, sub: Obj, usage: Usage | None, metered_only: bool = False) -> list[Obj]:
    """Lines per item: licensed items for their current period, metered ones for ``usage``.

    A graduated tiered price bills one line per tier its quantity reaches (the tier's units at the
    tier's unit price, plus its flat fee); a volume one, one line at the reached tier's price.
    guess: the per-tier lines and their descriptions follow Stripe's hosted invoices ("Tier 1 at
    $0.00 / month"); the API reference does not show a tiered line."""
    lines = []
    for item in sub["items"]["data"]:
        product = ctx.account.get("product", item["price"]["product"])
        name = product["name"] if product else item["price"]["product"]
        line = shapes.subscription_line(inv["id"], sub, item, name)
        quantity = int(item["quantity"] or 0)
        if is_metered(item["price"]):
            quantity, start, end = (usage or {}).get(item["id"], (0, inv["created"], inv["created"]))
            amount = tiers.amount(ctx.account, item["price"], quantity)
            line.update(quantity=quantity, quantity_decimal=str(quantity), amount=amount)
            line.update(subtotal=amount, period={"start": start, "end": end})
        elif metered_only:
            continue
        price_tiers = tiers.of(ctx.account, item["price"])
        if price_tiers is None:
            lines.append(line)
            continue
        charges = tiers.charges(str(item["price"]["tiers_mode"]), price_tiers, quantity)
        interval = (item["price"].get("recurring") or {}).get("interval", "month")
        for n, charge in enumerate(charges):
            tier_line = line if n == 0 else {**line, "id": new_id("il"), "parent": snapshot(line["parent"])}
            unit_text = invoice_shapes.money_text(charge.unit, item["price"]["currency"])
            flat = charge.flat
            label = f"Tier {charge.tier} at {unit_text} / {interval}"
            if flat:
                label += f" + {invoice_shapes.money_text(flat, item['price']['currency'])}"
            tier_line.update(
                amount=charge.amount,
                subtotal=charge.amount,
                quantity=charge.quantity,
                quantity_decimal=str(charge.quantity),
                description=f"{name} ({label})",
                period=dict(line["period"]),
            )
            tier_line["pricing"] = {**line["pricing"], "unit_amount_decimal": tiers.text(charge.unit)}
            lines.append(tier_line)
    return lines


def create_subscription_invoice(
    ctx: Ctx, sub: Obj, billing_reason: str, usage: Usage | None = None, metered_only: bool = False
) -> Obj:
    """A draft invoice billing every item of ``sub`` for its current period (emits invoice.created).

    Licensed items bill in advance; metered items bill ``usage`` (the period that just ended).
    Pending invoice items of the subscription (prorations) are pulled in. ``metered_only``: the
    final invoice of a subscription ending at its period's end (usage only).
    """
    inv = _subscription_invoice(ctx, sub, billing_reason, new_id("in"))
    lines = [ctx.account.put(line) for line in _item_lines(ctx, inv, sub, usage, metered_only)]
    lines.extend(invoice_items.claim(ctx, inv, sub["customer"], sub["id"]))
    set_lines(inv, lines)
    adjust(ctx, inv, sub)
    ctx.account.put(inv)
    ctx.emit("invoice.created", inv)
    return inv


def final_usage_invoice(ctx: Ctx, sub: Obj) -> Obj | None:
    """The invoice that bills a subscription's metered usage when it ends at its period's end
    ("any metered usage is charged for in a final invoice"); None without metered items.
    guess: its billing_reason is ``subscription_cycle``, like the renewal it takes the place of."""
    if not any(is_metered(item["price"]) for item in sub["items"]["data"]):
        return None
    inv = create_subscription_invoice(
        ctx, sub, "subscription_cycle", usage=metered_usage(ctx, sub), metered_only=True
    )
    sub["latest_invoice"] = inv["id"]
    collect(ctx, sub, inv)
    return inv


def adjust(ctx: Ctx, inv: Obj, sub: Obj, preview: bool = False) -> None:
    """The subscription's discounts, then its tax rates, on its invoice; a ``once`` discount is
    spent by it (unless it is a preview)."""
    used = discount_ops.apply(ctx, inv, list(sub.get("discounts") or []))
    tax_ops.apply(inv, list(sub.get("default_tax_rates") or []))
    if not preview:
        discount_ops.spend_once(ctx, sub, used)


def preview_subscription_invoice(
    ctx: Ctx, renewed: Obj, usage: Usage, period: tuple[int, int], proposed: list[Obj] | None = None
) -> Obj:
    """The invoice ``renewed`` (a copy of a subscription moved into its next period) would get.

    Nothing is stored or emitted: the id is ``upcoming_in_...`` as Stripe's previews are, metered
    items show the usage so far in the period that ends, pending invoice items are shown unclaimed,
    followed by the prorations a ``proposed`` change would create.
    """
    inv = _subscription_invoice(ctx, renewed, "upcoming", new_id("upcoming_in"))
    inv.update(created=period[1], period_start=period[0], period_end=period[1])
    pending = invoice_items.pending(ctx, renewed["customer"], renewed["id"]) + (proposed or [])
    set_lines(
        inv,
        _item_lines(ctx, inv, renewed, usage) + [shapes.invoice_item_line(inv["id"], ii) for ii in pending],
    )
    adjust(ctx, inv, renewed, preview=True)
    return inv


def preview_update_invoice(ctx: Ctx, sub: Obj, prorations: list[Obj], ts: int) -> Obj:
    """The invoice ``proration_behavior=always_invoice`` would bill at once for a proposed change."""
    inv = _subscription_invoice(ctx, sub, "subscription_update", new_id("upcoming_in"))
    inv.update(created=ts, period_start=ts, period_end=ts)
    set_lines(inv, [shapes.invoice_item_line(inv["id"], ii) for ii in prorations])
    adjust(ctx, inv, sub, preview=True)
    return inv


def preview_new_subscription_invoice(ctx: Ctx, sub: Obj) -> Obj:
    """The first invoice a subscription not yet created would get."""
    inv = _subscription_invoice(ctx, sub, "subscription_create", new_id("upcoming_in"))
    start = int(sub["start_date"])
    inv.update(created=start, period_start=start, period_end=start)
    set_lines(inv, _item_lines(ctx, inv, sub, None))
    return inv


def preview_customer_invoice(ctx: Ctx, customer: Obj, currency: str) -> Obj | None:
    """The invoice the customer's pending invoice items would make, None when there are none."""
    pending = [ii for ii in invoice_items.pending(ctx, customer["id"]) if ii["currency"] == currency]
    if not pending:
        return None
    inv = shapes.invoice(new_id("upcoming_in"), customer, currency, "charge_automatically")
    inv["billing_reason"] = "upcoming"
    set_lines(inv, [shapes.invoice_item_line(inv["id"], ii) for ii in pending])
    return inv


def collect(ctx: Ctx, sub: Obj, inv: Obj) -> None:
    """Finalize a subscription's invoice and, when charged automatically, pay it or mark past_due."""
    finalize(ctx, inv)
    if inv["status"] != "open" or sub["collection_method"] != "charge_automatically":
        return
    pm = _subscription_payment_method(ctx, inv)
    before = snapshot(sub)
    if pm is not None and needs_authentication(ctx, pm):
        require_action(ctx, inv, pm)  # the customer must come back to authenticate the renewal
        failed = True
    else:
        failed = pm is None or attempt_payment(ctx, inv, pm) is not None
    if failed:
        sub["status"] = "past_due"
        ctx.emit_update("customer.subscription.updated", before, sub)


def finalize(ctx: Ctx, inv: Obj) -> None:
    if inv["status"] != "draft":
        raise bad_state("This invoice is already finalized, you can't re-finalize a non-draft invoice.")
    customer = ctx.account.require("customer", inv["customer"], "customer", "customer")
    seq = int(customer["next_invoice_sequence"])
    customer["next_invoice_sequence"] = seq + 1
    ts = now()
    customer_balance.apply_to_invoice(ctx, customer, inv)
    inv.update(number=f"{customer['invoice_prefix']}-{seq:04d}", status="open", effective_at=ts)
    inv["status_transitions"]["finalized_at"] = ts
    if inv["collection_method"] == "send_invoice" and inv["due_date"] is None:
        inv["due_date"] = ts + 30 * 86400
    if inv["collection_method"] == "charge_automatically" and inv["amount_remaining"] > 0:
        inv["next_payment_attempt"] = ts
    ctx.emit("invoice.finalized", inv)
    if inv["amount_remaining"] == 0:
        mark_paid(ctx, inv)
    elif inv["collection_method"] == "charge_automatically":
        _open_payment(ctx, inv)  # Stripe creates the invoice's PaymentIntent during finalization


def _open_payment(ctx: Ctx, inv: Obj) -> tuple[Obj, Obj]:
    """The invoice's open invoice_payment and its payment_intent, created on first attempt."""
    for payment in inv["payments"]["data"]:
        if payment["status"] == "open":
            return payment, ctx.account.require("payment_intent", payment["payment"]["payment_intent"])
    description = f"Subscription {inv['billing_reason'].replace('_', ' ')}"
    pi = ctx.account.put(
        shapes.payment_intent(inv["amount_remaining"], inv["currency"], inv["customer"], description)
    )
    ctx.emit("payment_intent.created", pi)
    payment = ctx.account.put(shapes.invoice_payment(inv, pi["id"]))
    inv["payments"]["data"].insert(0, payment)
    ctx.account.invoice_payment_of[pi["id"]] = payment["id"]
    return payment, pi


def require_action(ctx: Ctx, inv: Obj, pm: str) -> None:
    """An invoice paid with a 3-D Secure card that must authenticate: its intent waits at
    requires_action for the customer (``invoice.payment_action_required``), as Stripe Billing
    does for first invoices, renewals and ``/pay`` alike."""
    _, pi = _open_payment(ctx, inv)
    _count_attempt(inv)
    pi["payment_method"] = pm
    intents.require_action(ctx, pi)
    ctx.emit("invoice.payment_action_required", inv)


def _invoice_of_intent(ctx: Ctx, pi: Obj) -> tuple[Obj, Obj] | None:
    """The invoice payment and invoice a payment intent was created for, if it was."""
    payment_id = ctx.account.invoice_payment_of.get(pi["id"])
    payment = ctx.account.get("invoice_payment", payment_id) if payment_id else None
    if payment is None or payment["status"] != "open":
        return None
    return payment, ctx.account.require("invoice", payment["invoice"], "invoice")


def intent_confirmed(ctx: Ctx, pi: Obj) -> None:
    """Each confirm of an invoice's payment intent is one payment attempt of the invoice."""
    found = _invoice_of_intent(ctx, pi)
    if found is not None:
        _count_attempt(found[1])


def intent_failed(ctx: Ctx, pi: Obj) -> None:
    """A confirm of an invoice's payment intent declined: the invoice records the failure."""
    found = _invoice_of_intent(ctx, pi)
    if found is not None:
        _payment_failed(ctx, found[1])


def intent_succeeded(ctx: Ctx, pi: Obj) -> None:
    """A confirm of an invoice's payment intent (the customer paying on session) pays the invoice."""
    found = _invoice_of_intent(ctx, pi)
    if found is not None:
        payment, inv = found
        _payment_succeeded(ctx, inv, payment, str(pi["payment_method"]), int(pi["amount_received"]))


def _count_attempt(inv: Obj) -> None:
    inv["attempt_count"] = int(inv["attempt_count"]) + 1
    inv["attempted"] = True


def _payment_failed(ctx: Ctx, inv: Obj) -> None:
    automatic = inv["collection_method"] == "charge_automatically"
    inv["next_payment_attempt"] = now() + RETRY_AFTER_FAILURE_SECONDS if automatic else None
    ctx.emit("invoice.payment_failed", inv)


def _payment_succeeded(ctx: Ctx, inv: Obj, payment: Obj, pm: str, amount: int) -> None:
    payment.update(status="paid", amount_paid=amount)
    payment["status_transitions"]["paid_at"] = now()
    mark_paid(ctx, inv, amount, pm)
    ctx.emit("invoice_payment.paid", payment)
    ctx.emit("invoice.payment_succeeded", inv)


def attempt_payment(ctx: Ctx, inv: Obj, pm: str) -> StripeError | None:
    """Charge ``pm`` for the invoice; on a decline record the failure and return the card error."""
    payment, pi = _open_payment(ctx, inv)
    _count_attempt(inv)
    card = cards.test_card(ctx.account, pm)
    if declines(ctx, pm):
        error = card_error(ctx, pm, None)
        charge = ctx.account.put(shapes.charge(pi, pm, error.body()["error"], card))
        pi.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error=error.body()["error"],
            latest_charge=charge["id"],
            next_action=None,
        )
        ctx.emit("charge.failed", charge)
        ctx.emit("payment_intent.payment_failed", pi)
        _payment_failed(ctx, inv)
        return card_error(ctx, pm, pi)
    amount = int(inv["amount_remaining"])
    pi["amount"] = amount
    charge = ctx.account.put(shapes.charge(pi, pm, None, card))
    pi.update(
        status="succeeded",
        payment_method=pm,
        amount_received=amount,
        latest_charge=charge["id"],
        last_payment_error=None,
        next_action=None,
    )
    ctx.emit("charge.succeeded", charge)
    dispute_ops.open_if_disputed(ctx, charge, card)
    ctx.emit("payment_intent.succeeded", pi)
    _payment_succeeded(ctx, inv, payment, pm, amount)
    return None


def mark_paid(ctx: Ctx, inv: Obj, amount: int | None = None, pm: str | None = None) -> None:
    """The invoice paid (by ``pm``, or out of band when neither is given)."""
    paid = int(inv["amount_remaining"]) if amount is None else amount
    inv.update(
        status="paid",
        amount_paid=int(inv["amount_paid"]) + paid,
        amount_remaining=0,
        next_payment_attempt=None,
    )
    inv["status_transitions"]["paid_at"] = now()
    ctx.emit("invoice.paid", inv)
    _update_subscription(ctx, inv, pm)


def _update_subscription(ctx: Ctx, inv: Obj, pm: str | None) -> None:
    """A paid invoice activates its subscription and, with ``payment_settings[save_default_payment_method]
    =on_subscription``, makes the card that paid it the subscription's default."""
    parent = inv.get("parent") or {}
    details = parent.get("subscription_details") or {}
    sub = ctx.account.get("subscription", details.get("subscription") or "")
    if not sub:
        return
    before = snapshot(sub)
    if sub["status"] in ("incomplete", "past_due", "unpaid"):
        sub["status"] = "active"
    if pm and sub["payment_settings"]["save_default_payment_method"] == "on_subscription":
        sub["default_payment_method"] = pm
        card = ctx.account.get("payment_method", pm)
        if card is not None and card["customer"] is None:  # saved for later: attached to the customer
            card["customer"] = sub["customer"]
            ctx.emit("payment_method.attached", card)
    if sub != before:
        ctx.emit_update("customer.subscription.updated", before, sub)


def pay(ctx: Ctx, inv: Obj, pm: str | None, out_of_band: bool) -> None:
    """``POST /v1/invoices/{id}/pay``: drafts are finalized first; a decline raises a 402."""
    if inv["status"] == "paid":
        raise bad_state("Invoice is already paid")
    if inv["status"] == "void":
        raise bad_state("This invoice has been voided and can no longer be paid.")
    if inv["status"] == "draft":
        finalize(ctx, inv)
        if inv["status"] == "paid":
            return
    if out_of_band:
        _cancel_open_payments(ctx, inv)
        mark_paid(ctx, inv)
        return
    pm = pm or inv.get("default_payment_method") or _subscription_payment_method(ctx, inv)
    if pm is None:
        raise bad_state(
            "This customer has no attached payment source or default payment method. "
            "Please consider adding a default payment method."
        )
    check_payment_method(ctx, pm, "payment_method")
    pm = cards.materialize(ctx.account, pm)
    if needs_authentication(ctx, pm):
        require_action(ctx, inv, pm)
        # guess: the status and type; the code and message are Stripe's documented ones
        raise StripeError(
            402,
            "This payment requires additional user action before it can be completed successfully. "
            "Payment can be completed using the PaymentIntent associated with the invoice.",
            type="card_error",
            code="invoice_payment_intent_requires_action",
        )
    error = attempt_payment(ctx, inv, pm)
    if error is not None:
        raise error


def _subscription_payment_method(ctx: Ctx, inv: Obj) -> str | None:
    details = (inv.get("parent") or {}).get("subscription_details") or {}
    sub = ctx.account.get("subscription", details.get("subscription") or "")
    if sub and sub.get("default_payment_method"):
        return str(sub["default_payment_method"])
    customer = ctx.account.get("customer", inv["customer"]) or {}
    return (customer.get("invoice_settings") or {}).get("default_payment_method")


def void(ctx: Ctx, inv: Obj) -> None:
    if inv["status"] not in ("open", "uncollectible"):
        raise bad_state(
            f"You can only void invoices that are open or uncollectible; this invoice is {inv['status']}."
        )
    inv.update(status="void", next_payment_attempt=None)
    inv["status_transitions"]["voided_at"] = now()
    _cancel_open_payments(ctx, inv, "void_invoice")
    ctx.emit("invoice.voided", inv)


def _cancel_open_payments(ctx: Ctx, inv: Obj, reason: str | None = None) -> None:
    """An invoice voided or paid out of band cancels its open payment and that payment's intent
    (guess: no cancellation_reason for out of band; Stripe's enum has ``void_invoice`` for voids)."""
    for payment in inv["payments"]["data"]:
        if payment["status"] != "open":
            continue
        payment["status"] = "canceled"
        payment["status_transitions"]["canceled_at"] = now()
        pi = ctx.account.get("payment_intent", payment["payment"]["payment_intent"])
        if pi is not None and pi["status"] not in ("succeeded", "canceled"):
            pi.update(status="canceled", canceled_at=now(), cancellation_reason=reason, next_action=None)
            ctx.emit("payment_intent.canceled", pi)


def mark_uncollectible(ctx: Ctx, inv: Obj) -> None:
    if inv["status"] != "open":
        raise bad_state(f"You can only mark open invoices as uncollectible; this invoice is {inv['status']}.")
    inv.update(status="uncollectible", next_payment_attempt=None)
    inv["status_transitions"]["marked_uncollectible_at"] = now()
    ctx.emit("invoice.marked_uncollectible", inv)
