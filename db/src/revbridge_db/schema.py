"""The tables of revbridge's own record (SQLAlchemy Core), all in schema ``revbridge``.

Amounts are integers in minor units (exact; never floats). Times are ``timestamptz``.

The ledger (``ledger_fact``) is append-only: a trigger refuses UPDATE, and DELETE except by the
retention purge (``revbridge.purge`` set in its transaction). Every version of a fact is a row;
``(kind, key, occurred_at, recorded_at)`` is one version, so a publish retried after an ambiguous
answer adds nothing. ``txid`` (the inserting transaction) lets the projector fold rows in commit-safe
order (``readmodel.sql``).

The read model (``rm_*``) is derived: ``revbridge rebuild`` empties it and folds the ledger again.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import UserDefinedType

SCHEMA = "revbridge"
metadata = MetaData(schema=SCHEMA)


class XID8(UserDefinedType):  # type: ignore[type-arg]
    """PostgreSQL's 64-bit transaction id (``pg_current_xact_id()``)."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


def _ts(name: str, **kw: object) -> Column:  # type: ignore[type-arg]
    return Column(name, DateTime(timezone=True), **kw)  # type: ignore[arg-type]


ledger_fact = Table(
    "ledger_fact",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("txid", XID8(), nullable=False, server_default=text("pg_current_xact_id()")),
    Column("kind", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("system", Text, nullable=False),
    Column("record_id", Text, nullable=False),
    Column("contract_id", Text),
    Column("customer_id", Text),
    Column("invoice_id", Text),
    Column("entity", Text),
    Column("currency", Text),
    Column("amount", BigInteger),
    Column("period", Text),
    Column("status", Text),
    _ts("occurred_at", nullable=False),
    _ts("recorded_at", nullable=False),
    Column("trace_id", Text),
    Column("correlation_id", Text),
    Column("source_event_id", Text),
    Column("flow", Text),
    Column("attempt", Integer),
    _ts("inserted_at", nullable=False, server_default=func.now()),
    UniqueConstraint("kind", "key", "occurred_at", "recorded_at", name="ledger_fact_version"),
    Index("ledger_fact_fold_order", "txid", "id"),
    Index("ledger_fact_inserted", "inserted_at"),
    Index("ledger_fact_contract", "contract_id"),
    Index("ledger_fact_invoice", "invoice_id"),
)

# --- the read model ---------------------------------------------------------------------------

rm_role = Table(
    "rm_role",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("measure", Text, nullable=False),
    Column("pair", Text, nullable=False),
    Column("side", Text, nullable=False),
    Column("other", Text, nullable=False),
    Column("forecast", Boolean, nullable=False),
    Column("reversed_measure", Text, nullable=False),
)

rm_fact = Table(
    "rm_fact",
    metadata,
    Column("kind", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("measure", Text, nullable=False),
    Column("pair", Text, nullable=False),
    Column("forecast", Boolean, nullable=False),
    Column("period", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("amount", BigInteger),
    Column("o", BigInteger, nullable=False, comment="occurred, ms since the epoch"),
    Column("r", BigInteger, nullable=False, comment="recorded, ms since the epoch"),
    Column("unmatched", Boolean, nullable=False, server_default=text("false")),
    Column("contract_id", Text),
    Column("customer_id", Text),
    Column("invoice_id", Text),
    Column("system", Text, nullable=False),
    Column("record_id", Text, nullable=False),
    Column("status", Text),
    _ts("occurred_at", nullable=False),
    _ts("recorded_at", nullable=False),
    Column("trace_id", Text),
    Column("correlation_id", Text),
    Column("ledger_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "key"),
    Index("rm_fact_drill", "measure", "period", "entity", "currency", text("o DESC"), "kind", "key"),
    Index(
        "rm_fact_unmatched",
        "pair",
        "period",
        "entity",
        "currency",
        text("o DESC"),
        postgresql_where=text("unmatched"),
    ),
    Index("rm_fact_contract", "contract_id"),
    Index("rm_fact_customer", "customer_id"),
    Index("rm_fact_invoice", "invoice_id"),
)

rm_agg = Table(
    "rm_agg",
    metadata,
    Column("period", Text, nullable=False),
    Column("entity", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("measure", Text, nullable=False, comment="a measure, or um:<pair> (unmatched count)"),
    Column("class", Text, nullable=False, comment="a actual, f forecast, u unmatched"),
    Column("total", BigInteger, nullable=False, server_default=text("0")),
    Column("n", BigInteger, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("period", "entity", "currency", "measure"),
)

rm_schedule = Table(
    "rm_schedule",
    metadata,
    Column("contract_id", Text, primary_key=True),
    Column("version_ms", BigInteger, nullable=False),
)

rm_sync = Table(
    "rm_sync",
    metadata,
    Column("entity", Text, nullable=False),
    Column("pair", Text, nullable=False),
    Column("what", Text, nullable=False, comment="src (sources seen) or ok (pairs completed)"),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("entity", "pair", "what"),
)

rm_latency = Table(
    "rm_latency",
    metadata,
    Column("month", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("month", "key"),
)

rm_cycle = Table(
    "rm_cycle",
    metadata,
    Column("contract_id", Text, primary_key=True),
    Column("first_bill_ms", BigInteger),
    Column("cycle_ms", BigInteger),
)

rm_state = Table(
    "rm_state",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", BigInteger, nullable=False),
    Column("text_value", Text),
)

rm_bad = Table(
    "rm_bad",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("ledger_id", BigInteger),
    Column("reason", Text, nullable=False),
    Column("fields", JSONB, nullable=False),
    _ts("at", nullable=False, server_default=func.now()),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    _ts("at", nullable=False, server_default=func.now()),
    Column("source", Text, nullable=False, comment="gateway or process"),
    Column("actor", Text, comment="the token's sub"),
    Column("client", Text, comment="the OAuth client"),
    Column("operation", Text, nullable=False),
    Column("method", Text),
    Column("path", Text),
    Column("business_key", Text),
    Column("outcome", Text, nullable=False),
    Column("status", Integer),
    Column("trace_id", Text),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)

READ_MODEL = (rm_fact, rm_agg, rm_schedule, rm_sync, rm_latency, rm_cycle, rm_state, rm_bad)
"""What ``revbridge rebuild`` empties (``rm_role`` is configuration, rewritten by the projector)."""
