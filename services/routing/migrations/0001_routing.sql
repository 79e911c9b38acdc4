-- routing: read models kept in the same transaction as the appends that change them.
-- The event store (eventkit's `events`) stays the truth; every table here can be rebuilt
-- from it. Nothing is deleted when a case closes (登记归档): its rows only change status.

-- intake's catalog as routing needs it (item name, tier, category, case type per version)
CREATE TABLE IF NOT EXISTS catalog_items (
    code                text        NOT NULL,
    version             integer     NOT NULL,
    name_zh             text        NOT NULL,
    category            text        NOT NULL,
    handling_tier       text        NOT NULL,
    case_type           text        NOT NULL,
    promised_limit_days integer     NOT NULL,
    effective_from      date        NOT NULL,
    retired_from        date,
    published_at        timestamptz NOT NULL,
    PRIMARY KEY (code, version)
);

-- the work queue: one row per routed case, for officers, heads and inspectors
CREATE TABLE IF NOT EXISTS case_queue (
    case_id             text PRIMARY KEY,
    stream_version      integer     NOT NULL,
    status              text        NOT NULL,
    item_code           text        NOT NULL,
    item_version        integer,
    item_name_zh        text,
    category            text        NOT NULL,
    case_type           text        NOT NULL,
    handling_tier       text        NOT NULL,
    handling_unit_id    text        NOT NULL,
    handling_office_id  text        NOT NULL,
    accepting_center_id text        NOT NULL,
    agent_id            text,
    post_id             text,
    assigned_to         text,
    accepted_at         timestamptz,
    due_date            date,
    due_at              timestamptz,
    warning_issued      boolean     NOT NULL DEFAULT false,
    overdue             boolean     NOT NULL DEFAULT false,
    escalation_level    integer     NOT NULL DEFAULT 0,
    decision            text,
    decided_by          text,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS case_queue_office_idx ON case_queue (handling_office_id, status, due_at);
CREATE INDEX IF NOT EXISTS case_queue_unit_idx ON case_queue (handling_unit_id, status, due_at);
CREATE INDEX IF NOT EXISTS case_queue_assignee_idx ON case_queue (assigned_to, status, due_at);

-- when each case next needs a deadline check (warning, overdue, escalation, follow-up due)
CREATE TABLE IF NOT EXISTS case_deadlines (
    case_id     text PRIMARY KEY,
    next_due_at timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS case_deadlines_due_idx ON case_deadlines (next_due_at);

-- bad-review follow-ups (好差评), for the heads who must answer them
CREATE TABLE IF NOT EXISTS followups (
    followup_id   text PRIMARY KEY,
    case_id       text        NOT NULL,
    center_id     text        NOT NULL,
    assigned_to   text        NOT NULL,
    score         integer     NOT NULL,
    low_dimensions text[]     NOT NULL DEFAULT '{}',
    comment       text,
    answer_due_at timestamptz NOT NULL,
    opened_at     timestamptz NOT NULL,
    answered      boolean     NOT NULL DEFAULT false,
    answered_by   text,
    answer        text,
    answered_on_time boolean,
    overdue       boolean     NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS followups_assignee_idx ON followups (assigned_to, answered);

-- acceptances routing could not route (reference data missing): kept for admins, never lost
CREATE TABLE IF NOT EXISTS unrouted_cases (
    case_id     text PRIMARY KEY,
    event_id    uuid        NOT NULL,
    field       text        NOT NULL,
    reason      text        NOT NULL,
    accepted    jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
