"""Background jobs (procrastinate) and webhooks (DESIGN §10).

- procrastinate's own schema, as shipped by the pinned package (`procrastinate/sql/
  schema.sql`). Upgrading procrastinate means a new migration applying its
  migration files for the versions in between.
- `seatwise_jobs`: the workers' login. Neither superuser nor BYPASSRLS, like the
  API's `seatwise_app`. It owns nothing and reads no tenant table directly: it may use
  procrastinate's tables and EXECUTE the few SECURITY DEFINER functions below, each
  doing exactly one cross-tenant job (find tenants with due holds, archive a batch,
  prune a batch, fan the outbox out, claim due deliveries). `seatwise_app` may not
  execute them, so the API's row-level security is never relaxed.
- Webhooks, their per-event deliveries (the state of one event for one webhook) and
  the attempt log. Secrets are stored sealed (encrypted by the application with a
  key the database never sees).

Revision ID: 0005
Revises: 0007
Create Date: 2026-12-01
"""

from importlib import resources

from alembic import op

revision = "0005"
down_revision = "0007"  # re-chained after main's 0006, 0007
branch_labels = None
depends_on = None

JOBS_ROLE = "seatwise_jobs"

SCHEMA = r"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'seatwise_jobs') THEN
        CREATE ROLE seatwise_jobs LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END $$;
GRANT USAGE ON SCHEMA public TO seatwise_jobs;

-- The sweeper announces each expired hold once (hold.expired), then deletes it after
-- the grace period.
ALTER TABLE holds ADD COLUMN expiry_announced boolean NOT NULL DEFAULT false;
CREATE INDEX holds_expiring ON holds (expires_at) INCLUDE (restaurant_id);

-- Archival and retention scan across tenants by age.
CREATE INDEX allocations_by_end ON allocations (upper(during));
CREATE INDEX confirmations_by_age ON booking_confirmation_results (confirmed_at);
CREATE INDEX bookings_idempotency_by_age ON bookings (created_at) WHERE idempotency_key IS NOT NULL;
CREATE INDEX outbox_unrelayed ON outbox (id) WHERE relayed_at IS NULL;
CREATE INDEX outbox_relayed_by_age ON outbox (relayed_at) WHERE relayed_at IS NOT NULL;

CREATE TABLE webhooks (
    restaurant_id   uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    url             text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    events          text[] NOT NULL CHECK (cardinality(events) > 0),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    secret_sealed   text NOT NULL,  -- Fernet token of the secret; the key is not in the database
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, id)
);

-- One event for one webhook: the delivery's current state. `attempts` counts the
-- attempts claimed so far; a claim increments it in the claiming transaction, so two
-- workers never make the same attempt.
CREATE TABLE webhook_deliveries (
    restaurant_id   uuid NOT NULL,
    webhook_id      uuid NOT NULL,
    event_id        bigint NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'retrying', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, webhook_id, event_id),
    FOREIGN KEY (restaurant_id, webhook_id) REFERENCES webhooks (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, event_id) REFERENCES outbox (restaurant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'retrying');

