"""The usage directory: which contract a usage event bills, in which Stripe account and customer.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Business configuration that onboarding registers and usage ingestion reads: it must survive the loss
of Redis (where it lived before), or usage for every metered contract would be refused until each was
onboarded again.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE revbridge.usage_contract (
            contract_id text PRIMARY KEY,
            crm_account_id text NOT NULL,
            entry jsonb NOT NULL,
            registered_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX usage_contract_account ON revbridge.usage_contract (crm_account_id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS revbridge.usage_contract")
