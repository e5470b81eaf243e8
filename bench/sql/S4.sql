-- POST /api/v1/auth/token: the one statement of a login (Argon2id verification is not SQL).
SELECT id, password_hash FROM users WHERE email = :email;
