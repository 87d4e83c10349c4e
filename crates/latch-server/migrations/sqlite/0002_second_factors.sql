-- Passwords with a second factor: failed-attempt counting, TOTP, recovery codes, and the
-- state of a password sign-in waiting for its second factor. Same in postgres/.

ALTER TABLE users ADD COLUMN password_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_locked_until BIGINT NOT NULL DEFAULT 0;

-- Failed second-factor tries on a session still waiting for one.
ALTER TABLE sessions ADD COLUMN factor_failures BIGINT NOT NULL DEFAULT 0;

CREATE TABLE totp (
    user_id     BIGINT  NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret      BLOB    NOT NULL,
    confirmed   BIGINT  NOT NULL CHECK (confirmed IN (0, 1)),
    -- The last 30-second step accepted: a code is good once.
    last_step   BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- SHA-256 of each unused recovery code (the codes are random, not chosen by people).
CREATE TABLE recovery_codes (
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   BLOB    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
