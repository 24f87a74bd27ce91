"""The intake's rules, pure (no I/O): is each event well formed, inside Stripe's window, on a meter
of its contract, and in the current billing period.

Stripe accepts a meter event whose timestamp is "within the past 35 calendar days or up to 5
minutes in the future" (docs.stripe.com, Billing Meter Event ``timestamp``). Guess, marked: 35
calendar days is read as 35 x 24 h before "now"; "now" is the wall clock, or the frozen time of the
customer's test clock. Usage before the current billing period (which started at ``billing_anchor``
plus whole months) is late: per ``usage.late`` it is moved to the current period's start
(``bill_next_period``) or refused as ``period_closed`` and held as a ``usage_late`` exception.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import ValidationError
from revbridge_contracts.usage import UsageEvent, UsageReason

from revbridge_process.flows.amendments import add_months
from revbridge_process.usage.directory import DirectoryEntry

MAX_AGE = dt.timedelta(days=35)
MAX_AHEAD = dt.timedelta(minutes=5)
MAX_QUANTITY_DIGITS = 30
"""Significant digits a quantity may have (guess: Stripe documents no limit; this bounds the text)."""
DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
LatePolicy = Literal["bill_next_period", "exception"]


@dataclass(frozen=True)
class Rejection:
    reason: UsageReason
    message: str
    field: str | None = None


@dataclass(frozen=True)
class Admitted:
    """What will be sent to Stripe: the event's time, or the current period's start for late usage."""

    timestamp: dt.datetime
    original: dt.datetime | None = None


def quantity_of(value: Any) -> Decimal | Rejection:
    """An exact decimal from a JSON string or number (numbers are parsed as ``Decimal``, never float)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return Rejection(
            UsageReason.invalid_event, "quantity must be a decimal string or a number", "quantity"
        )
    if isinstance(value, str) and not DECIMAL_TEXT.match(value.strip()):
        return Rejection(UsageReason.invalid_event, "quantity is not a decimal number", "quantity")
    try:
        quantity = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        return Rejection(UsageReason.invalid_event, "quantity is not a decimal number", "quantity")
    if not quantity.is_finite():
        return Rejection(UsageReason.invalid_event, "quantity must be finite", "quantity")
    if quantity < 0:
        return Rejection(UsageReason.negative_quantity, "quantity must be zero or more", "quantity")
    digits = quantity.normalize().as_tuple()
    exponent = int(digits.exponent)
    if len(digits.digits) + max(exponent, 0) > MAX_QUANTITY_DIGITS or exponent < -MAX_QUANTITY_DIGITS:
        return Rejection(
            UsageReason.invalid_event, f"quantity has more than {MAX_QUANTITY_DIGITS} digits", "quantity"
        )
    return quantity + 0  # drops a negative zero's sign


def parse_event(raw: Any) -> UsageEvent | Rejection:
    """One event checked on its own: the first problem, naming its field."""
    if not isinstance(raw, dict):
        return Rejection(UsageReason.invalid_event, "an event must be a JSON object")
    quantity = quantity_of(raw.get("quantity")) if "quantity" in raw else None
    if isinstance(quantity, Rejection):
        return quantity
    stamp = raw.get("timestamp")
    if "timestamp" in raw and not (isinstance(stamp, str) and RFC3339.match(stamp)):
        return Rejection(UsageReason.invalid_event, "timestamp must be RFC 3339 with an offset", "timestamp")
    try:
        event = UsageEvent.model_validate({**raw, "quantity": quantity} if quantity is not None else raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or None
        return Rejection(UsageReason.invalid_event, str(error["msg"]), where)
    if (event.contract_id is None) == (event.customer is None):
        return Rejection(
            UsageReason.invalid_event, "name exactly one of contract_id and customer", "contract_id"
        )
    return event


def period_start(anchor: dt.datetime, now: dt.datetime) -> dt.datetime:
    """The start of the billing period holding ``now`` (the anchor itself before the first period)."""
    if now <= anchor:
        return anchor
    months = (now.year - anchor.year) * 12 + now.month - anchor.month
    start = add_months(anchor, months)
    while start > now:
        months -= 1
        start = add_months(anchor, months)
    return start


def judge(
    event: UsageEvent, entry: DirectoryEntry, now: dt.datetime, late: LatePolicy
) -> Admitted | Rejection:
    """Meter, window and period rules for a well-formed event of a known contract."""
    if event.meter not in entry.meters:
        return Rejection(
            UsageReason.meter_not_on_contract,
            f"contract {entry.contract_id} has no usage line on meter {event.meter!r}",
            "meter",
        )
    stamp = event.timestamp
    if stamp > now + MAX_AHEAD:
        return Rejection(
            UsageReason.timestamp_in_future,
            f"timestamp is more than 5 minutes after now ({now.isoformat()})",
            "timestamp",
        )
    if stamp < now - MAX_AGE:
        return Rejection(
            UsageReason.timestamp_too_old,
            f"timestamp is more than 35 days before now ({now.isoformat()}); Stripe refuses it",
            "timestamp",
        )
    anchor = entry.billing_anchor
    if stamp < anchor:
        return Rejection(
            UsageReason.before_billing_start,
            f"timestamp is before the contract's first billing period ({anchor.isoformat()})",
            "timestamp",
        )
    start = period_start(anchor, now)
    if stamp >= start:
        return Admitted(stamp)
    if late == "bill_next_period":
        return Admitted(start, original=stamp)
    return Rejection(
        UsageReason.period_closed,
        f"timestamp is in a billing period already closed (the current one started {start.isoformat()})",
        "timestamp",
    )
