-- audit: every event is in the log, checked (issue 18, finding 3).
--
-- `logged_topics` holds the Kafka topic id (KIP-516) of every topic the log follows: a topic
-- deleted and created again under the same name has another id. `append_halts` holds each
-- partition whose appending stopped because what Kafka returned does not continue what was
-- logged (a recreated topic, an offset below the stored one that is not a replay of what
-- is logged, a jump forward); only an operator's decision (who, what, why: recorded here
-- and as an audit event, so it goes into the log) resumes it.

CREATE TABLE IF NOT EXISTS logged_topics (
    topic         text        PRIMARY KEY,
    topic_id      text        NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS append_halts (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic           text        NOT NULL,
    "partition"     integer     NOT NULL,
    kind            text        NOT NULL
                    CHECK (kind IN ('topic_recreated', 'offset_rewound', 'offset_jump')),
    detail          text        NOT NULL,
    expected_offset bigint,
    found_offset    bigint,
    known_topic_id  text,
    found_topic_id  text,
    raised_at       timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     text,
    decision        jsonb
);
CREATE UNIQUE INDEX IF NOT EXISTS append_halts_open
    ON append_halts (topic, "partition") WHERE resolved_at IS NULL;
