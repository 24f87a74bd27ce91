"""Balance transactions: every movement of money in the account, as Stripe's balance reports it.

They are derived from the objects that move money rather than stored twice: each captured
charge (``type=charge``), each refund (``refund``), each dispute's withdrawals and
reinstatements (``adjustment``, kept on the dispute as Stripe embeds them) and each payout
(``payout``). A charge's funds are ``pending`` until ``available_on`` and ``available`` after.

Guesses, marked: the processing fee is Stripe's US card list price (2.9% + 30 cents, rounded
half up) for every charge; charge funds become available two days after the charge (Stripe's
US standard schedule); the dispute fee is 1500 in the charge's currency.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from .state import Obj, now

if TYPE_CHECKING:
    from .deps import Ctx

FEE_RATE, FEE_FIXED = Decimal("0.029"), 30  # guess: Stripe's US card list price
AVAILABLE_AFTER = 2 * 86400  # guess: the US two-day rolling schedule
DISPUTE_FEE = 1500


def processing_fee(amount: int) -> int:
    return int((Decimal(amount) * FEE_RATE).quantize(Decimal(1), rounding=ROUND_HALF_UP)) + FEE_FIXED


def transaction(
    txn_id: str,
    amount: int,
    currency: str,
    created: int,
    kind: str,
    category: str,
    source: str,
    fee: int = 0,
    fee_type: str = "stripe_fee",
    description: str | None = None,
    available_on: int | None = None,
) -> Obj:
    available_on = created if available_on is None else available_on
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": available_on,
        "balance_type": "payments",
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": "Stripe processing fees" if fee_type == "stripe_fee" else "Dispute fee",
                    "type": fee_type,
                }
            ]
            if fee
            else []
        ),
        "net": amount - fee,
        "reporting_category": category,
        "source": source,
        "status": "available" if now() >= available_on else "pending",
        "type": kind,
    }


def transactions(ctx: Ctx) -> Iterator[Obj]:
    """Every balance transaction of the account (unordered)."""
    for ch in ctx.account.newest_first("charge"):
        if ch["status"] == "succeeded" and ch["captured"] and ch["balance_transaction"]:
            amount = int(ch["amount_captured"])
            yield transaction(
                ch["balance_transaction"],
                amount,
                ch["currency"],
                int(ch["created"]),
                "charge",
                "charge",
                ch["id"],
                fee=processing_fee(amount),
                description=ch["description"],
                available_on=int(ch["created"]) + AVAILABLE_AFTER,
            )
    for re in ctx.account.newest_first("refund"):
        if re["status"] == "succeeded" and re["balance_transaction"]:
            yield transaction(
                re["balance_transaction"],
                -int(re["amount"]),
                re["currency"],
                int(re["created"]),
                "refund",
                "refund",
                re["id"],
                description="REFUND FOR CHARGE",
            )
    for dispute in ctx.account.newest_first("dispute"):
        for txn in dispute["balance_transactions"]:
            yield {**txn, "status": "available" if now() >= int(txn["available_on"]) else "pending"}
    for po in ctx.account.newest_first("payout"):
        yield transaction(
            po["balance_transaction"],
            -int(po["amount"]),
            po["currency"],
            int(po["created"]),
            "payout",
            "payout",
            po["id"],
            description=po["description"],
        )


def balance(ctx: Ctx) -> Obj:
    """``GET /v1/balance``: available and pending funds per currency (card funds only)."""
    sums: dict[str, dict[str, int]] = {"available": {}, "pending": {}}
    for txn in transactions(ctx):
        bucket = sums[txn["status"]]
        bucket[txn["currency"]] = bucket.get(txn["currency"], 0) + int(txn["net"])
    currencies = sorted(set(sums["available"]) | set(sums["pending"])) or ["usd"]

    def funds(status: str) -> list[Obj]:
        return [
            {
                "amount": sums[status].get(c, 0),
                "currency": c,
                "source_types": {"card": sums[status].get(c, 0)},
            }
            for c in currencies
        ]

    return {
        "object": "balance",
        "available": funds("available"),
        "livemode": False,
        "pending": funds("pending"),
    }
