-- audit: the verifiable log (RFC 9162 Merkle tree over every event of every service).
--
-- `leaves` holds the canonical leaf bytes (the envelope with personal fields salt-hashed, or a
-- rejected-message record) plus envelope columns copied out of it for queries (what needs
-- looking into the payload -- item, staff, reasons -- is projected later into `leaf_facets`,
-- off the append path, see 0002); `nodes`
-- holds every complete-subtree hash (level 0 = the leaf hashes), so a proof is one query of
-- O(log n) rows. `tree_state` is the single row the one writer locks for each batch;
-- `consumer_offsets` are committed in the same transaction as the leaves (exactly-once append
-- without Kafka commits). Personal data lives beside the tree in `personal_data` and can be
-- erased without changing a leaf.
--
-- `leaves` and `nodes` are append-only: UPDATE and DELETE raise. A superuser can still get
-- round that (disable the triggers, session_replication_role = replica); the integrity check,
-- the signed checkpoints and the witnesses are what catch it.

CREATE TABLE IF NOT EXISTS leaves (
    idx            bigint      PRIMARY KEY,
    event_id       uuid        UNIQUE,          -- NULL for a rejected message
    leaf           bytea       NOT NULL,        -- the canonical leaf bytes (what is hashed)
    leaf_hash      bytea       NOT NULL,        -- SHA-256(0x00 || leaf)
    topic          text        NOT NULL,
    "partition"    integer     NOT NULL,
    "offset"       bigint      NOT NULL,
    event_type     text,
    stream_id      text,
    correlation_id uuid,
    occurred_at    timestamptz,
    actor_id       text,
    org_id         text,
    tier           text,
    status         text        NOT NULL CHECK (status IN ('accepted', 'rejected')),
    reject_reason  text,
    appended_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'accepted') = (event_id IS NOT NULL))
);

CREATE TABLE IF NOT EXISTS nodes (
    level smallint NOT NULL,
    idx   bigint   NOT NULL,
    hash  bytea    NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE IF NOT EXISTS tree_state (
    id         integer     PRIMARY KEY CHECK (id = 1),
    size       bigint      NOT NULL,
    root       bytea       NOT NULL,
    frontier   bytea[]     NOT NULL,   -- hashes of tlog.tree.frontier_addresses(size), in order
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- SHA-256 of the empty string: the root of the empty tree.
INSERT INTO tree_state (id, size, root, frontier)
VALUES (1, 0, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', '{}')
ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS consumer_offsets (
    topic       text    NOT NULL,
    "partition" integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, "partition")
);

-- The original personal values of one leaf (PIPL: erasable). `fields` maps a JSON pointer in
-- the envelope to the original value; the leaf holds "sha256:" + hex(SHA-256(salt || value)).
-- `keyed` maps the same pointers to HMAC-SHA256(server secret, normalized value) for the fields
-- that rules compare (ID number, household number): equality without keeping the value.
CREATE TABLE IF NOT EXISTS personal_data (
    idx       bigint PRIMARY KEY,
    event_id  uuid,
    salt      bytea,
    fields    jsonb,
    keyed     jsonb,
    erased_at timestamptz
);
CREATE INDEX IF NOT EXISTS personal_data_event_idx ON personal_data (event_id);

CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME USING ERRCODE = 'BA001';
END;
$$;

DROP TRIGGER IF EXISTS leaves_append_only ON leaves;
CREATE TRIGGER leaves_append_only BEFORE UPDATE OR DELETE ON leaves
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS nodes_append_only ON nodes;
CREATE TRIGGER nodes_append_only BEFORE UPDATE OR DELETE ON nodes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TABLE IF NOT EXISTS checkpoints (
    size      bigint      PRIMARY KEY,
    root      bytea       NOT NULL,
    note      text        NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT now()
);
DROP TRIGGER IF EXISTS checkpoints_append_only ON checkpoints;
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

-- Witness cosignatures received on POST /v1/log/cosignatures (note = the cosigned note).
CREATE TABLE IF NOT EXISTS cosignatures (
    witness     text        NOT NULL,
    size        bigint      NOT NULL,
    note        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (witness, size)
);
