-- GET /api/v1/cars/{id}: the car with its brand and owner; the owner join also proves the caller exists (one statement).
\set car random(:car_min, :car_max)
SELECT c.id, c.model, c.factory_year, c.model_year, c.color, c.plate, c.fuel_type, c.transmission, c.price, c.description, c.is_available, c.brand_id, c.owner_id, c.created_at, c.updated_at, b.id, b.name, b.description, b.is_active, b.created_at, b.updated_at, u.id, u.username, u.email, u.created_at, u.updated_at FROM cars c JOIN brands b ON b.id = c.brand_id JOIN users u ON u.id = c.owner_id WHERE c.id = :car;
