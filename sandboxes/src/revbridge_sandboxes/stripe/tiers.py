"""Tiered prices (``billing_scheme=tiered``): the tiers given on ``POST /v1/prices`` and what a
quantity costs under them, ``graduated`` (each tier prices the units that fall in it) or ``volume``
(the tier the whole quantity reaches prices every unit).

A price's ``tiers`` is one of Stripe's includable fields: returned only under ``expand[]=tiers``.
The sandbox keeps them beside the price (``Account.price_tiers``) and adds them when expanded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from . import forms
from .errors import invalid, missing

if TYPE_CHECKING:
    from .state import Account, Obj

TIERS_MODES = ("graduated", "volume")


def _decimal(spec: dict[str, Any], name: str, param: str) -> Decimal | None:
    value = spec.get(name)
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise invalid(
            f"{param}[{name}]", f"Invalid decimal: {value}", code="parameter_invalid_decimal"
        ) from None
    if not number.is_finite() or number < 0:
        raise invalid(f"{param}[{name}]", f"Invalid decimal: {value}", code="parameter_invalid_decimal")
    return number


def text(number: Decimal) -> str:
    """A decimal as Stripe writes one: no exponent, no trailing zeros."""
    text = format(number.normalize(), "f")
    return text


def parse(params: dict[str, Any]) -> tuple[str, list[Obj]]:
    """``tiers_mode`` and ``tiers[]`` of a tiered price, as the price's ``tiers`` field shows them.

    Guess (Stripe's wording is not documented): the messages for a missing last ``inf`` tier and
    for ``up_to`` values out of order."""
    mode = forms.as_str(params, "tiers_mode")
    if not mode:
        raise missing("tiers_mode")
    if mode not in TIERS_MODES:
        raise invalid("tiers_mode", "Invalid tiers_mode: must be one of graduated or volume")
    given = forms.as_list(params, "tiers")
    if not given:
        raise missing("tiers")
    tiers: list[Obj] = []
    previous = 0
    for i, spec in enumerate(given):
        param = f"tiers[{i}]"
        if not isinstance(spec, dict):
            raise invalid(param, "Invalid object")
        raw_up_to = spec.get("up_to")
        if raw_up_to in (None, ""):
            raise missing(f"{param}[up_to]")
        up_to: int | None
        if raw_up_to == "inf":
            up_to = None
        else:
            up_to = forms.as_int(spec, "up_to")
            assert up_to is not None
            if up_to <= previous:
                raise invalid(
                    f"{param}[up_to]", "Each tier's `up_to` must be greater than the previous tier's `up_to`."
                )
            previous = up_to
        if up_to is None and i != len(given) - 1:
            raise invalid(f"{param}[up_to]", "Only the last tier can have `up_to` set to `inf`.")
        for name in ("unit_amount", "flat_amount"):
            if spec.get(name) not in (None, "") and spec.get(f"{name}_decimal") not in (None, ""):
                raise invalid(
                    f"{param}[{name}]",
                    f"You may only specify one of these parameters: {name}, {name}_decimal.",
                )
        unit = _decimal(spec, "unit_amount", param)
        unit_decimal = _decimal(spec, "unit_amount_decimal", param)
        flat = _decimal(spec, "flat_amount", param)
        flat_decimal = _decimal(spec, "flat_amount_decimal", param)
        unit_value = unit if unit is not None else unit_decimal
        flat_value = flat if flat is not None else flat_decimal
        tiers.append(
            {
                "flat_amount": int(flat_value)
                if flat_value is not None and flat_value == int(flat_value)
                else None,
                "flat_amount_decimal": text(flat_value) if flat_value is not None else None,
                "unit_amount": int(unit_value)
                if unit_value is not None and unit_value == int(unit_value)
                else None,
                "unit_amount_decimal": text(unit_value) if unit_value is not None else None,
                "up_to": up_to,
            }
        )
    if tiers[-1]["up_to"] is not None:
        raise invalid(f"tiers[{len(tiers) - 1}][up_to]", "The last tier must have `up_to` set to `inf`.")
    return mode, tiers


@dataclass(frozen=True)
class TierCharge:
    """What one tier bills: its 1-based index, the units in it, its unit price and flat fee."""

    tier: int
    quantity: int
    unit: Decimal
    flat: Decimal

    @property
    def amount(self) -> int:
        exact = self.unit * self.quantity + self.flat
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))  # guess: half up per line


def charges(mode: str, tiers: list[Obj], quantity: int) -> list[TierCharge]:
    """The tiers ``quantity`` bills under, lowest first (always at least one).

    Graduated: every tier that units fall into, each with its own units and its flat fee. Volume:
    the one tier the whole quantity falls into. Guess: a quantity of 0 bills nothing (no flat fee
    of the first tier)."""

    def unit(tier: Obj) -> Decimal:
        return Decimal(tier["unit_amount_decimal"] or 0)

    def flat(tier: Obj) -> Decimal:
        return Decimal(tier["flat_amount_decimal"] or 0)

    if quantity <= 0:
        return [TierCharge(1, 0, unit(tiers[0]), Decimal(0))]
    if mode == "volume":
        for index, tier in enumerate(tiers, start=1):
            if tier["up_to"] is None or quantity <= int(tier["up_to"]):
                return [TierCharge(index, quantity, unit(tier), flat(tier))]
    found: list[TierCharge] = []
    lower = 0
    for index, tier in enumerate(tiers, start=1):
        upper = quantity if tier["up_to"] is None else min(quantity, int(tier["up_to"]))
        if upper > lower:
            found.append(TierCharge(index, upper - lower, unit(tier), flat(tier)))
        if tier["up_to"] is None or quantity <= int(tier["up_to"]):
            break
        lower = int(tier["up_to"])
    return found


def of(account: Account, price: Obj) -> list[Obj] | None:
    """The price's tiers, ``None`` for a per-unit price."""
    if price.get("billing_scheme") != "tiered":
        return None
    return account.price_tiers.get(str(price["id"]))


def amount(account: Account, price: Obj, quantity: int) -> int:
    """What ``quantity`` of ``price`` costs for one period."""
    tiers = of(account, price)
    if tiers is None:
        return int(price.get("unit_amount") or 0) * quantity
    return sum(c.amount for c in charges(str(price["tiers_mode"]), tiers, quantity))


def include(price: Obj, account: Account) -> list[Obj]:
    """``expand[]=tiers``: the tiers of a tiered price (an empty list for a per-unit one)."""
    return [dict(t) for t in of(account, price) or []]
