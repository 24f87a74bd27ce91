"""The audit trail: every change made through the gateway and every action on an exception.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

Append-only like the ledger (the same trigger): the application never updates or deletes a row;
only the retention purge (``revbridge.purge`` set in its transaction) removes rows past retention.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DDL = r"""
CREATE TABLE revbridge.audit_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    source text NOT NULL,
    actor text,
    client text,
    operation text NOT NULL,
    method text,
    path text,
    business_key text,
    outcome text NOT NULL,
    status integer,
    trace_id text,
    detail jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_event_at ON revbridge.audit_event (at);
CREATE INDEX audit_event_key ON revbridge.audit_event (business_key, id);
CREATE INDEX audit_event_actor ON revbridge.audit_event (actor, id);
COMMENT ON TABLE revbridge.audit_event IS
  'Append-only: who changed what through the gateway, and every exception action';
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON revbridge.audit_event
  FOR EACH ROW EXECUTE FUNCTION revbridge.append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON revbridge.audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION revbridge.append_only();
"""


def upgrade() -> None:
    op.execute(DDL)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS revbridge.audit_event")
