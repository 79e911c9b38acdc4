-- intake read models. The event store (eventkit's `events`) is the source of truth; these
-- tables answer the HTTP API and are written in the SAME transaction as the events they
-- reflect (intake's own events by the command edge, routing's by the inbox consumer), so a
-- reader never sees a case the store does not have, or the reverse.

-- Centers of the three tiers, from routing's org tree events (routing.org_unit_*): which
-- center ids intake accepts, their names for the status view, and the parent chain that
-- lets a town or city center head see the cases of the units below.
CREATE TABLE IF NOT EXISTS centers (
    unit_id     text PRIMARY KEY,
    name_zh     text        NOT NULL,
    tier        text        NOT NULL,
    kind        text        NOT NULL,
    parent_id   text,
    is_island   boolean     NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS centers_parent_idx ON centers (parent_id);

-- One row per case, projected from intake's own events (intake.application_* ...).
-- Intake owns the application data, so the applicant is kept whole for staff; residents
-- are matched by `applicant_key`, an HMAC of the ID number (no plain-text lookup column).
CREATE TABLE IF NOT EXISTS applications (
    case_id                  text PRIMARY KEY,
    status                   text        NOT NULL,
    item_code                text        NOT NULL,
    item_version             integer     NOT NULL,
    item_name_zh             text        NOT NULL,
    category                 text        NOT NULL,
    handling_tier            text        NOT NULL,
    case_type                text        NOT NULL,
    promised_limit_days      integer     NOT NULL,
    channel                  text        NOT NULL,
    applicant                jsonb       NOT NULL,
    applicant_key            text        NOT NULL,
    registered_community_id  text        NOT NULL,
    accepting_center_id      text        NOT NULL,
    accepting_staff_id       text,
    submitted_by             text        NOT NULL,
    submitted_by_role        text        NOT NULL,
    submitted_at             timestamptz NOT NULL,
    fee_standard_fen         integer     NOT NULL,
    fee_paid_fen             integer     NOT NULL,
    deposit_standard_fen     integer     NOT NULL,
    deposit_paid_fen         integer     NOT NULL,
    payment_receipt_no       text,
    fee_override             jsonb,
    materials_provided       jsonb       NOT NULL DEFAULT '[]',
    required_materials       jsonb       NOT NULL DEFAULT '[]',
    missing                  jsonb       NOT NULL DEFAULT '[]',
    notified_at              timestamptz,
    receipt_no               text UNIQUE,
    accepted_on              date,
    accepted_at              timestamptz,
    promised_completion_date date,
    pending_correction       jsonb,
    decision                 text,
    decision_reason          text,
    decided_by               text,
    decided_at               timestamptz,
    delivered_at             timestamptz,
    delivery                 jsonb,
    archived_at              timestamptz,
    archive_no               text,
    withdrawn_at             timestamptz,
    withdrawal_reason        text,
    evaluation_score         integer,
    evaluated_at             timestamptz,
    stream_version           integer     NOT NULL,
    updated_at               timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS applications_center_status_idx
    ON applications (accepting_center_id, status, submitted_at);
CREATE INDEX IF NOT EXISTS applications_applicant_key_idx ON applications (applicant_key);
CREATE INDEX IF NOT EXISTS applications_submitted_by_idx ON applications (submitted_by);

-- Where a case stands at routing, from routing's case events: the handling unit and office
-- (their staff may read the case), the assigned officer, and the result coming back.
-- Kept apart from `applications` so that table stays a pure projection of intake's stream.
CREATE TABLE IF NOT EXISTS case_progress (
    case_id              text PRIMARY KEY,
    handling_unit_id     text,
    handling_office_id   text,
    handling_tier        text,
    assigned_to          text,
    deadline_due_date    date,
    result_ready_at      timestamptz,
    result_at_center_id  text,
    result_decision      text,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS case_progress_unit_idx ON case_progress (handling_unit_id);

-- Wrong verification codes at the public status view, per receipt number asked for
-- (existing or not, so the answer never tells whether a receipt number exists).
CREATE TABLE IF NOT EXISTS status_lookup_failures (
    lookup        text PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    failures      integer     NOT NULL
);
