"""How a fact is stored in the read model's ``facts`` hash: compact JSON, read back as the full document.

The ``facts`` hash is most of the read model (measured with ``bench/reports.py``: over half of its
Redis memory), one document per fact. The document used to be the stream entry as it came, plus the
fold's bookkeeping, so it repeated what the hash already knows or can derive: the kind and key (the
hash field is ``kind|key``), the system (implied by the kind), the record id (most often the key),
both times twice (ISO text, and the milliseconds the fold compares) and long JSON names.

Stored now, under the one-letter names of ``NAMES``: the values that cannot be derived, the
milliseconds ``_o``/``_r`` (occurred, recorded), and the ISO text of a time, the record id or the
system only where it differs from what they give back (a time with microseconds or another UTC
offset, a record id other than the key, a system other than the kind's). ``_rm`` (recorded month)
is kept only for the invoice pair, the one whose latency the fold measures. ``decode`` gives back
exactly the document the report code read before (and passes an older, long-named document through
as it is), so no answer changes. The fold script reads the same names through ``lua_names``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from revbridge_contracts.facts import SYSTEM_OF, Fact, FactKind

from revbridge_experience.readmodel.keys import ROLES

NAMES = {
    "contract_id": "c",
    "customer_id": "u",
    "invoice_id": "i",
    "entity": "e",
    "currency": "$",
    "amount": "a",
    "period": "p",
    "status": "s",
    "trace_id": "t",
    "correlation_id": "x",
    "record_id": "r",  # only when it is not the key
    "system": "y",  # only when it is not the kind's
    "occurred_at": "oa",  # only when _o does not give it back
    "recorded_at": "ra",  # only when _r does not give it back
}
LONG = {short: name for name, short in NAMES.items()}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATENCY_PAIR = "invoice_posting"


def ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def _from_ms(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=value)


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _derivable(value: dt.datetime, millis: int) -> bool:
    """Whether ``millis`` alone gives ``value`` back: same instant, in UTC (no other offset)."""
    return value.utcoffset() == dt.timedelta(0) and _from_ms(millis) == value


def encode(item: Fact, fields: dict[str, str] | None = None) -> str:
    """The stored document of ``item``; ``fields`` is its stream entry (values kept as they came)."""
    source: dict[str, Any] = (
        dict(fields) if fields is not None else item.model_dump(mode="json", exclude_none=True)
    )
    o, r = ms(item.occurred_at), ms(item.recorded_at)
    doc: dict[str, Any] = {}
    for name, short in NAMES.items():
        value = source.get(name)
        if value is None:
            continue
        if (
            (name == "record_id" and value == item.key)
            or (name == "system" and value == SYSTEM_OF[item.kind])
            or (name == "occurred_at" and _derivable(item.occurred_at, o))
            or (name == "recorded_at" and _derivable(item.recorded_at, r))
        ):
            continue
        doc[short] = value
    if item.amount is not None:
        doc["a"] = item.amount
    doc["_o"], doc["_r"] = o, r
    if ROLES[item.kind].pair == LATENCY_PAIR:
        doc["_rm"] = item.recorded_at.strftime("%Y-%m")
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def decode(fact_id: str, raw: str | bytes) -> dict[str, Any]:
    """The full document (the stream entry's names and values, ``_o``/``_r``) of a stored fact."""
    stored: dict[str, Any] = json.loads(raw)
    if "kind" in stored:  # written before the compact form: already the full document
        return stored
    kind, _, key = fact_id.partition("|")
    doc: dict[str, Any] = {"kind": kind, "key": key}
    for short, value in stored.items():
        doc[LONG.get(short, short)] = value
    doc.setdefault("record_id", key)
    doc.setdefault("system", SYSTEM_OF[FactKind(kind)])
    doc.setdefault("occurred_at", _iso(_from_ms(stored["_o"])))
    doc.setdefault("recorded_at", _iso(_from_ms(stored["_r"])))
    return doc


def lua_names() -> str:
    """``NAMES`` as a Lua table, prepended to the fold script with the roles: one source for both."""
    rows = [f'{name}="{short}"' for name, short in NAMES.items()]
    return "local F = {" + ",".join(rows) + "}\n"
