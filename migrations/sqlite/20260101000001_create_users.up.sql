-- Timestamps are TEXT in RFC 3339 UTC with microseconds ("2026-01-31T12:00:00.123456Z"),
-- written by the application; the fixed width keeps them sortable.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_username_length CHECK (length(username) BETWEEN 3 AND 50),
    CONSTRAINT users_email_length CHECK (length(email) <= 254)
);
