-- POST /api/v1/cars/: the insert (its foreign keys prove caller and brand, its unique index the plate),
-- then the read back with brand and owner (two statements).
-- Plates are unique: a base per pgbench run, the previous insert's id (globally unique), the client id.
\set plate :base + :id * 100 + :client_id
INSERT INTO cars (model, factory_year, model_year, color, plate, fuel_type, transmission, price, description, is_available, brand_id, owner_id, created_at, updated_at) VALUES ('Bench', 2022, 2023, 'Prata', :plate, 'flex', 'cvt', 129990.50, NULL, true, :brand, :uid, :ts, :ts) RETURNING id \gset
SELECT c.id, c.model, c.factory_year, c.model_year, c.color, c.plate, c.fuel_type, c.transmission, c.price, c.description, c.is_available, c.brand_id, c.owner_id, c.created_at, c.updated_at, b.id, b.name, b.description, b.is_active, b.created_at, b.updated_at, u.id, u.username, u.email, u.created_at, u.updated_at FROM cars c JOIN brands b ON b.id = c.brand_id JOIN users u ON u.id = c.owner_id WHERE c.id = :id;