-- The delivery log: one row per attempt made. The unique key is the proof that no
-- attempt is ever made twice.
CREATE TABLE webhook_attempts (
    restaurant_id   uuid NOT NULL,
    id              bigint GENERATED ALWAYS AS IDENTITY,
    webhook_id      uuid NOT NULL,
    event_id        bigint NOT NULL,
    event_type      text NOT NULL,
    attempt         integer NOT NULL CHECK (attempt >= 1),
    status          text NOT NULL CHECK (status IN ('delivered', 'retrying', 'dead')),
    response_status integer,
    error           text,
    duration_ms     integer NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, webhook_id, event_id, attempt),
    FOREIGN KEY (restaurant_id, webhook_id, event_id)
        REFERENCES webhook_deliveries (restaurant_id, webhook_id, event_id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_recent ON webhook_attempts (restaurant_id, webhook_id, at DESC);

-- Restaurants with holds the sweeper must announce or delete.
CREATE FUNCTION seatwise_tenants_with_due_holds(p_now timestamptz, p_grace interval)
    RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT DISTINCT h.restaurant_id FROM holds h
    WHERE h.expires_at <= p_now AND (NOT h.expiry_announced OR h.expires_at <= p_now - p_grace)
$$;

-- Move one batch of allocations that ended before `p_cutoff` to the archive. One
-- statement, so one transaction: the rows copied are exactly the rows deleted.
CREATE FUNCTION seatwise_archive_allocations(p_cutoff timestamptz, p_batch integer)
    RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH batch AS (
        SELECT a.restaurant_id, a.id FROM allocations a
        WHERE upper(a.during) < p_cutoff
        ORDER BY upper(a.during)  -- the index order: a batch reads only its own rows
        LIMIT p_batch FOR UPDATE SKIP LOCKED),
    gone AS (
        DELETE FROM allocations a USING batch
        WHERE a.restaurant_id = batch.restaurant_id AND a.id = batch.id
        RETURNING a.*),
    copied AS (
        INSERT INTO allocations_archive (restaurant_id, id, table_id, during, booking_id, hold_id,
                                         block_id, expires_at, created_at)
        SELECT restaurant_id, id, table_id, during, booking_id, hold_id, block_id, expires_at, created_at
        FROM gone
        RETURNING 1)
    SELECT count(*)::integer FROM copied
$$;

CREATE FUNCTION seatwise_prune_confirmations(p_before timestamptz, p_batch integer)
    RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH batch AS (
        SELECT restaurant_id, id FROM booking_confirmation_results
        WHERE confirmed_at < p_before ORDER BY confirmed_at LIMIT p_batch FOR UPDATE SKIP LOCKED),
    gone AS (
        DELETE FROM booking_confirmation_results c USING batch
        WHERE c.restaurant_id = batch.restaurant_id AND c.id = batch.id RETURNING 1)
    SELECT count(*)::integer FROM gone
$$;

-- A booking's Idempotency-Key (and the hash of the request it came with) is the
-- request's idempotency record: past its retention the key may be used afresh.
CREATE FUNCTION seatwise_prune_idempotency_keys(p_before timestamptz, p_batch integer)
    RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH batch AS (
        SELECT restaurant_id, id FROM bookings
        WHERE idempotency_key IS NOT NULL AND created_at < p_before
        ORDER BY created_at LIMIT p_batch FOR UPDATE SKIP LOCKED),
    cleared AS (
        UPDATE bookings b SET idempotency_key = NULL, request_hash = NULL FROM batch
        WHERE b.restaurant_id = batch.restaurant_id AND b.id = batch.id RETURNING 1)
    SELECT count(*)::integer FROM cleared
$$;

-- Relayed outbox events past retention, with their deliveries and attempt log.
CREATE FUNCTION seatwise_prune_outbox(p_before timestamptz, p_batch integer)
    RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH batch AS (
        SELECT o.restaurant_id, o.id FROM outbox o
        WHERE o.relayed_at IS NOT NULL AND o.relayed_at < p_before
          AND NOT EXISTS (SELECT FROM webhook_deliveries d WHERE d.restaurant_id = o.restaurant_id
                          AND d.event_id = o.id AND d.status IN ('pending', 'retrying'))
        ORDER BY o.relayed_at LIMIT p_batch FOR UPDATE SKIP LOCKED),
    gone AS (
        DELETE FROM outbox o USING batch
        WHERE o.restaurant_id = batch.restaurant_id AND o.id = batch.id RETURNING 1)
    SELECT count(*)::integer FROM gone
$$;

-- Fan a batch of unrelayed outbox events out to the webhooks subscribed to them (a
-- webhook gets the events written after it was created), and mark them relayed.
CREATE FUNCTION seatwise_fanout_outbox(p_batch integer)
    RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH events AS (
        SELECT o.restaurant_id, o.id, o.event, o.created_at FROM outbox o
        WHERE o.relayed_at IS NULL ORDER BY o.id LIMIT p_batch FOR UPDATE SKIP LOCKED),
    fanned AS (
        INSERT INTO webhook_deliveries (restaurant_id, webhook_id, event_id, status, attempts, next_attempt_at)
        SELECT e.restaurant_id, w.id, e.id, 'pending', 0, now()
        FROM events e JOIN webhooks w ON w.restaurant_id = e.restaurant_id
            AND (e.event = ANY (w.events) OR '*' = ANY (w.events)) AND w.created_at <= e.created_at
        ON CONFLICT DO NOTHING
        RETURNING 1),
    marked AS (
        UPDATE outbox o SET relayed_at = now() FROM events e
        WHERE o.restaurant_id = e.restaurant_id AND o.id = e.id RETURNING 1)
    SELECT count(*)::integer FROM marked
$$;

-- Claim up to `p_batch` due deliveries: each claim is the next attempt, counted
-- here, and leased until `p_lease` from now (a worker that dies mid-attempt leaves
-- the delivery to be claimed again, as a new attempt, when the lease ends).
-- Deliveries whose last attempt was claimed but never recorded end dead.
CREATE FUNCTION seatwise_claim_deliveries(p_batch integer, p_lease interval, p_max_attempts integer)
    RETURNS TABLE (restaurant_id uuid, webhook_id uuid, event_id bigint, attempt integer, url text,
                   secret_sealed text, event text, payload jsonb, created_at timestamptz)
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    WITH abandoned AS (
        UPDATE webhook_deliveries d SET status = 'dead', updated_at = now()
        WHERE d.status IN ('pending', 'retrying') AND d.next_attempt_at <= now()
          AND d.attempts >= p_max_attempts
        RETURNING 1),
    due AS (
        SELECT d.restaurant_id, d.webhook_id, d.event_id FROM webhook_deliveries d
        WHERE d.status IN ('pending', 'retrying') AND d.next_attempt_at <= now()
          AND d.attempts < p_max_attempts
        ORDER BY d.next_attempt_at LIMIT p_batch FOR UPDATE SKIP LOCKED),
    claimed AS (
        UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + p_lease,
            updated_at = now()
        FROM due WHERE d.restaurant_id = due.restaurant_id AND d.webhook_id = due.webhook_id
            AND d.event_id = due.event_id
        RETURNING d.restaurant_id, d.webhook_id, d.event_id, d.attempts)
    SELECT c.restaurant_id, c.webhook_id, c.event_id, c.attempts, w.url, w.secret_sealed,
           o.event, o.payload, o.created_at
    FROM claimed c
    JOIN webhooks w ON w.restaurant_id = c.restaurant_id AND w.id = c.webhook_id
    JOIN outbox o ON o.restaurant_id = c.restaurant_id AND o.id = c.event_id
$$;

-- Aggregates for /metrics: no tenant rows, only counts and ages.
CREATE FUNCTION seatwise_backlog_stats(p_hold_grace interval)
    RETURNS TABLE (oldest_unrelayed_seconds double precision, oldest_undelivered_seconds double precision,
                   pending integer, retrying integer, dead integer, stuck_holds integer)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT
        (SELECT extract(epoch FROM now() - min(o.created_at))::double precision
         FROM outbox o WHERE o.relayed_at IS NULL),
        (SELECT extract(epoch FROM now() - min(o.created_at))::double precision
         FROM webhook_deliveries d JOIN outbox o ON o.restaurant_id = d.restaurant_id AND o.id = d.event_id
         WHERE d.status IN ('pending', 'retrying')),
        (SELECT count(*)::integer FROM webhook_deliveries WHERE status = 'pending'),
        (SELECT count(*)::integer FROM webhook_deliveries WHERE status = 'retrying'),
        (SELECT count(*)::integer FROM webhook_deliveries WHERE status = 'dead'),
        (SELECT count(*)::integer FROM holds WHERE expires_at < now() - p_hold_grace)
$$;
"""

JOB_FUNCTIONS = (
    "seatwise_tenants_with_due_holds(timestamptz, interval)",
    "seatwise_archive_allocations(timestamptz, integer)",
    "seatwise_prune_confirmations(timestamptz, integer)",
    "seatwise_prune_idempotency_keys(timestamptz, integer)",
    "seatwise_prune_outbox(timestamptz, integer)",
    "seatwise_fanout_outbox(integer)",
    "seatwise_claim_deliveries(integer, interval, integer)",
    "seatwise_backlog_stats(interval)",
)
WEBHOOK_TABLES = ("webhooks", "webhook_deliveries", "webhook_attempts")


def _procrastinate_schema() -> str:
    return (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")


def _grants() -> list[str]:
    statements = []
    for fn in JOB_FUNCTIONS:
        statements += [f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC", f"GRANT EXECUTE ON FUNCTION {fn} TO {JOBS_ROLE}"]
    # The API reads the jobs' aggregate backlog for /metrics; nothing else of these.
    statements.append("GRANT EXECUTE ON FUNCTION seatwise_backlog_stats(interval) TO seatwise_app")
    for table in WEBHOOK_TABLES:
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"""CREATE POLICY tenant_isolation ON {table}
                   USING (restaurant_id = seatwise_current_restaurant())
                   WITH CHECK (restaurant_id = seatwise_current_restaurant())""",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO seatwise_app",
        ]
    statements += [
        f"""GRANT SELECT, INSERT, UPDATE, DELETE ON procrastinate_jobs, procrastinate_events,
               procrastinate_periodic_defers, procrastinate_workers TO {JOBS_ROLE}""",
        f"""GRANT USAGE, SELECT ON SEQUENCE procrastinate_jobs_id_seq, procrastinate_events_id_seq,
               procrastinate_periodic_defers_id_seq, procrastinate_workers_id_seq TO {JOBS_ROLE}""",
    ]
    return statements


def upgrade() -> None:
    # The raw psycopg connection of this migration's transaction: procrastinate's SQL
    # is run as shipped (no bind-parameter parsing of its text).
    driver = op.get_bind().connection.driver_connection
    if driver is None:
        raise RuntimeError("no DBAPI connection under the migration")
    driver.execute(_procrastinate_schema())
    driver.execute(SCHEMA)
    for statement in _grants():
        driver.execute(statement)


def downgrade() -> None:
    for fn in JOB_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    for table in reversed(WEBHOOK_TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DROP INDEX IF EXISTS holds_expiring")
    op.execute("ALTER TABLE holds DROP COLUMN IF EXISTS expiry_announced")
    for index in (
        "allocations_by_end",
        "confirmations_by_age",
        "bookings_idempotency_by_age",
        "outbox_unrelayed",
        "outbox_relayed_by_age",
    ):
        op.execute(f"DROP INDEX IF EXISTS {index}")
    for table in ("events", "periodic_defers", "jobs", "workers"):
        op.execute(f"DROP TABLE IF EXISTS procrastinate_{table} CASCADE")
    for kind in ("job_to_defer_v1", "job_event_type", "job_status"):
        op.execute(f"DROP TYPE IF EXISTS procrastinate_{kind} CASCADE")
