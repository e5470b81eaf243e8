-- `price` holds an exact integer number of cents (PostgreSQL: NUMERIC(10,2)), so the
-- SQL text of every query is the same in both dialects.
CREATE TABLE cars (
    id           INTEGER PRIMARY KEY,
    model        TEXT    NOT NULL,
    factory_year INTEGER NOT NULL,
    model_year   INTEGER NOT NULL,
    color        TEXT    NOT NULL,
    plate        TEXT    NOT NULL,
    fuel_type    TEXT    NOT NULL,
    transmission TEXT    NOT NULL,
    price        INTEGER NOT NULL,
    description  TEXT,
    is_available INTEGER NOT NULL DEFAULT 1 CHECK (is_available IN (0, 1)),
    brand_id     INTEGER NOT NULL REFERENCES brands (id) ON DELETE RESTRICT,
    owner_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    CONSTRAINT cars_plate_key UNIQUE (plate),
    CONSTRAINT cars_fuel_type_check
        CHECK (fuel_type IN ('gasoline', 'ethanol', 'flex', 'diesel', 'electric', 'hybrid')),
    CONSTRAINT cars_transmission_check
        CHECK (transmission IN ('manual', 'automatic', 'semi_automatic', 'cvt')),
    CONSTRAINT cars_price_check CHECK (price > 0 AND price <= 9999999999),
    CONSTRAINT cars_factory_year_check CHECK (factory_year BETWEEN 1900 AND 2030),
    CONSTRAINT cars_model_year_check CHECK (model_year BETWEEN 1900 AND 2030),
    CONSTRAINT cars_model_length CHECK (length(model) BETWEEN 2 AND 100),
    CONSTRAINT cars_color_length CHECK (length(color) BETWEEN 2 AND 30),
    CONSTRAINT cars_plate_length CHECK (length(plate) BETWEEN 7 AND 10),
    CONSTRAINT cars_description_length CHECK (length(description) <= 5000)
);

CREATE INDEX cars_owner_id_idx ON cars (owner_id, id);
CREATE INDEX cars_owner_fuel_type_idx ON cars (owner_id, fuel_type, id);
CREATE INDEX cars_owner_price_idx ON cars (owner_id, price);
CREATE INDEX cars_brand_id_idx ON cars (brand_id);
