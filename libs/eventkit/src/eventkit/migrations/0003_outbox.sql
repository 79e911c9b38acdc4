-- eventkit: what an operator needs about the outbox relay (`python -m eventkit outbox ...`).

-- The event a relay cannot publish, while it cannot (one row per relay; deleted once the
-- event is published or skipped). Written by the relay so the CLI can show it.
CREATE TABLE IF NOT EXISTS outbox_blocked (
    relay           text PRIMARY KEY,
    global_position bigint      NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    bytes           integer     NOT NULL,
    reason          text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 1,
    since           timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz NOT NULL DEFAULT now()
);

-- Events an operator told a relay to pass over (`outbox skip`): who, why, when. The event
-- itself stays in `events` (append-only); the relay advances its checkpoint past it and
-- never publishes it.
CREATE TABLE IF NOT EXISTS outbox_skips (
    relay           text        NOT NULL,
    global_position bigint      NOT NULL,
    transaction_id  xid8        NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    bytes           integer     NOT NULL,
    reason          text        NOT NULL CHECK (reason <> ''),
    skipped_by      text        NOT NULL CHECK (skipped_by <> ''),
    skipped_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (relay, global_position)
);
