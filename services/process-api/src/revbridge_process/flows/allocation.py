"""Splitting an amount of money over weights, to the minor unit, without losing or inventing a cent.

Write-offs, credit memos and revenue schedules all spread one integer amount over several lines
or months; each uses ``allocate`` so the parts always sum to the whole (largest-remainder method,
ties to the earlier part), whatever the rounding.
"""

from __future__ import annotations

from collections.abc import Sequence


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (non-negative, not all zero); parts sum to ``total``.

    A negative total is split as its absolute value and every part negated, so a credit spreads the
    same way a charge does.
    """
    if not weights:
        raise ValueError("nothing to allocate over")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    whole = sum(weights)
    if whole == 0:
        raise ValueError("weights must not all be zero")
    sign, amount = (-1, -total) if total < 0 else (1, total)
    floors = [amount * w // whole for w in weights]
    remainders = [amount * w % whole for w in weights]
    short = amount - sum(floors)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:short]:
        floors[index] += 1
    return [sign * part for part in floors]
