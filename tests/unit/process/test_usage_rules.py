"""The intake's rules without I/O: each event checked alone, Stripe's window, billing periods, late usage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from revbridge_contracts.usage import UsageEvent, UsageReason
from revbridge_process.usage import keys
from revbridge_process.usage.directory import DirectoryEntry
from revbridge_process.usage.rules import (
    Admitted,
    Rejection,
    add_months,
    judge,
    parse_event,
    period_start,
    quantity_of,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ENTRY = DirectoryEntry(
    contract_id="800RB000000000AYAQ",
    crm_account_id="001RB000000000AAAA",
    billing_account="default",
    billing_customer_id="cus_1",
    meters=frozenset({"api_calls"}),
    billing_anchor=dt.datetime(2026, 1, 31, tzinfo=UTC),
)


def raw(**overrides: object) -> dict[str, object]:
    event: dict[str, object] = {
        "event_id": "evt-1",
        "contract_id": "800RB000000000AYAQ",
        "meter": "api_calls",
        "quantity": "12.5",
        "timestamp": "2026-03-20T11:00:00Z",
    }
    event.update(overrides)
    return {k: v for k, v in event.items() if v is not None}


def event(**overrides: object) -> UsageEvent:
    parsed = parse_event(raw(**overrides))
    assert isinstance(parsed, UsageEvent), parsed
    return parsed


def test_quantity_is_exact_from_a_string_or_a_decimal_number() -> None:
    assert quantity_of("0.1") == Decimal("0.1")
    assert quantity_of(Decimal("123456789012345678.000000001")) == Decimal("123456789012345678.000000001")
    assert quantity_of(7) == Decimal(7)
    assert quantity_of("-0") == Decimal(0) and not quantity_of("-0").is_signed()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-1", UsageReason.negative_quantity),
        ("abc", UsageReason.invalid_event),
        ("NaN", UsageReason.invalid_event),
        ("Infinity", UsageReason.invalid_event),
        (True, UsageReason.invalid_event),
        (None, UsageReason.invalid_event),
        ([1], UsageReason.invalid_event),
        (1.5, UsageReason.invalid_event),  # a float reached us: only Decimal-parsed numbers are exact
        ("1" * 31, UsageReason.invalid_event),
    ],
)
def test_bad_quantities_are_refused_with_their_reason(value: object, reason: UsageReason) -> None:
    result = quantity_of(value)
    assert isinstance(result, Rejection) and result.reason == reason and result.field == "quantity"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"timestamp": "2026-03-20 11:00"}, "timestamp"),  # no offset
        ({"timestamp": 1773000000}, "timestamp"),  # epoch number, not RFC 3339
        ({"timestamp": None}, "timestamp"),
        ({"event_id": None}, "event_id"),
        ({"event_id": "has space"}, "event_id"),
        ({"meter": 5}, "meter"),
        ({"quantity": None}, "quantity"),
        ({"unexpected": 1}, "unexpected"),
        ({"contract_id": None}, "contract_id"),  # neither contract nor customer
        ({"customer": "001RB000000000AAAA"}, "contract_id"),  # both
    ],
)
def test_each_malformed_event_names_its_field(overrides: dict[str, object], field: str) -> None:
    result = parse_event(raw(**overrides))
    assert isinstance(result, Rejection), result
    assert result.reason == UsageReason.invalid_event and result.field == field


def test_an_event_that_is_not_an_object_is_refused() -> None:
    assert isinstance(parse_event(["x"]), Rejection)


def test_months_are_counted_from_the_anchor_and_clamped_to_the_month_end() -> None:
    anchor = dt.datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
    assert add_months(anchor, 1) == dt.datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    assert add_months(anchor, 2) == dt.datetime(2026, 3, 31, 9, 30, tzinfo=UTC)  # back to the 31st
    assert add_months(anchor, 13) == dt.datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
    assert add_months(dt.datetime(2027, 11, 30, tzinfo=UTC), 3) == dt.datetime(2028, 2, 29, tzinfo=UTC)


def test_the_current_period_is_the_last_anchor_month_at_or_before_now() -> None:
    anchor = dt.datetime(2026, 1, 31, tzinfo=UTC)
    assert period_start(anchor, NOW) == dt.datetime(2026, 2, 28, tzinfo=UTC)  # Mar 31 is still ahead
    assert period_start(anchor, dt.datetime(2026, 3, 31, tzinfo=UTC)) == dt.datetime(2026, 3, 31, tzinfo=UTC)
    assert period_start(anchor, dt.datetime(2026, 1, 1, tzinfo=UTC)) == anchor  # before the first period


def test_usage_inside_the_current_period_is_admitted_as_is() -> None:
    result = judge(event(), ENTRY, NOW, "exception")
    assert result == Admitted(dt.datetime(2026, 3, 20, 11, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        ("2026-03-20T12:05:01Z", UsageReason.timestamp_in_future),
        ("2026-02-13T11:59:59Z", UsageReason.timestamp_too_old),  # 35 days and a second before now
        ("2026-01-30T00:00:00+00:00", UsageReason.timestamp_too_old),
    ],
)
def test_stripe_window_is_35_days_back_and_5_minutes_ahead(timestamp: str, reason: UsageReason) -> None:
    result = judge(event(timestamp=timestamp), ENTRY, NOW, "bill_next_period")
    assert isinstance(result, Rejection) and result.reason == reason


def test_the_window_edges_are_inside() -> None:
    assert isinstance(judge(event(timestamp="2026-03-20T12:05:00Z"), ENTRY, NOW, "exception"), Admitted)
    old_entry = ENTRY.model_copy(update={"billing_anchor": dt.datetime(2025, 1, 1, tzinfo=UTC)})
    edge = judge(event(timestamp="2026-02-13T12:00:00Z"), old_entry, NOW, "bill_next_period")
    assert isinstance(edge, Admitted) and edge.original == dt.datetime(2026, 2, 13, 12, tzinfo=UTC)


def test_late_usage_is_moved_to_the_current_period_start_keeping_its_time() -> None:
    result = judge(event(timestamp="2026-02-20T08:00:00-05:00"), ENTRY, NOW, "bill_next_period")
    assert result == Admitted(
        timestamp=dt.datetime(2026, 2, 28, tzinfo=UTC),
        original=dt.datetime(2026, 2, 20, 13, 0, tzinfo=UTC),
    )


def test_late_usage_is_refused_as_period_closed_under_the_exception_policy() -> None:
    result = judge(event(timestamp="2026-02-20T08:00:00Z"), ENTRY, NOW, "exception")
    assert isinstance(result, Rejection) and result.reason == UsageReason.period_closed


def test_usage_before_the_first_billing_period_is_refused() -> None:
    entry = ENTRY.model_copy(update={"billing_anchor": dt.datetime(2026, 3, 10, tzinfo=UTC)})
    result = judge(event(timestamp="2026-03-01T00:00:00Z"), entry, NOW, "bill_next_period")
    assert isinstance(result, Rejection) and result.reason == UsageReason.before_billing_start


def test_a_meter_the_contract_has_no_line_for_is_refused() -> None:
    result = judge(event(meter="storage_gb"), ENTRY, NOW, "exception")
    assert isinstance(result, Rejection) and result.reason == UsageReason.meter_not_on_contract


def test_the_stripe_identifier_is_stable_per_sender_and_event_and_fits_stripe() -> None:
    one = keys.identifier("partner-demo", "evt-1")
    assert one == keys.identifier("partner-demo", "evt-1") and len(one) <= 100
    assert one != keys.identifier("partner-other", "evt-1")
    assert keys.identifier("a:b", "c") != keys.identifier("a", "b:c")
