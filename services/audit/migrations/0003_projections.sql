-- audit: read models fed from the log in index order (the projector), all rebuildable from
-- the leaves: anomaly bookkeeping, staff identities (keyed hashes), the published catalog
-- and the per-case facts behind the public transparency board.

CREATE TABLE IF NOT EXISTS projection_state (
    name     text   PRIMARY KEY,
    last_idx bigint NOT NULL DEFAULT -1
);

-- Cases whose rules must be (re-)evaluated: touched by a new event (dirty_since), or a
-- time-based rule asked to look again (next_check_at).
CREATE TABLE IF NOT EXISTS anomaly_cases (
    stream_id     text PRIMARY KEY,
    dirty_since   timestamptz,
    next_check_at timestamptz
);
CREATE INDEX IF NOT EXISTS anomaly_cases_dirty_idx ON anomaly_cases (dirty_since)
    WHERE dirty_since IS NOT NULL;
CREATE INDEX IF NOT EXISTS anomaly_cases_check_idx ON anomaly_cases (next_check_at)
    WHERE next_check_at IS NOT NULL;

-- At most one flag per rule and case; `event_id` is the audit.anomaly_flagged event.
CREATE TABLE IF NOT EXISTS anomaly_flags (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id    text        NOT NULL,
    stream_id  text        NOT NULL,
    event_id   uuid        NOT NULL,
    details    jsonb       NOT NULL,
    flagged_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (rule_id, stream_id)
);
CREATE INDEX IF NOT EXISTS anomaly_flags_stream_idx ON anomaly_flags (stream_id);

-- Staff identities as keyed hashes only (HMAC-SHA256 with the audit secret), for the
-- conflict-of-interest rule: {"id_number": "<hex>", "household_no": "<hex>"}.
CREATE TABLE IF NOT EXISTS staff_identity (
    staff_id   text        PRIMARY KEY,
    keyed      jsonb       NOT NULL,
    source     text        NOT NULL,   -- 'log:<idx>' or 'admin:<sub>'
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The published service catalog, every version (from intake.catalog_item_published).
CREATE TABLE IF NOT EXISTS catalog_items (
    code           text    NOT NULL,
    version        integer NOT NULL,
    effective_from date,
    item           jsonb   NOT NULL,
    idx            bigint  NOT NULL,
    retired_from   date,
    PRIMARY KEY (code, version)
);

-- One row per case: the facts the public board aggregates.
CREATE TABLE IF NOT EXISTS board_cases (
    case_id             text PRIMARY KEY,
    item_code           text,
    accepting_center_id text,
    handling_org_id     text,
    handling_tier       text,
    accepted_at         timestamptz,
    decided_at          timestamptz,
    on_time             boolean,
    working_days        integer,
    score               integer,
    withdrawn           boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS board_cases_center_idx ON board_cases (accepting_center_id);
CREATE INDEX IF NOT EXISTS board_cases_tier_idx ON board_cases (handling_tier);
