"""A customer's balance: what they are owed (negative) or owe (positive), moved only by customer
balance transactions, and applied to the next invoice when it is finalized.

``record`` makes the transaction and moves ``customer.balance``; ``apply_to_invoice`` is what
Stripe does at finalization: ``starting_balance`` is the balance, a credit reduces ``amount_due``
(up to all of it), a debit adds to it, the move is an ``applied_to_invoice`` transaction and
``ending_balance`` is what is left. A customer without a currency takes the invoice's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .state import Obj, new_id, now

if TYPE_CHECKING:
    from .deps import Ctx


def record(
    ctx: Ctx,
    customer: Obj,
    amount: int,
    currency: str,
    kind: str,
    *,
    description: str | None = None,
    invoice: str | None = None,
    credit_note: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Obj:
    customer["balance"] = int(customer["balance"]) + amount
    customer["currency"] = customer["currency"] or currency
    txn = {
        "id": new_id("cbtxn"),
        "object": "customer_balance_transaction",
        "amount": amount,
        "checkout_session": None,
        "created": now(),
        "credit_note": credit_note,
        "currency": currency,
        "customer": customer["id"],
        "customer_account": None,
        "description": description,
        "ending_balance": customer["balance"],
        "invoice": invoice,
        "livemode": False,
        "metadata": metadata or {},
        "type": kind,
    }
    return ctx.account.put(txn)


def apply_to_invoice(ctx: Ctx, customer: Obj, inv: Obj) -> None:
    balance = int(customer["balance"])
    inv["starting_balance"] = balance
    if balance == 0 or (customer["currency"] or inv["currency"]) != inv["currency"]:
        inv["ending_balance"] = balance
        return
    due = int(inv["amount_due"])
    moved = min(-balance, due) if balance < 0 else balance  # a credit covers at most what is due
    if balance < 0:
        inv.update(amount_due=due - moved, amount_remaining=int(inv["amount_remaining"]) - moved)
        record(ctx, customer, moved, inv["currency"], "applied_to_invoice", invoice=inv["id"])
    else:
        inv.update(amount_due=due + moved, amount_remaining=int(inv["amount_remaining"]) + moved)
        record(ctx, customer, -moved, inv["currency"], "applied_to_invoice", invoice=inv["id"])
    inv["ending_balance"] = int(customer["balance"])
