CREATE TABLE brands (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT,
    is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    CONSTRAINT brands_name_key UNIQUE (name),
    CONSTRAINT brands_name_length CHECK (length(name) BETWEEN 2 AND 50),
    CONSTRAINT brands_description_length CHECK (length(description) <= 5000)
);

CREATE INDEX brands_is_active_idx ON brands (is_active, id);
