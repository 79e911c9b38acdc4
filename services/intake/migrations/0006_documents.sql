-- Documents (issue 16): the bytes of scans and photos, stored once under their SHA-256, in
-- chunks; which case and material each attachment belongs to; and every download.
-- `document_blobs.erased_at`: the bytes are personal data; erasing deletes the chunks and
-- keeps the row (the hash stays, as it stays in the audit log).
CREATE TABLE IF NOT EXISTS document_blobs (
    sha256 text PRIMARY KEY,
    size bigint NOT NULL,
    content_type text NOT NULL,
    chunks_key uuid NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz
);

CREATE TABLE IF NOT EXISTS document_chunks (
    chunks_key uuid NOT NULL,
    seq integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (chunks_key, seq)
);

CREATE TABLE IF NOT EXISTS case_documents (
    document_id text PRIMARY KEY,
    case_id text NOT NULL,
    material_code text NOT NULL,
    sha256 text NOT NULL,
    size bigint NOT NULL,
    content_type text NOT NULL,
    file_name text NOT NULL,
    stage text NOT NULL,
    attached_by text NOT NULL,
    attached_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS case_documents_case ON case_documents (case_id);

CREATE TABLE IF NOT EXISTS document_reads (
    id bigserial PRIMARY KEY,
    document_id text NOT NULL,
    case_id text NOT NULL,
    reader text NOT NULL,
    role text NOT NULL,
    org_id text,
    read_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS document_reads_document ON document_reads (document_id);
