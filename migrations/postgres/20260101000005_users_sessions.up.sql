-- Revision 2 of the auth rules: a password change revokes the tokens issued before it.
-- `password_changed_at` is the time of the last password change (NULL: never changed);
-- tokens issued before it are refused. Identity columns never hand an id out twice, so
-- PostgreSQL needs nothing for "ids are never reused".
ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMP(6);
