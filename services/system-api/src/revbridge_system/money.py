"""Money conversion between the platforms' decimal major units and canonical integer minor units.

Salesforce and NetSuite speak decimals in major units (``1250.5`` USD); revbridge carries integers
in the currency's minor unit (``125050``). Conversion goes through ``Decimal`` with half-up
rounding so no float error ever reaches a ledger.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 exponents that differ from the default of 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def exponent(currency: str) -> int:
    """Digits after the decimal point in ``currency`` (2 unless ISO 4217 says otherwise)."""
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: object, currency: str) -> int:
    """A major-unit decimal (number or string) as integer minor units, rounded half-up."""
    if amount is None or amount == "":
        return 0
    scaled = Decimal(str(amount)).scaleb(exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_major(amount: int, currency: str) -> Decimal:
    """Integer minor units as an exact major-unit ``Decimal`` (``125050`` USD -> ``1250.50``)."""
    return Decimal(amount).scaleb(-exponent(currency))


def to_major_float(amount: int, currency: str) -> float:
    """Major units as a JSON number; exact for any amount a ledger line can hold (< 2**53 minor units)."""
    return float(to_major(amount, currency))
