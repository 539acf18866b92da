"""Pinned bookings, and table swaps checked at commit (DESIGN §13).

`bookings.pinned`: a pinned booking keeps its tables; re-seating and the optimizer
never move it (nor a seated one). Staff assignment and a request naming tables pin;
`holds.pinned` carries a hold's named tables to the booking it is confirmed into.

`allocations_no_overlap` becomes DEFERRABLE INITIALLY IMMEDIATE: every write keeps
the check at each statement, as before, except a transaction that swaps tables
between bookings (re-seating, optimize, import), which runs
`SET CONSTRAINTS allocations_no_overlap DEFERRED` and is checked once, at its
commit: an overlap still left then fails the commit and nothing is written.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE bookings ADD COLUMN pinned boolean NOT NULL DEFAULT false;
        ALTER TABLE holds ADD COLUMN pinned boolean NOT NULL DEFAULT false;
        ALTER TABLE allocations DROP CONSTRAINT allocations_no_overlap;
        ALTER TABLE allocations ADD CONSTRAINT allocations_no_overlap
            EXCLUDE USING gist (restaurant_id WITH =, table_id WITH =, during WITH &&)
            DEFERRABLE INITIALLY IMMEDIATE;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE allocations DROP CONSTRAINT allocations_no_overlap;
        ALTER TABLE allocations ADD CONSTRAINT allocations_no_overlap
            EXCLUDE USING gist (restaurant_id WITH =, table_id WITH =, during WITH &&);
        ALTER TABLE holds DROP COLUMN pinned;
        ALTER TABLE bookings DROP COLUMN pinned;
        """
    )
