-- The OpenID Connect provider (routes/oidc). Every secret a client or browser holds (client
-- secrets, codes, access and refresh tokens, pending requests) is kept as its SHA-256, so a
-- leak of the database hands out none of them. The same in postgres/ but for BLOB/BYTEA.

-- How the session's owner proved who they are: RFC 8176 values, space-separated, the ones of
-- the sign-in and of every re-authentication since. Sessions from before this migration
-- proved nothing we can tell, so they meet no acr request until they step up.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';

-- The signing keys: generated here, used to sign for `rotate_at - created_at` seconds, and
-- published in the JWKS until `expires_at`, after every token they signed has expired.
-- The private key (PKCS#8) is sealed under the server's key file.
CREATE TABLE oidc_keys (
    kid          TEXT   NOT NULL PRIMARY KEY,
    alg          TEXT   NOT NULL,
    private_der  BLOB   NOT NULL,
    public_jwk   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    rotate_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- Registered clients, from the config file (`source` 'config', replaced at each start) or
-- the admin API ('admin'). URIs and keys are JSON arrays and a JWK Set.
CREATE TABLE oidc_clients (
    client_id                  TEXT   NOT NULL PRIMARY KEY,
    name                       TEXT   NOT NULL,
    secret_hash                BLOB,
    auth_method                TEXT   NOT NULL,
    redirect_uris              TEXT   NOT NULL,
    post_logout_redirect_uris  TEXT   NOT NULL,
    jwks                       TEXT,
    id_token_alg               TEXT   NOT NULL,
    source                     TEXT   NOT NULL,
    created_at                 BIGINT NOT NULL
);

-- An authorization request between /oauth2/authorize and its code: sign-in, step-up and
-- consent may each take a page (and a different node) on the way.
CREATE TABLE oidc_requests (
    id          BLOB   NOT NULL PRIMARY KEY,
    client_id   TEXT   NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    params      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX oidc_requests_expiry ON oidc_requests (expires_at);

-- What a person allowed a client to know.
CREATE TABLE oidc_consents (
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT   NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    scope       TEXT   NOT NULL,
    granted_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- A grant: one sign-in's tokens for one client, from its code through every refresh. A
-- reused refresh token or a replayed code revokes the whole grant.
CREATE TABLE oidc_grants (
    id            BLOB   NOT NULL PRIMARY KEY,
    client_id     TEXT   NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The Latch session it came from (its id hash; the ID token's `sid` is derived from it):
    -- an RP-initiated logout of that session revokes the grant.
    session_hash  BLOB   NOT NULL,
    scope         TEXT   NOT NULL,
    auth_time     BIGINT NOT NULL,
    acr           TEXT   NOT NULL,
    amr           TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX oidc_grants_session ON oidc_grants (session_hash);
CREATE INDEX oidc_grants_expiry ON oidc_grants (expires_at);

-- Authorization codes. Kept after use (`used_at`) until they expire, so a replay is told
-- from a code never issued and revokes what the first use got.
CREATE TABLE oidc_codes (
    id              BLOB   NOT NULL PRIMARY KEY,
    grant_id        BLOB   NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    redirect_uri    TEXT   NOT NULL,
    code_challenge  TEXT,
    nonce           TEXT,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);

-- Access and refresh tokens, each with the scope it was issued for (the grant's, or less
-- when a refresh asked for less). A refresh token is used once (`used_at`); using it again
-- is the reuse that revokes its grant.
CREATE TABLE oidc_tokens (
    id          BLOB   NOT NULL PRIMARY KEY,
    grant_id    BLOB   NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    kind        TEXT   NOT NULL,
    scope       TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX oidc_tokens_grant ON oidc_tokens (grant_id);

-- The `jti` of each private_key_jwt assertion accepted, until it expires: one use each.
CREATE TABLE oidc_assertions (
    client_id   TEXT   NOT NULL,
    jti         TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX oidc_assertions_expiry ON oidc_assertions (expires_at);
