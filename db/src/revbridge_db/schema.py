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
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    Index(
        "rm_fact_drill",
        *("measure", "period"),
        *(text("o DESC"), text("kind DESC"), text("key DESC")),
    ),
    Index("rm_fact_drill_book", "measure", text("o DESC"), text("kind DESC"), text("key DESC")),
    Index(
        "rm_fact_unmatched",
        *("pair", "period"),
        *(text("o DESC"), text("kind DESC"), text("key DESC")),
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

# --- process state (migration 0003): what the process API kept in Redis with TTLs ---------------

exception_record = Table(
    "exception_record",
    metadata,
    Column("id", Text, primary_key=True, comment="flow:business key (exception_queue.exception_id)"),
    Column("flow", Text, nullable=False),
    Column("business_key", Text, nullable=False),
    Column("error_class", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("status", Text, nullable=False, comment="open, retrying or resolved"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _ts("first_seen", nullable=False),
    _ts("last_seen", nullable=False),
    _ts("sla_due", nullable=False),
    Column("account", Text),
    _ts("resolved_at"),
    CheckConstraint("status IN ('open', 'retrying', 'resolved')", name="exception_record_status_check"),
    Index("exception_record_recent", text("last_seen DESC"), text("id DESC")),
    Index("exception_record_flow", "flow", text("last_seen DESC")),
    Index("exception_record_key", "business_key"),
    Index("exception_record_live", "owner", "sla_due", postgresql_where=text("status <> 'resolved'")),
    Index("exception_record_resolved", "resolved_at", postgresql_where=text("status = 'resolved'")),
)

exception_action = Table(
    "exception_action",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("exception_id", Text, ForeignKey("revbridge.exception_record.id"), nullable=False),
    _ts("at", nullable=False, server_default=func.now()),
    Column("action", Text, nullable=False),
    Column("actor", Text, comment="who acted: the user, else the client, or the worker"),
    Column("note", Text),
    Index("exception_action_record", "exception_id", "id"),
    comment="Append-only: every action on an exception record, who took it, when, and the note",
)

onboarding_status = Table(
    "onboarding_status",
    metadata,
    Column("contract_id", Text, primary_key=True),
    Column("state", Text, nullable=False),
    Column("billing_customer_id", Text),
    Column("billing_subscription_id", Text),
    Column("erp_customer_id", Text),
    Column("error", Text),
    _ts("updated_at", nullable=False),
    Index("onboarding_status_updated", "updated_at"),
)

reconciliation_run = Table(
    "reconciliation_run",
    metadata,
    Column("id", Text, primary_key=True),
    Column("seq", BigInteger, Identity(always=True), unique=True, nullable=False),
    Column("status", Text, nullable=False),
    Column("trigger", Text, nullable=False),
    _ts("started_at", nullable=False),
    _ts("finished_at"),
    Column("grace_seconds", Double, nullable=False, server_default=text("0")),
    Column("pairs", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("progress", Double, nullable=False, server_default=text("0")),
    Column("phase", Text),
    Column("counts", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("by_pair", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("differences_total", Integer, nullable=False, server_default=text("0")),
    Column("truncated", Boolean, nullable=False, server_default=text("false")),
    Column("exceptions_opened", Integer, nullable=False, server_default=text("0")),
    Column("exceptions_resolved", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    Index("reconciliation_run_started", "started_at"),
)

reconciliation_difference = Table(
    "reconciliation_difference",
    metadata,
    Column("run_id", Text, ForeignKey("revbridge.reconciliation_run.id"), nullable=False),
    Column("n", Integer, nullable=False, comment="its place in the report's list"),
    Column("pair", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("business_key", Text, nullable=False),
    Column("account", Text),
    Column("detail", Text, nullable=False),
    Column("source", JSONB),
    Column("targets", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("exception_id", Text),
    PrimaryKeyConstraint("run_id", "n"),
    Index("reconciliation_difference_key", "business_key"),
    comment="Append-only: the differences a reconciliation report lists, in its order (n)",
)

usage_acceptance = Table(
    "usage_acceptance",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    _ts("received_at", nullable=False, server_default=func.now()),
    Column("sender", Text, nullable=False),
    Column("event_id", Text),
    Column("batch_index", Integer, nullable=False),
    Column("outcome", Text, nullable=False, comment="accepted, duplicate or rejected"),
    Column("reason", Text),
    Column("field", Text),
    Column("message", Text),
    Column("meter", Text),
    Column("quantity", Numeric, comment="exact decimal as sent (a usage quantity, not money)"),
    _ts("occurred_at", comment="the event's timestamp as sent"),
    _ts("billed_at", comment="the timestamp sent to Stripe (moved into the current period when late)"),
    Column("contract_id", Text),
    Column("customer", Text),
    Column("billing_account", Text),
    Column("billing_customer_id", Text),
    Column("identifier", Text, comment="the Stripe meter event identifier"),
    Column("exception_id", Text),
    Column("trace_id", Text),
    Column("raw", JSONB, comment="the event as received, when it could not be read"),
    CheckConstraint(
        "outcome IN ('accepted', 'duplicate', 'rejected')", name="usage_acceptance_outcome_check"
    ),
    Index("usage_acceptance_event", "sender", "event_id"),
    Index("usage_acceptance_received", "received_at"),
    Index("usage_acceptance_contract", "contract_id", "occurred_at"),
    comment="Append-only: the answer to every usage event received",
)

PROCESS_STATE = (
    exception_record,
    exception_action,
    onboarding_status,
    reconciliation_run,
    reconciliation_difference,
    usage_acceptance,
)
"""Migration 0003's tables: the process API's durable state."""

READ_MODEL = (rm_fact, rm_agg, rm_schedule, rm_sync, rm_latency, rm_cycle, rm_state, rm_bad)
"""What ``revbridge rebuild`` empties (``rm_role`` is configuration, rewritten by the projector)."""
