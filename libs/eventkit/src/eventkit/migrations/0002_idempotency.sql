-- eventkit: the Idempotency-Key store (eventkit.idempotency). A retried POST finds its key
-- here and gets the first response back; the row is written in the same transaction as the
-- command's events, so "events appended" and "response remembered" commit together.

CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope         text        NOT NULL,   -- who may reuse the key (e.g. 'intake:<subject>')
    key           text        NOT NULL,   -- the client's Idempotency-Key header
    request_hash  text        NOT NULL,   -- SHA-256 of method, path and the validated body
    status_code   integer     NOT NULL,
    response      bytea       NOT NULL,   -- the exact JSON bytes first returned
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_idx ON idempotency_keys (created_at);
