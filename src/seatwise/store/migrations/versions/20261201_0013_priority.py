"""Zone and table priority (fill the main room before the bar).

`zones.priority` (0..100, default 0) and `dining_tables.priority` (0..100, NULL: the
zone's). Written and read with the other fields of the venue; the planner ranks by
it after wasted seats and table count.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01
"""

from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE zones ADD COLUMN priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 100)")
    op.execute("ALTER TABLE dining_tables ADD COLUMN priority integer CHECK (priority BETWEEN 0 AND 100)")


def downgrade() -> None:
    op.execute("ALTER TABLE dining_tables DROP COLUMN priority")
    op.execute("ALTER TABLE zones DROP COLUMN priority")
