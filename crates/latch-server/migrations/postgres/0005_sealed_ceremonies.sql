-- Sealed ceremonies (issue 4, speed): on SQLite a begin seals its state into the cookie
-- (AES-256-GCM, key in a file beside the database) instead of writing a row. A finish
-- records the token here, in its own transaction, so each token is accepted once. id is
-- SHA-256 of the cookie's token; rows go once the token has expired. Same in sqlite/ but
-- for BLOB/BYTEA (PostgreSQL instances keep using the ceremonies table).
CREATE TABLE used_ceremonies (
    id          BYTEA   NOT NULL PRIMARY KEY,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX used_ceremonies_expiry ON used_ceremonies (expires_at);
