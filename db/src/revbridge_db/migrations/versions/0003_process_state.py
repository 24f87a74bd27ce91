"""revbridge's process state: exceptions and their history, onboarding and flow statuses,
reconciliation runs and their differences, usage acceptance records.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
