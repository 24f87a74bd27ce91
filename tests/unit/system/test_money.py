"""Minor/major unit conversion: exact, half-up, and per-currency exponents."""

from __future__ import annotations

from decimal import Decimal

import pytest
from revbridge_system.money import to_major, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (1250.5, "USD", 125050),
        ("0.1", "EUR", 10),
        (0.29, "GBP", 29),
        (1000, "JPY", 1000),
        ("1.2345", "KWD", 1235),
        (None, "USD", 0),
        (2.675, "USD", 268),
    ],
)
def test_major_to_minor(amount: object, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor


def test_minor_to_major_is_exact() -> None:
    assert to_major(125050, "USD") == Decimal("1250.50")
    assert to_major(1000, "JPY") == Decimal(1000)
    assert to_major(1, "BHD") == Decimal("0.001")
