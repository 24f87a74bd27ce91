"""A subscription's ``default_tax_rates``, applied to every line of the invoices it bills.

Each rate taxes what a line comes to after its discounts: an exclusive rate adds
``round(amount * percentage)`` on top, an inclusive one takes the tax out of the amount
(``amount - round(amount / (1 + percentage))``). Lines record ``taxes`` (with ``taxable_amount``);
the invoice sums them per rate in ``total_taxes`` and adds the exclusive ones to its total.
Rounding is half up to the minor unit per line (a guess at Stripe's rounding).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from .errors import invalid
from .state import Obj

if TYPE_CHECKING:
    from .deps import Ctx


def rates(ctx: Ctx, ids: list[Any], param: str) -> list[Obj]:
    """The active tax rates ``ids`` name, as the objects a subscription carries."""
    found = []
    for index, rate_id in enumerate(ids):
        rate = ctx.account.reference("tax_rate", rate_id, "tax rate", f"{param}[{index}]")
        if not rate["active"]:
            raise invalid(f"{param}[{index}]", f"Tax rate {rate['id']} is not active.")
        found.append(dict(rate))
    return found


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


def _tax(line: Obj, rate: Obj) -> Obj:
    base = int(line["amount"]) - sum(int(d["amount"]) for d in line.get("discount_amounts") or [])
    share = Decimal(str(rate["percentage"])) / 100
    if rate["inclusive"]:
        amount = base - _round(Decimal(base) / (1 + share))
        taxable = base - amount
    else:
        amount, taxable = _round(Decimal(base) * share), base
    return {
        "amount": amount,
        "tax_behavior": "inclusive" if rate["inclusive"] else "exclusive",
        "tax_rate_details": {"tax_rate": rate["id"]},
        "taxability_reason": "not_available",  # guess: what Stripe reports for manual tax rates
        "taxable_amount": taxable,
        "type": "tax_rate_details",
    }


def apply(inv: Obj, tax_rates: list[Obj]) -> None:
    """Tax ``inv``'s lines at ``tax_rates`` (after discounts) and set its totals."""
    inv["default_tax_rates"] = [dict(r) for r in tax_rates]
    if not tax_rates:
        return
    totals: dict[str, Obj] = {}
    for line in inv["lines"]["data"]:
        line["taxes"] = [_tax(line, rate) for rate in tax_rates]
        for tax in line["taxes"]:
            rate_id = tax["tax_rate_details"]["tax_rate"]
            total = totals.setdefault(rate_id, {**tax, "amount": 0, "taxable_amount": 0})
            total["amount"] += tax["amount"]
            total["taxable_amount"] += tax["taxable_amount"]
    inv["total_taxes"] = list(totals.values())
    exclusive = sum(t["amount"] for t in totals.values() if t["tax_behavior"] == "exclusive")
    inclusive = sum(t["amount"] for t in totals.values() if t["tax_behavior"] == "inclusive")
    net = int(inv["total"])  # after discounts
    total = net + exclusive
    inv.update(total=total, total_excluding_tax=net - inclusive, amount_due=total)
    inv["subtotal_excluding_tax"] = int(inv["subtotal"]) - inclusive
    inv["amount_remaining"] = total - int(inv["amount_paid"])
