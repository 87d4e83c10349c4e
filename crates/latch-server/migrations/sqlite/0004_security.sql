-- Security information (issue 4): recent sign-in for sensitive changes, trusted browsers,
-- attempt counters shared by every instance, and the user agent of audit events. Same in
-- postgres/ but for BLOB/BYTEA.

-- When the session's owner last proved who they are (sign-in or re-authentication).
-- Sessions from before this migration count as long ago: sensitive changes ask again.
ALTER TABLE sessions ADD COLUMN authenticated_at BIGINT NOT NULL DEFAULT 0;

ALTER TABLE audit_events ADD COLUMN user_agent TEXT;

-- "Trust this browser": id is SHA-256 of the random token in the latch_trusted cookie.
CREATE TABLE trusted_browsers (
    id            BLOB   NOT NULL PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    last_used_at  BIGINT,
    ip            TEXT,
    user_agent    TEXT
);
CREATE INDEX trusted_browsers_user ON trusted_browsers (user_id);

-- Attempts per (scope, key) in fixed windows: scope says what is limited (password tries
-- per username, per IP, ...), key whom; window_start is the window's first second.
CREATE TABLE rate_limits (
    scope         TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    window_start  BIGINT  NOT NULL,
    attempts      BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    PRIMARY KEY (scope, key, window_start)
);
CREATE INDEX rate_limits_expiry ON rate_limits (expires_at);
