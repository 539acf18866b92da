"""A per-restaurant ledger version, and one-statement read probe.

`ledger_versions.version` is bumped by every transaction that changes a restaurant's
allocations, pacing usage or bookings (an unassigned booking's claim is read from
it), in that transaction: the triggers are deferred constraint triggers, so the bump
runs at commit, after every other lock the writer takes (the version row is the last
lock of docs/architecture.md's lock order, held only while the writer commits). A
transaction bumps it once however many rows it changes (`bumped_by` remembers the
transaction). An update that changes nothing (a slot lock refreshing equal limits)
does not bump.

A reader that saw version V before reading the ledger may keep what it computed
under V: any later write has a greater version, visible to every process as soon as
that write's commit is.

`seatwise_read_probe` authenticates a key and reads the restaurant's venue and
ledger versions in one self-contained statement (it sets the tenant itself, like
`seatwise_api_key`), so a cached answer costs one round trip and a revoked key is
refused at once. With a NULL hash (the platform admin key) only the versions are read.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from alembic import op

revision = "0010"
down_revision = "0009"  # main's head when this branch merged it
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ledger_versions (
            -- No foreign key: the deferred bump of a cascading restaurant delete
            -- would run after the restaurant is gone.
            restaurant_id uuid PRIMARY KEY,
            version       bigint NOT NULL CHECK (version > 1),
            bumped_by     xid8 NOT NULL
        );
        -- The API role reads its tenant's row; only the trigger function (owned by the
        -- schema owner, SECURITY DEFINER) writes, whichever role's transaction fired it
        -- (the API's, or a job's cross-tenant function), under the row's own tenant.
        ALTER TABLE ledger_versions ENABLE ROW LEVEL SECURITY;
        ALTER TABLE ledger_versions FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON ledger_versions
            USING (restaurant_id = seatwise_current_restaurant())
            WITH CHECK (restaurant_id = seatwise_current_restaurant());
        GRANT SELECT ON ledger_versions TO seatwise_app;

        CREATE FUNCTION seatwise_bump_ledger_version() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
        AS $$
        DECLARE
            rid uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.restaurant_id ELSE NEW.restaurant_id END;
            caller text := current_setting('seatwise.restaurant_id', true);
        BEGIN
            -- Under the row's tenant (a job's cross-tenant function has none), then
            -- the caller's setting back.
            PERFORM set_config('seatwise.restaurant_id', rid::text, true);
            INSERT INTO ledger_versions AS v (restaurant_id, version, bumped_by)
            VALUES (rid, 2, pg_current_xact_id())
            ON CONFLICT (restaurant_id) DO UPDATE SET version = v.version + 1, bumped_by = EXCLUDED.bumped_by
                WHERE v.bumped_by <> EXCLUDED.bumped_by;
            PERFORM set_config('seatwise.restaurant_id', coalesce(caller, ''), true);
            RETURN NULL;
        END
        $$;

        CREATE CONSTRAINT TRIGGER ledger_version_rows AFTER INSERT OR DELETE ON allocations
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION seatwise_bump_ledger_version();
        CREATE CONSTRAINT TRIGGER ledger_version_changes AFTER UPDATE ON allocations
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
            EXECUTE FUNCTION seatwise_bump_ledger_version();
        CREATE CONSTRAINT TRIGGER ledger_version_rows AFTER INSERT OR DELETE ON pacing_usage
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION seatwise_bump_ledger_version();
        CREATE CONSTRAINT TRIGGER ledger_version_changes AFTER UPDATE ON pacing_usage
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
            EXECUTE FUNCTION seatwise_bump_ledger_version();

        CREATE CONSTRAINT TRIGGER ledger_version_rows AFTER INSERT OR DELETE ON bookings
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION seatwise_bump_ledger_version();
        CREATE CONSTRAINT TRIGGER ledger_version_changes AFTER UPDATE ON bookings
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
            EXECUTE FUNCTION seatwise_bump_ledger_version();

        CREATE FUNCTION seatwise_read_probe(p_restaurant uuid, p_hash text)
            RETURNS TABLE (key_found boolean, key_id uuid, role text, revoked_at timestamptz,
                           venue_version integer, ledger_version bigint)
            LANGUAGE plpgsql VOLATILE SECURITY INVOKER
        AS $$
        BEGIN
            PERFORM set_config('seatwise.restaurant_id', p_restaurant::text, true);
            RETURN QUERY
                SELECT k.id IS NOT NULL, k.id, k.role, k.revoked_at, r.venue_version, coalesce(v.version, 1)
                FROM (SELECT 1) AS one
                LEFT JOIN api_keys k ON p_hash IS NOT NULL AND k.restaurant_id = p_restaurant AND k.key_hash = p_hash
                LEFT JOIN restaurants r ON r.id = p_restaurant
                LEFT JOIN ledger_versions v ON v.restaurant_id = p_restaurant;
        END
        $$;
        GRANT EXECUTE ON FUNCTION seatwise_read_probe(uuid, text) TO seatwise_app;
        REVOKE ALL ON FUNCTION seatwise_bump_ledger_version() FROM PUBLIC;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION IF EXISTS seatwise_read_probe(uuid, text);
        DROP TRIGGER IF EXISTS ledger_version_rows ON allocations;
        DROP TRIGGER IF EXISTS ledger_version_changes ON allocations;
        DROP TRIGGER IF EXISTS ledger_version_rows ON pacing_usage;
        DROP TRIGGER IF EXISTS ledger_version_changes ON pacing_usage;
        DROP TRIGGER IF EXISTS ledger_version_rows ON bookings;
        DROP TRIGGER IF EXISTS ledger_version_changes ON bookings;
        DROP FUNCTION IF EXISTS seatwise_bump_ledger_version();
        DROP TABLE IF EXISTS ledger_versions;
        """
    )
