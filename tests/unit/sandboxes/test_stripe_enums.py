"""The Stripe sandbox's enum table is what its generator makes from the spec copied in tests/data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from revbridge_sandboxes.stripe import enums
from revbridge_sandboxes.stripe.errors import StripeError

SPEC = Path(__file__).parents[2] / "data" / "stripe" / "stripe-spec3-2023-09-12.json"


def test_the_committed_table_is_the_one_built_from_the_spec() -> None:
    extra = {name: set(values) for name, values in enums.ADDED_SINCE_SPEC.items()}
    extra["enabled_events"] |= enums.event_types()
    assert enums.build(json.loads(SPEC.read_text(encoding="utf-8")), extra) == enums.table()


def test_nested_and_listed_values_are_checked_with_the_param_stripe_names() -> None:
    params = {"items": [{"price": "price_1"}, {"price_data": {"recurring": {"interval": "fortnight"}}}]}
    with pytest.raises(StripeError) as bad:
        enums.check("POST", "/v1/subscriptions", params)
    assert bad.value.param == "items[1][price_data][recurring][interval]"
    enums.check("POST", "/v1/subscriptions", {"trial_end": "1767225600", "collection_method": "send_invoice"})
