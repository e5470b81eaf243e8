-- no-transaction
-- Revision 2 of the auth rules. (1) `users.id` becomes AUTOINCREMENT: a plain INTEGER
-- PRIMARY KEY hands the id of the deleted user with the highest id to the next
-- registration, and that user's old token would act for the new account. (2)
-- `password_changed_at`, the time of the last password change (NULL: never changed):
-- tokens issued before it are refused.
--
-- SQLite cannot change a primary key in place: the table is rebuilt. Foreign keys are
-- switched off around it (only possible outside a transaction, hence no-transaction),
-- or dropping the old table would cascade into `cars`; the rebuild itself is one
-- transaction.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_rebuilt (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    username            TEXT NOT NULL,
    email               TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    password_changed_at TEXT,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_username_length CHECK (length(username) BETWEEN 3 AND 50),
    CONSTRAINT users_email_length CHECK (length(email) <= 254)
);
INSERT INTO users_rebuilt (id, username, email, password_hash, created_at, updated_at)
    SELECT id, username, email, password_hash, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
COMMIT;
PRAGMA foreign_keys = ON;
