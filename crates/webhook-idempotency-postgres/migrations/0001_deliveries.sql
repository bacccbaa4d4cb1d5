-- One row per idempotency key: a claim (token set, record null, expires_at the lease's
-- end) or a record (token null, record set, expires_at the retention's end).
CREATE TABLE IF NOT EXISTS {schema}.deliveries (
    key text PRIMARY KEY,
    token bytea,
    record bytea,
    expires_at timestamptz NOT NULL
);

-- The cleanup deletes expired rows in batches, oldest first.
CREATE INDEX IF NOT EXISTS deliveries_expires_at ON {schema}.deliveries (expires_at);

-- The inbox's first statement: takes the key's transaction-scoped advisory lock
-- without waiting, then reads the key. A function, so the read takes its snapshot
-- after the lock is held and sees a record committed by the previous holder.
CREATE OR REPLACE FUNCTION {schema}.inbox_begin(p_key text, p_lock bigint)
RETURNS TABLE (held boolean, record bytea, remaining_ms bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(p_lock) THEN
        RETURN QUERY SELECT false, NULL::bytea, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY
        SELECT true, d.record,
               CASE WHEN d.key IS NULL THEN NULL
                    ELSE greatest(0, ceil(extract(epoch FROM d.expires_at - now()) * 1000))::bigint END
        FROM (SELECT 1) AS one
        LEFT JOIN {schema}.deliveries AS d ON d.key = p_key AND d.expires_at > now();
END
$$;
