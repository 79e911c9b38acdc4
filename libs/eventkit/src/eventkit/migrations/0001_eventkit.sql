-- eventkit: the event store (which is also the outbox), reader checkpoints, the inbox,
-- and optional snapshots. Applied into each service's database/schema.

CREATE TABLE IF NOT EXISTS events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- xid8 of the writing transaction: readers only take rows whose transaction is older
    -- than every transaction still running (ARCHITECTURE §4), so none is ever skipped.
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    envelope        jsonb       NOT NULL,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS events_tx_pos_idx ON events (transaction_id, global_position);

-- Appends are one round trip: this function checks the expected version, inserts the batch
-- and returns the positions; a retried batch (same event ids) returns the original positions.
CREATE OR REPLACE FUNCTION eventkit_append(
    p_stream_id text,
    p_expected integer,          -- NULL = any version (the stream is locked while appending)
    p_event_ids uuid[],
    p_event_types text[],
    p_schema_versions integer[],
    p_occurred_at timestamptz[],
    p_envelopes jsonb[]
) RETURNS TABLE (out_global_position bigint, out_stream_version integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_current integer;
    v_found integer;
    v_base integer;
BEGIN
    SELECT count(*) INTO v_found FROM events e WHERE e.event_id = ANY (p_event_ids);
    IF v_found > 0 THEN
        IF v_found = cardinality(p_event_ids) AND NOT EXISTS (
            SELECT 1 FROM events e
            WHERE e.event_id = ANY (p_event_ids) AND e.stream_id <> p_stream_id
        ) THEN
            RETURN QUERY SELECT e.global_position, e.stream_version FROM events e
                WHERE e.event_id = ANY (p_event_ids) ORDER BY e.stream_version;
            RETURN;
        END IF;
        RAISE EXCEPTION 'some of these event ids were already appended with other events'
            USING ERRCODE = 'BK002';
    END IF;

    IF p_expected IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('eventkit:' || p_stream_id, 0));
    END IF;
    SELECT coalesce(max(e.stream_version), 0) INTO v_current
        FROM events e WHERE e.stream_id = p_stream_id;
    IF p_expected IS NOT NULL AND v_current <> p_expected THEN
        RAISE EXCEPTION 'stream % is at version %, expected %', p_stream_id, v_current, p_expected
            USING ERRCODE = 'BK001', DETAIL = v_current::text;
    END IF;
    v_base := coalesce(p_expected, v_current);

    RETURN QUERY
    INSERT INTO events (stream_id, stream_version, event_id, event_type, schema_version,
                        occurred_at, envelope)
    SELECT p_stream_id, v_base + i,
           p_event_ids[i], p_event_types[i], p_schema_versions[i], p_occurred_at[i],
           jsonb_set(p_envelopes[i], '{stream_version}', to_jsonb(v_base + i))
    FROM generate_subscripts(p_event_ids, 1) AS i
    ORDER BY i
    RETURNING global_position, stream_version;
END;
$$;

CREATE TABLE IF NOT EXISTS reader_checkpoints (
    reader          text PRIMARY KEY,
    transaction_id  xid8   NOT NULL DEFAULT '0'::xid8,
    global_position bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS inbox (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE IF NOT EXISTS snapshots (
    stream_id      text PRIMARY KEY,
    stream_version integer NOT NULL,
    state          jsonb   NOT NULL,
    schema_version integer NOT NULL DEFAULT 1,
    taken_at       timestamptz NOT NULL DEFAULT now()
);
