-- See the PostgreSQL migration of the same name.
CREATE TABLE idempotency_keys (
    caller_id       INTEGER NOT NULL,
    route           TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    status          INTEGER,
    content_type    TEXT,
    body            TEXT,
    created_at      INTEGER NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (caller_id, route, idempotency_key)
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
