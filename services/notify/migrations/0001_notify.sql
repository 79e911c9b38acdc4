-- notify: the directory (who to tell, from intake's and routing's events), deliveries
-- (intent recorded first, outcome after) and events parked until their recipient is known.

-- One row per case: the applicant's contacts (from intake.application_submitted), what the
-- messages name (item, receipt number) and where the case is handled (for access checks).
CREATE TABLE IF NOT EXISTS cases (
    case_id             text PRIMARY KEY,
    applicant_name      text,
    phone               text,
    email               text,
    item_code           text,
    item_name_zh        text,
    receipt_no          text,
    registered_community_id text,
    accepting_center_id text,
    handling_unit_id    text,
    handling_office_id  text,
    material_names      jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS staff (
    staff_id   text PRIMARY KEY,
    name_zh    text NOT NULL,
    unit_id    text,
    office_id  text,
    roles      text[] NOT NULL DEFAULT '{}',
    email      text,
    phone      text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS org_units (
    unit_id   text PRIMARY KEY,
    name_zh   text NOT NULL,
    tier      text NOT NULL,
    parent_id text
);

-- Exactly one row per (event, recipient, channel): the primary key is the guarantee. The
-- row is written in the consumer's inbox transaction, before anything is sent.
CREATE TABLE IF NOT EXISTS deliveries (
    event_id       uuid        NOT NULL,
    recipient_id   text        NOT NULL,
    channel        text        NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
    delivery_id    uuid        NOT NULL UNIQUE,
    event_type     text        NOT NULL,
    correlation_id uuid        NOT NULL,
    case_id        text        NOT NULL,
    recipient_kind text        NOT NULL CHECK (recipient_kind IN ('resident', 'staff')),
    template       text        NOT NULL,
    address        text        NOT NULL,
    subject        text        NOT NULL,
    body           text        NOT NULL,
    data           jsonb       NOT NULL,
    status         text        NOT NULL
        CHECK (status IN ('pending', 'deferred', 'sending', 'delivered', 'failed', 'suppressed')),
    suppressed_reason text,
    attempts       integer     NOT NULL DEFAULT 0,
    due_at         timestamptz NOT NULL,
    lease_token    uuid,
    lease_until    timestamptz,
    last_error     text,
    provider_ref   text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    delivered_at   timestamptz,
    failed_at      timestamptz,
    PRIMARY KEY (event_id, recipient_id, channel)
);
CREATE INDEX IF NOT EXISTS deliveries_due_idx ON deliveries (due_at)
    WHERE status IN ('pending', 'deferred');
CREATE INDEX IF NOT EXISTS deliveries_lease_idx ON deliveries (lease_until)
    WHERE status = 'sending';
CREATE INDEX IF NOT EXISTS deliveries_case_idx ON deliveries (case_id, created_at);

-- An event whose recipient is not in the directory yet (two topics are not ordered against
-- each other): planned again when the directory learns `waiting_for`.
CREATE TABLE IF NOT EXISTS parked_events (
    event_id          uuid PRIMARY KEY,
    waiting_for       text        NOT NULL,
    envelope          jsonb       NOT NULL,
    suppressed_reason text,
    parked_at         timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS parked_events_waiting_idx ON parked_events (waiting_for);
