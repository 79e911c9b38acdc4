-- Issue 13 #7: which working-day calendar each open deadline was counted by.
-- `provisional_years`: the years the deadline rests on the provisional estimate (no official
-- holiday schedule yet); empty when firm, NULL when a v1 deadline did not say.
-- `calendar_revision`: how many holiday schedules were published when the deadline was last
-- counted (the org tree's `calendar.revision`). An open case counted by an older revision is
-- counted again (routing.cases.recompute), so a publication reaches every open case even if
-- one was being routed while it was published.
ALTER TABLE case_queue ADD COLUMN IF NOT EXISTS provisional_years integer[];
ALTER TABLE case_queue ADD COLUMN IF NOT EXISTS calendar_revision integer NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS case_queue_calendar_idx ON case_queue (calendar_revision)
    WHERE status IN ('open', 'correction_pending');
