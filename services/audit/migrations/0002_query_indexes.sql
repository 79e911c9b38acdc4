-- audit: indexes behind the inspectors' queries (all keyset-paged on idx, the log order).

CREATE INDEX IF NOT EXISTS leaves_stream_idx ON leaves (stream_id, idx);
CREATE INDEX IF NOT EXISTS leaves_correlation_idx ON leaves (correlation_id, idx);
CREATE INDEX IF NOT EXISTS leaves_org_tier_idx ON leaves (org_id, tier, idx);
CREATE INDEX IF NOT EXISTS leaves_type_idx ON leaves (event_type, idx);
CREATE INDEX IF NOT EXISTS leaves_occurred_idx ON leaves (occurred_at, idx);

-- What the payload says beyond the envelope, for the inspectors: the item, every staff member
-- the event names (its actor and the payload's staff fields), and the reason/comment/note text.
-- Projected from the leaves by the projector (a read model: rebuildable, not part of the
-- tree), so the append path does not pay for it. Reason search: `reason_tokens` holds the
-- text tokenized in Python (Chinese runs as overlapping character bigrams, other words
-- lower-cased), because PostgreSQL's parsers (and pg_trgm under the C locale) do not split
-- Chinese text; see audit.log.leaf.search_tokens.
CREATE TABLE IF NOT EXISTS leaf_facets (
    idx           bigint PRIMARY KEY,
    item_code     text,
    staff_ids     text[],
    reason_text   text,
    reason_tokens text
);
CREATE INDEX IF NOT EXISTS leaf_facets_item_idx ON leaf_facets (item_code, idx);
CREATE INDEX IF NOT EXISTS leaf_facets_staff_idx ON leaf_facets USING gin (staff_ids);
CREATE INDEX IF NOT EXISTS leaf_facets_reason_idx ON leaf_facets
    USING gin (to_tsvector('simple'::regconfig, coalesce(reason_tokens, '')));
