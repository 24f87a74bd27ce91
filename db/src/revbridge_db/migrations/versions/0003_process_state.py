"""revbridge's process state: exceptions and their history, onboarding and flow statuses,
reconciliation runs and their differences, usage acceptance records.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

What the process API and its workers kept in Redis with TTLs, kept here for the retention period
(``DbSettings.retention_years``) instead; Redis keeps only the working set (streams, locks, leases,
Idempotency-Keys, the usage dedup marks).

- ``exception_record``: one row per (flow, business key), its current state (mutable: status,
  owner, attempts); ``exception_action``: every step of its life (opened, retry, reassign, resolve,
  a failed retry, resolved by the flow), append-only, never trimmed; a record resolved and seen
  failing again is reopened, its earlier history kept;
- ``onboarding_status``: where each contract's onboarding stands (one row per contract);
- ``reconciliation_run``: one row per run, updated while it runs; ``reconciliation_difference``:
  the differences its report lists, written once when it finishes (append-only);
- ``usage_acceptance``: the answer given for every usage event received (accepted, duplicate or
  rejected, with the reason), append-only. Quantities are exact decimals (``numeric``), not money.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DDL = r"""
CREATE TABLE revbridge.exception_record (
    id text PRIMARY KEY,
    flow text NOT NULL,
    business_key text NOT NULL,
    error_class text NOT NULL,
    reason text NOT NULL,
    owner text NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'retrying', 'resolved')),
    attempts integer NOT NULL DEFAULT 0,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    sla_due timestamptz NOT NULL,
    account text,
    resolved_at timestamptz
);
CREATE INDEX exception_record_recent ON revbridge.exception_record (last_seen DESC, id DESC);
CREATE INDEX exception_record_flow ON revbridge.exception_record (flow, last_seen DESC);
CREATE INDEX exception_record_key ON revbridge.exception_record (business_key);
CREATE INDEX exception_record_live ON revbridge.exception_record (owner, sla_due)
  WHERE status <> 'resolved';
CREATE INDEX exception_record_resolved ON revbridge.exception_record (resolved_at)
  WHERE status = 'resolved';
COMMENT ON TABLE revbridge.exception_record IS
  'The exception queue: one record per (flow, business key), its history in exception_action';

CREATE TABLE revbridge.exception_action (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exception_id text NOT NULL REFERENCES revbridge.exception_record (id),
    at timestamptz NOT NULL DEFAULT now(),
    action text NOT NULL,
    actor text,
    note text
);
CREATE INDEX exception_action_record ON revbridge.exception_action (exception_id, id);
COMMENT ON TABLE revbridge.exception_action IS
  'Append-only: every action on an exception record, who took it, when, and the note';
CREATE TRIGGER exception_action_append_only BEFORE UPDATE OR DELETE ON revbridge.exception_action
  FOR EACH ROW EXECUTE FUNCTION revbridge.append_only();
CREATE TRIGGER exception_action_no_truncate BEFORE TRUNCATE ON revbridge.exception_action
  FOR EACH STATEMENT EXECUTE FUNCTION revbridge.append_only();

CREATE TABLE revbridge.onboarding_status (
    contract_id text PRIMARY KEY,
    state text NOT NULL,
    billing_customer_id text,
    billing_subscription_id text,
    erp_customer_id text,
    error text,
    updated_at timestamptz NOT NULL
);
CREATE INDEX onboarding_status_updated ON revbridge.onboarding_status (updated_at);

CREATE TABLE revbridge.reconciliation_run (
    id text PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    status text NOT NULL,
    trigger text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    grace_seconds double precision NOT NULL DEFAULT 0,
    pairs text[] NOT NULL DEFAULT '{}',
    progress double precision NOT NULL DEFAULT 0,
    phase text,
    counts jsonb NOT NULL DEFAULT '{}'::jsonb,
    by_pair jsonb NOT NULL DEFAULT '{}'::jsonb,
    differences_total integer NOT NULL DEFAULT 0,
    truncated boolean NOT NULL DEFAULT false,
    exceptions_opened integer NOT NULL DEFAULT 0,
    exceptions_resolved integer NOT NULL DEFAULT 0,
    error text
);
CREATE INDEX reconciliation_run_started ON revbridge.reconciliation_run (started_at);
COMMENT ON COLUMN revbridge.reconciliation_run.seq IS 'the order runs were started in (latest: highest)';

CREATE TABLE revbridge.reconciliation_difference (
    run_id text NOT NULL REFERENCES revbridge.reconciliation_run (id),
    n integer NOT NULL,
    pair text NOT NULL,
    category text NOT NULL,
    business_key text NOT NULL,
    account text,
    detail text NOT NULL,
    source jsonb,
    targets jsonb NOT NULL DEFAULT '[]'::jsonb,
    exception_id text,
    PRIMARY KEY (run_id, n)
);
CREATE INDEX reconciliation_difference_key ON revbridge.reconciliation_difference (business_key);
COMMENT ON TABLE revbridge.reconciliation_difference IS
  'Append-only: the differences a reconciliation report lists, in its order (n)';
CREATE TRIGGER reconciliation_difference_append_only
  BEFORE UPDATE OR DELETE ON revbridge.reconciliation_difference
  FOR EACH ROW EXECUTE FUNCTION revbridge.append_only();
CREATE TRIGGER reconciliation_difference_no_truncate BEFORE TRUNCATE ON revbridge.reconciliation_difference
  FOR EACH STATEMENT EXECUTE FUNCTION revbridge.append_only();

CREATE TABLE revbridge.usage_acceptance (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    sender text NOT NULL,
    event_id text,
    batch_index integer NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'rejected')),
    reason text,
    field text,
    message text,
    meter text,
    quantity numeric,
    occurred_at timestamptz,
    billed_at timestamptz,
    contract_id text,
    customer text,
    billing_account text,
    billing_customer_id text,
    identifier text,
    exception_id text,
    trace_id text,
    raw jsonb
);
CREATE INDEX usage_acceptance_event ON revbridge.usage_acceptance (sender, event_id);
CREATE INDEX usage_acceptance_received ON revbridge.usage_acceptance (received_at);
CREATE INDEX usage_acceptance_contract ON revbridge.usage_acceptance (contract_id, occurred_at);
COMMENT ON TABLE revbridge.usage_acceptance IS
  'Append-only: the answer to every usage event received (occurred_at as sent, billed_at as sent to Stripe)';
CREATE TRIGGER usage_acceptance_append_only BEFORE UPDATE OR DELETE ON revbridge.usage_acceptance
  FOR EACH ROW EXECUTE FUNCTION revbridge.append_only();
CREATE TRIGGER usage_acceptance_no_truncate BEFORE TRUNCATE ON revbridge.usage_acceptance
  FOR EACH STATEMENT EXECUTE FUNCTION revbridge.append_only();
"""


def upgrade() -> None:
    op.execute(DDL)


def downgrade() -> None:
    for table in (
        "usage_acceptance",
        "reconciliation_difference",
        "reconciliation_run",
        "onboarding_status",
        "exception_action",
        "exception_record",
    ):
        op.execute(f"DROP TABLE IF EXISTS revbridge.{table}")
