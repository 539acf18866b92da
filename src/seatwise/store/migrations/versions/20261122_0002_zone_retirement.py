"""Zones can be retired like tables.

A zone removed from the venue document is deleted when no table ever referred to
it; otherwise retired tables (kept for the ledger's history) still point at it, so
it is marked retired instead and no longer part of the venue.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE zones ADD COLUMN retired_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE zones DROP COLUMN retired_at")
