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
    correlation_id  uuid        NOT NULL,
    -- the canonical JSON bytes of the envelope: exactly what goes to Kafka and, later, into
    -- the audit log's leaves; nothing re-encodes them on the way.
    envelope        bytea       NOT NULL,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS events_tx_pos_idx ON events (transaction_id, global_position);

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
