"""The public guest page: a hold's client address, and a restaurant found by its slug.

`holds.client_address` records the address a hold was taken from through the guest
page (NULL for API holds), so the page can keep one address to a few live holds per
restaurant; the partial index serves that count.

`seatwise_restaurant_by_slug` answers "which restaurant is this slug" before any
tenant is known. Row-level security hides every restaurant from a transaction
without a tenant, so the lookup is a SECURITY DEFINER function, owned by the schema
owner, that returns only the id (slugs are public: they are the page's address).
The API role gets EXECUTE on it and nothing more.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE holds ADD COLUMN client_address inet;
        CREATE INDEX holds_by_client ON holds (restaurant_id, client_address, expires_at)
            WHERE client_address IS NOT NULL;

        CREATE FUNCTION seatwise_restaurant_by_slug(p_slug text) RETURNS uuid
            LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public
        AS $$ SELECT r.id FROM public.restaurants r WHERE r.slug = p_slug $$;
        REVOKE ALL ON FUNCTION seatwise_restaurant_by_slug(text) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION seatwise_restaurant_by_slug(text) TO seatwise_app;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION IF EXISTS seatwise_restaurant_by_slug(text);
        DROP INDEX IF EXISTS holds_by_client;
        ALTER TABLE holds DROP COLUMN IF EXISTS client_address;
        """
    )
