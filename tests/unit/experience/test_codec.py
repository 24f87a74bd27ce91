"""The read model's stored form of a fact: compact, and read back as exactly the document it replaced."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from revbridge_contracts.facts import Fact, FactKind, fact
from revbridge_experience.lineage import record
from revbridge_experience.readmodel import codec
from revbridge_experience.readmodel.keys import fact_id

T0 = dt.datetime(2026, 4, 1, 0, 1, 5, tzinfo=dt.UTC)


def full_document(item: Fact) -> dict[str, Any]:
    """What the read model stored before the compact form: the stream entry, the amount, _o/_r/_rm."""
    doc: dict[str, Any] = dict(item.to_fields())
    if item.amount is not None:
        doc["amount"] = item.amount
    doc.update(_o=codec.ms(item.occurred_at), _r=codec.ms(item.recorded_at))
    return doc


FACTS = [
    fact(  # the common case: record id = key, times to the second in UTC
        FactKind.invoice_billed,
        "in_b1x3",
        "in_b1x3",
        contract_id="800B00000000000001",
        customer_id="001B00000000000001",
        invoice_id="in_b1x3",
        entity="GB",
        currency="GBP",
        amount=205_243,
        period="2026-04",
        status="paid",
        occurred_at=T0,
        recorded_at=T0,
        trace_id="b2f14c942e05319acb5c74273f98e277",
    ),
    fact(  # an ERP record id, a recorded time with microseconds (as a live flow records it)
        FactKind.invoice_posted,
        "in_b1x3",
        "4711",
        invoice_id="in_b1x3",
        currency="GBP",
        amount=205_243,
        occurred_at=T0,
        recorded_at=T0 + dt.timedelta(microseconds=123_456),
        correlation_id="cid-1",
    ),
    Fact(  # an offset other than UTC, and a system other than the kind's: both kept as they came
        kind=FactKind.customer_linked,
        key="001B00000000000001",
        system="erp",
        record_id="cus_1",
        occurred_at=dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        recorded_at=T0,
    ),
]


@pytest.mark.parametrize("item", FACTS, ids=lambda f: f.kind.value)
def test_a_stored_fact_reads_back_as_the_full_document_and_the_same_record(item: Fact) -> None:
    key = fact_id(item.kind.value, item.key)
    stored = codec.encode(item, item.to_fields())
    before = full_document(item)
    decoded = codec.decode(key, stored)
    assert {k: v for k, v in decoded.items() if k != "_rm"} == before
    assert record(decoded) == record(before)
    assert len(stored) < len(json.dumps(before, separators=(",", ":"))) * 0.75


def test_what_can_be_derived_is_not_stored() -> None:
    stored = json.loads(codec.encode(FACTS[0], FACTS[0].to_fields()))
    assert not {"kind", "key", "system", "record_id", "occurred_at", "recorded_at"} & set(stored)
    assert not {"y", "r", "oa", "ra"} & set(stored)
    assert stored["_rm"] == "2026-04"  # the invoice pair: the fold measures its latency by month
    kept = json.loads(codec.encode(FACTS[1], FACTS[1].to_fields()))
    assert kept["r"] == "4711" and kept["ra"] == "2026-04-01T00:01:05.123456Z" and "oa" not in kept
    linked = json.loads(codec.encode(FACTS[2], FACTS[2].to_fields()))
    assert linked["y"] == "erp" and linked["oa"] == "2026-04-01T02:00:00+02:00" and "_rm" not in linked


def test_a_document_stored_before_the_compact_form_reads_as_it_was() -> None:
    before = {**full_document(FACTS[0]), "_rm": "2026-04"}
    assert codec.decode("invoice.billed|in_b1x3", json.dumps(before)) == before
