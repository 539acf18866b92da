"""The ledger audit as a product feature: one SECURITY DEFINER function that lists
every finding across tenants (overlaps, pacing against the ledger, bookings whose
tables differ from their ledger rows, orphan allocations). Only the workers' role
and the schema owner may execute it; it returns ids and counts, never guest data.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

AUDIT = r"""
CREATE FUNCTION seatwise_ledger_audit() RETURNS TABLE (kind text, restaurant_id uuid, detail text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    -- Two live allocations overlapping on one table (the exclusion constraint's promise).
    SELECT 'overlap', a.restaurant_id, format('table %s: allocations %s and %s', a.table_id, a.id, b.id)
    FROM allocations a
    JOIN allocations b ON b.restaurant_id = a.restaurant_id AND b.table_id = a.table_id
         AND a.id < b.id AND a.during && b.during
    WHERE (a.expires_at IS NULL OR a.expires_at > now()) AND (b.expires_at IS NULL OR b.expires_at > now())
  UNION ALL
    -- Recorded pacing against what the ledger says, and against the limits.
    SELECT 'pacing', coalesce(p.restaurant_id, e.restaurant_id),
           format('slot %s: recorded %s covers / %s parties, ledger %s / %s, limits %s / %s',
                  coalesce(p.slot_start, e.slot_start), coalesce(p.covers, 0), coalesce(p.parties, 0),
                  coalesce(e.covers, 0), coalesce(e.parties, 0), p.max_covers, p.max_parties)
    FROM pacing_usage p
    FULL JOIN (
        SELECT x.restaurant_id, x.slot_start, sum(x.covers)::int AS covers, sum(x.parties)::int AS parties
        FROM (SELECT b.restaurant_id, b.slot_start, b.party_size AS covers, 1 AS parties FROM bookings b
              WHERE b.status IN ('pending', 'confirmed', 'seated', 'completed') AND b.pacing_counted
              UNION ALL
              SELECT h.restaurant_id, h.slot_start, h.party_size, 1 FROM holds h WHERE NOT h.pacing_released) x
        GROUP BY x.restaurant_id, x.slot_start
    ) e ON e.restaurant_id = p.restaurant_id AND e.slot_start = p.slot_start
    WHERE (coalesce(p.covers, 0), coalesce(p.parties, 0))
          IS DISTINCT FROM (coalesce(e.covers, 0), coalesce(e.parties, 0))
       OR p.covers > p.max_covers OR p.parties > p.max_parties
  UNION ALL
    -- A live booking whose assigned tables differ from its ledger rows.
    SELECT 'tables', b.restaurant_id, format('booking %s', b.id)
    FROM bookings b
    WHERE b.status IN ('pending', 'confirmed', 'seated')
      AND array(SELECT bt.table_id FROM booking_tables bt
                WHERE bt.restaurant_id = b.restaurant_id AND bt.booking_id = b.id ORDER BY 1)
          IS DISTINCT FROM
          array(SELECT a.table_id FROM allocations a
                WHERE a.restaurant_id = b.restaurant_id AND a.booking_id = b.id ORDER BY 1)
  UNION ALL
    -- An allocation held by a booking that no longer occupies, or by nothing.
    SELECT 'orphan', a.restaurant_id, format('allocation %s', a.id)
    FROM allocations a
    LEFT JOIN bookings b ON b.restaurant_id = a.restaurant_id AND b.id = a.booking_id
    WHERE (a.booking_id IS NOT NULL AND (b.id IS NULL OR b.status NOT IN ('pending', 'confirmed', 'seated')))
       OR (a.booking_id IS NULL AND a.hold_id IS NULL AND a.block_id IS NULL)
$$;
REVOKE ALL ON FUNCTION seatwise_ledger_audit() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION seatwise_ledger_audit() TO seatwise_jobs;
"""


def upgrade() -> None:
    op.execute(AUDIT)


def downgrade() -> None:
    op.execute("DROP FUNCTION seatwise_ledger_audit()")
