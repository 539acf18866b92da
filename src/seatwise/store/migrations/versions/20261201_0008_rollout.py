"""Rollout (DESIGN §12): unassigned, shadow and imported bookings; holds remember
the venue version they were planned on.

- `bookings.unassigned`: an occupying booking with no tables. It occupies no table
  but keeps its claim: the partial index lets every ledger read find the claims of
  a window in the same statement as the allocations.
- `bookings.pacing_counted`: whether the party is counted in `pacing_usage`. A
  shadow booking that pacing refused is not (the CHECKs are never bent), so cancelling
  it gives nothing back.
- `bookings.overbooked`, `would_refuse`: a shadow booking and the refusal it would
  have got under enforcement.
- `bookings.external_ref`, `import_outcome`, `import_reason`: an imported row's
  reference (unique: a re-import is idempotent) and what the import did with it.
- `holds.venue_version`: a confirm after a venue change re-validates the hold.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE bookings
            ADD COLUMN unassigned boolean NOT NULL DEFAULT false,
            ADD COLUMN pacing_counted boolean NOT NULL DEFAULT true,
            ADD COLUMN overbooked boolean NOT NULL DEFAULT false,
            ADD COLUMN would_refuse text CHECK (length(would_refuse) <= 40),
            ADD COLUMN external_ref text CHECK (length(external_ref) BETWEEN 1 AND 200),
            ADD COLUMN import_outcome text CHECK (import_outcome IN ('placed', 'planned', 'unassigned')),
            ADD COLUMN import_reason text CHECK (length(import_reason) <= 500),
            ADD CONSTRAINT bookings_external_ref_key UNIQUE (restaurant_id, external_ref);
        CREATE INDEX bookings_unassigned ON bookings (restaurant_id, block_start)
            INCLUDE (end_at, party_size, created_at)
            WHERE unassigned AND status IN ('pending', 'confirmed', 'seated');
        ALTER TABLE holds ADD COLUMN venue_version integer;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE holds DROP COLUMN venue_version;
        DROP INDEX bookings_unassigned;
        ALTER TABLE bookings DROP CONSTRAINT bookings_external_ref_key,
            DROP COLUMN import_reason, DROP COLUMN import_outcome, DROP COLUMN external_ref,
            DROP COLUMN would_refuse, DROP COLUMN overbooked, DROP COLUMN pacing_counted,
            DROP COLUMN unassigned;
        """
    )
