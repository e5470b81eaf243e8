-- Answers kept for retried writes (`Idempotency-Key`): one row per caller, route and key.
-- `status` is NULL while the first request runs; its answer is written in the same
-- transaction as the write itself. `created_at` is in Unix seconds; rows older than 24
-- hours are ignored, taken over by a new request, and purged.
CREATE TABLE idempotency_keys (
    caller_id       BIGINT       NOT NULL,
    route           VARCHAR(300) NOT NULL,
    idempotency_key VARCHAR(255) NOT NULL,
    fingerprint     VARCHAR(64)  NOT NULL,
    status          INTEGER,
    content_type    VARCHAR(100),
    body            TEXT,
    created_at      BIGINT       NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (caller_id, route, idempotency_key)
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
