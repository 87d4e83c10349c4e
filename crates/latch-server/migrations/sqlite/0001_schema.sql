-- Latch identity server schema, SQLite form. postgres/0001_schema.sql holds the same schema;
-- the only differences are the auto-increment keys and BLOB for BYTEA. Flags are BIGINT 0/1 so
-- that one query text decodes the same way on both backends (sqlx's Any driver has no SQLite
-- BOOLEAN). Times are Unix seconds.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    user_handle     BLOB    NOT NULL UNIQUE,
    password_hash   TEXT,
    created_at      BIGINT  NOT NULL
);

CREATE TABLE credentials (
    id               BLOB    NOT NULL PRIMARY KEY,
    user_id          BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public_key       BLOB    NOT NULL,
    alg              BIGINT  NOT NULL,
    sign_count       BIGINT  NOT NULL,
    transports       TEXT    NOT NULL,
    aaguid           BLOB    NOT NULL,
    attestation_fmt  TEXT    NOT NULL,
    backup_eligible  BIGINT  NOT NULL CHECK (backup_eligible IN (0, 1)),
    backed_up        BIGINT  NOT NULL CHECK (backed_up IN (0, 1)),
    user_verified    BIGINT  NOT NULL CHECK (user_verified IN (0, 1)),
    discoverable     BIGINT           CHECK (discoverable IN (0, 1)),
    name             TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    last_used_at     BIGINT
);
CREATE INDEX credentials_user ON credentials (user_id);

-- A begun ceremony, so that any instance can finish it. id is SHA-256 of the cookie's token.
CREATE TABLE ceremonies (
    id          BLOB    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    user_id     BIGINT           REFERENCES users (id) ON DELETE CASCADE,
    state       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX ceremonies_expiry ON ceremonies (expires_at);

-- id is SHA-256 of the cookie's token: a database leak does not hand out sessions.
CREATE TABLE sessions (
    id                  BLOB    NOT NULL PRIMARY KEY,
    user_id             BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at          BIGINT  NOT NULL,
    last_seen_at        BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL,
    ip                  TEXT,
    user_agent          TEXT,
    credential_id       BLOB,
    second_factor_done  BIGINT  NOT NULL CHECK (second_factor_done IN (0, 1))
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     BIGINT,
    kind        TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    ip          TEXT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX audit_events_user ON audit_events (user_id, created_at);

-- Server-wide secrets shared by every instance (e.g. the key for fake allowCredentials).
CREATE TABLE settings (
    key    TEXT  NOT NULL PRIMARY KEY,
    value  BLOB  NOT NULL
);
