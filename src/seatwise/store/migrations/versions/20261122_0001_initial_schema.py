"""Initial schema: the whole domain of DESIGN §2, row-level security, the app role.

Every tenant table carries `restaurant_id`; every primary key, unique and exclusion
constraint and every foreign key between tenant tables includes it, so the schema
stays distributable by tenant (docs/scale-out.md). `restaurants` itself is keyed by
`id` and would be a Citus reference table.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TENANT_TABLES = (
    "zones",
    "dining_tables",
    "adjacency",
    "policies",
    "bookings",
    "booking_tables",
    "holds",
    "blocks",
    "allocations",
    "pacing_usage",
    "booking_confirmation_results",
    "outbox",
    "allocations_archive",
    "api_keys",
)

SCHEMA = r"""
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The restaurant whose rows the current transaction may see (NULL: none).
CREATE FUNCTION seatwise_current_restaurant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('seatwise.restaurant_id', true), '')::uuid $$;

CREATE TABLE restaurants (
    id              uuid PRIMARY KEY,
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone        text NOT NULL,
    slot_minutes    integer NOT NULL CHECK (slot_minutes BETWEEN 5 AND 120),
    venue_version   integer NOT NULL DEFAULT 1 CHECK (venue_version > 0),
    policy_version  text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE zones (
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    key             text NOT NULL,
    name            text NOT NULL,
    position        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (restaurant_id, key)
);

CREATE TABLE dining_tables (
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    label           text NOT NULL CHECK (length(label) BETWEEN 1 AND 40),
    zone_key        text NOT NULL,
    seats           integer NOT NULL CHECK (seats > 0),
    min_party       integer NOT NULL DEFAULT 1,
    max_party       integer NOT NULL,
    movable         boolean NOT NULL DEFAULT true,
    active          boolean NOT NULL DEFAULT true,
    retired_at      timestamptz,  -- removed from the venue; kept for the ledger's history
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, label),
    FOREIGN KEY (restaurant_id, zone_key) REFERENCES zones (restaurant_id, key) ON UPDATE CASCADE,
    CHECK (1 <= min_party AND min_party <= max_party)
);

CREATE TABLE adjacency (
    restaurant_id   uuid NOT NULL,
    table_a         bigint NOT NULL,
    table_b         bigint NOT NULL,
    PRIMARY KEY (restaurant_id, table_a, table_b),
    FOREIGN KEY (restaurant_id, table_a) REFERENCES dining_tables (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, table_b) REFERENCES dining_tables (restaurant_id, id) ON DELETE CASCADE,
    CHECK (table_a < table_b)
);

-- Versioned policy: one row per distinct canonical policy, keyed by its hash.
CREATE TABLE policies (
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    version         text NOT NULL,
    document        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, version)
);

CREATE TABLE bookings (
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    status          text NOT NULL CHECK (status IN
                        ('pending', 'confirmed', 'seated', 'completed', 'cancelled', 'no_show')),
    party_size      integer NOT NULL CHECK (party_size > 0),
    start_at        timestamptz NOT NULL,          -- the guest's start
    block_start     timestamptz NOT NULL,          -- start minus buffer before
    end_at          timestamptz NOT NULL,          -- tables free again (block end)
    slot_start      timestamptz NOT NULL,          -- pacing slot counted against
    service_date    date NOT NULL,                 -- local date the service started
    service_name    text NOT NULL,
    guest_name      text NOT NULL CHECK (length(guest_name) BETWEEN 1 AND 200),
    guest_phone     text CHECK (length(guest_phone) <= 40),
    guest_email     text CHECK (length(guest_email) <= 254),
    notes           text CHECK (length(notes) <= 2000),
    channel         text,
    created_by_key  uuid,
    allow_slack     boolean NOT NULL DEFAULT false,
    policy_version  text NOT NULL,
    idempotency_key text,
    request_hash    text,
    hold_id         uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, idempotency_key),
    CHECK (block_start <= start_at AND start_at < end_at)
);
CREATE INDEX bookings_by_date ON bookings (restaurant_id, service_date);

-- The tables a booking is assigned to (kept after the booking stops occupying them).
CREATE TABLE booking_tables (
    restaurant_id   uuid NOT NULL,
    booking_id      uuid NOT NULL,
    table_id        bigint NOT NULL,
    PRIMARY KEY (restaurant_id, booking_id, table_id),
    FOREIGN KEY (restaurant_id, booking_id) REFERENCES bookings (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, table_id) REFERENCES dining_tables (restaurant_id, id)
);

CREATE TABLE holds (
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    party_size      integer NOT NULL CHECK (party_size > 0),
    start_at        timestamptz NOT NULL,
    block_start     timestamptz NOT NULL,
    end_at          timestamptz NOT NULL,
    slot_start      timestamptz NOT NULL,
    service_date    date NOT NULL,
    service_name    text NOT NULL,
    expires_at      timestamptz NOT NULL,
    -- An expired hold's covers were subtracted from pacing_usage. The row itself
    -- stays until the sweeper's grace period ends, so a late confirm learns
    -- HOLD_EXPIRED rather than NOT_FOUND.
    pacing_released boolean NOT NULL DEFAULT false,
    policy_version  text NOT NULL,
    created_by_key  uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, id),
    CHECK (block_start <= start_at AND start_at < end_at)
);
CREATE INDEX holds_by_expiry ON holds (restaurant_id, expires_at);
CREATE INDEX holds_by_slot ON holds (restaurant_id, slot_start);

