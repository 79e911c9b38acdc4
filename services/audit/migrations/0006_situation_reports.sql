-- audit: situation reports up the tiers (情况报告制, issue 17 part 2).
--
-- `situation_reports` is the read model of the `audit.situation_report_*` events (the audit's
-- own event store holds the events; each row is written in the transaction that appends
-- them). `situation_report_files` holds each report's document: its HTML and its PNG charts,
-- served over HTTP to the tiers above and to inspectors.

CREATE TABLE IF NOT EXISTS situation_reports (
    report_id      text        PRIMARY KEY,
    unit_id        text        NOT NULL,
    unit_tier      text        NOT NULL,
    goes_to        text,
    period         text        NOT NULL CHECK (period IN ('weekly', 'monthly')),
    first_day      date        NOT NULL,
    last_day       date        NOT NULL,
    deadline       timestamptz NOT NULL,
    status         text        NOT NULL CHECK (status IN ('pending', 'submitted')),
    late           boolean     NOT NULL DEFAULT false,
    figures        jsonb       NOT NULL,
    rolls_up       text[]      NOT NULL,
    document_sha256 text       NOT NULL,
    comment        text,
    submitted_by   text,
    generated_at   timestamptz NOT NULL,
    submitted_at   timestamptz
);
CREATE INDEX IF NOT EXISTS situation_reports_unit_idx
    ON situation_reports (unit_id, period, first_day);
CREATE INDEX IF NOT EXISTS situation_reports_pending_idx
    ON situation_reports (deadline) WHERE status = 'pending' AND NOT late;

CREATE TABLE IF NOT EXISTS situation_report_files (
    report_id    text  NOT NULL REFERENCES situation_reports (report_id),
    name         text  NOT NULL,
    content_type text  NOT NULL,
    body         bytea NOT NULL,
    PRIMARY KEY (report_id, name)
);
