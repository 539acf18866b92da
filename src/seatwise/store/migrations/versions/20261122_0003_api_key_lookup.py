"""One-statement API key lookup.

Authentication runs on every request. As a function that sets the tenant and reads
the key in one statement, it needs one round trip in autocommit mode instead of a
transaction of three. SECURITY INVOKER: row-level security applies as usual, and
the setting is transaction-local, so it ends with the statement.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION seatwise_api_key(p_restaurant uuid, p_hash text)
            RETURNS TABLE (id uuid, role text, revoked_at timestamptz)
            LANGUAGE plpgsql VOLATILE SECURITY INVOKER
        AS $$
        BEGIN
            PERFORM set_config('seatwise.restaurant_id', p_restaurant::text, true);
            RETURN QUERY
                SELECT k.id, k.role, k.revoked_at FROM api_keys k
                WHERE k.restaurant_id = p_restaurant AND k.key_hash = p_hash;
        END
        $$;
        GRANT EXECUTE ON FUNCTION seatwise_api_key(uuid, text) TO seatwise_app;
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS seatwise_api_key(uuid, text)")