-- Staff blocks: tables out of service for an interval.
CREATE TABLE blocks (
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    start_at        timestamptz NOT NULL,
    end_at          timestamptz NOT NULL,
    reason          text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, id),
    CHECK (start_at < end_at)
);

-- The ledger. Every row occupies its table over `during`; the exclusion constraint
-- is what makes double booking impossible.
CREATE TABLE allocations (
    restaurant_id   uuid NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    table_id        bigint NOT NULL,
    during          tstzrange NOT NULL CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)),
    booking_id      uuid,
    hold_id         uuid,
    block_id        uuid,
    expires_at      timestamptz,   -- holds only: occupies nothing from this instant
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, table_id) REFERENCES dining_tables (restaurant_id, id),
    FOREIGN KEY (restaurant_id, booking_id) REFERENCES bookings (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, hold_id) REFERENCES holds (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, block_id) REFERENCES blocks (restaurant_id, id) ON DELETE CASCADE,
    CHECK (num_nonnulls(booking_id, hold_id, block_id) = 1),
    CHECK ((hold_id IS NULL) = (expires_at IS NULL)),
    CONSTRAINT allocations_no_overlap
        EXCLUDE USING gist (restaurant_id WITH =, table_id WITH =, during WITH &&)
);
-- A restaurant-day of allocations is read through this B-tree, not the GiST index.
CREATE INDEX allocations_by_day ON allocations (restaurant_id, lower(during))
    INCLUDE (table_id, during, booking_id, hold_id, block_id, expires_at);
CREATE INDEX allocations_by_booking ON allocations (restaurant_id, booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX allocations_by_hold ON allocations (restaurant_id, hold_id) WHERE hold_id IS NOT NULL;
CREATE INDEX allocations_by_block ON allocations (restaurant_id, block_id) WHERE block_id IS NOT NULL;

-- Covers and parties starting per slot. The limits are copied from the policy on
-- every write, and the CHECKs make exceeding them impossible.
CREATE TABLE pacing_usage (
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    slot_start      timestamptz NOT NULL,
    covers          integer NOT NULL DEFAULT 0 CHECK (covers >= 0),
    parties         integer NOT NULL DEFAULT 0 CHECK (parties >= 0),
    max_covers      integer CHECK (max_covers > 0),
    max_parties     integer CHECK (max_parties > 0),
    PRIMARY KEY (restaurant_id, slot_start),
    CONSTRAINT pacing_covers_within_limit CHECK (max_covers IS NULL OR covers <= max_covers),
    CONSTRAINT pacing_parties_within_limit CHECK (max_parties IS NULL OR parties <= max_parties)
);

CREATE TABLE booking_confirmation_results (
    restaurant_id   uuid NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    booking_id      uuid NOT NULL,
    hold_id         uuid NOT NULL,
    idempotency_key text,
    table_ids       bigint[] NOT NULL,
    during          tstzrange NOT NULL,
    actor           text NOT NULL,
    confirmed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, hold_id),
    UNIQUE (restaurant_id, idempotency_key),
    FOREIGN KEY (restaurant_id, booking_id) REFERENCES bookings (restaurant_id, id) ON DELETE CASCADE
);

CREATE TABLE outbox (
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    event           text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    relayed_at      timestamptz,
    PRIMARY KEY (restaurant_id, id)
);
CREATE INDEX outbox_pending ON outbox (restaurant_id, id) WHERE relayed_at IS NULL;

CREATE TABLE allocations_archive (
    restaurant_id   uuid NOT NULL,
    id              bigint NOT NULL,
    table_id        bigint NOT NULL,
    during          tstzrange NOT NULL,
    booking_id      uuid,
    hold_id         uuid,
    block_id        uuid,
    expires_at      timestamptz,
    created_at      timestamptz NOT NULL,
    archived_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, id)
);

CREATE TABLE api_keys (
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    role            text NOT NULL CHECK (role IN ('staff', 'channel')),
    key_hash        text NOT NULL,   -- sha256 of the whole key; the key itself is never stored
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, key_hash)
);
"""


def _security_sql() -> str:
    statements = [
        """
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'seatwise_app') THEN
                CREATE ROLE seatwise_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
        END $$
        """,
        "GRANT USAGE ON SCHEMA public TO seatwise_app",
        "GRANT EXECUTE ON FUNCTION seatwise_current_restaurant() TO seatwise_app",
        "ALTER TABLE restaurants ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE restaurants FORCE ROW LEVEL SECURITY",
        """CREATE POLICY tenant_isolation ON restaurants
               USING (id = seatwise_current_restaurant())
               WITH CHECK (id = seatwise_current_restaurant())""",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON restaurants TO seatwise_app",
    ]
    for table in TENANT_TABLES:
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"""CREATE POLICY tenant_isolation ON {table}
                   USING (restaurant_id = seatwise_current_restaurant())
                   WITH CHECK (restaurant_id = seatwise_current_restaurant())""",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO seatwise_app",
        ]
    return ";\n".join(statements)


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(_security_sql())


def downgrade() -> None:
    for table in reversed(("restaurants", *TENANT_TABLES)):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS seatwise_current_restaurant()")
