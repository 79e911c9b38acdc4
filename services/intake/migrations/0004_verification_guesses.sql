-- Wrong verification codes, counted on the one guessing, not on the receipt
-- (intake.domain.code_guessing): buckets `guesser:<who>` (per address or staff member),
-- `pair:<who>|<case>` and `case:<case>` (the case's hourly budget and its next paced check).
-- The old per-receipt lock (which locked the resident out too) is gone with its table.
CREATE TABLE IF NOT EXISTS verification_guesses (
    bucket         text PRIMARY KEY,
    failures       integer     NOT NULL DEFAULT 0,
    window_start   timestamptz,
    next_check_at  timestamptz
);
DROP TABLE IF EXISTS status_lookup_failures;
