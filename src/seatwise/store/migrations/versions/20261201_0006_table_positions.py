"""Floor-plan positions of tables: optional x, y, width, height and shape.

One nullable jsonb column, written and read whole with the table's other fields;
NULL means the dashboard lays the table out automatically.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """ALTER TABLE dining_tables ADD COLUMN position jsonb
           CHECK (position IS NULL OR jsonb_typeof(position) = 'object')"""
    )


def downgrade() -> None:
    op.execute("ALTER TABLE dining_tables DROP COLUMN position")
