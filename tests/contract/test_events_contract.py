"""The AsyncAPI document and the EventEnvelope model describe the same messages."""

from __future__ import annotations

import pytest
from revbridge_contracts.events import STREAM_OF, BadEvent, EventEnvelope, EventType, Stream
from revbridge_contracts.loader import asyncapi


def test_asyncapi_lists_every_event_type_on_its_stream() -> None:
    doc = asyncapi()
    schema = doc["components"]["schemas"]["EventEnvelope"]
    assert sorted(schema["properties"]["type"]["enum"]) == sorted(t.value for t in EventType)
    assert set(schema["properties"]) == set(EventEnvelope.model_fields)
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == {t.value for t in EventType}
    addresses = {c["address"] for c in doc["channels"].values()}
    assert {s.value for s in Stream} <= addresses
    assert set(STREAM_OF) == set(EventType)


def test_envelope_round_trips_through_stream_fields() -> None:
    env = EventEnvelope(
        type=EventType.invoice_paid,
        source="stripe.webhook",
        subject="in_123",
        account="default",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    fields = {k.encode(): v.encode() for k, v in env.to_fields().items()}
    assert EventEnvelope.from_fields(fields) == env
    assert env.stream is Stream.billing


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"type": "nope", "source": "x", "subject": "y"},
        {"type": "billing.invoice.paid", "source": "x", "subject": ""},
    ],
)
def test_malformed_entries_are_bad_events(fields: dict[str, str]) -> None:
    with pytest.raises(BadEvent):
        EventEnvelope.from_fields(fields)
