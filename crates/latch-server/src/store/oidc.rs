//! The OpenID Connect provider's storage (tables in `migrations/*/0007_oidc.sql`): signing
//! keys, clients, pending requests, consents, grants with their codes and tokens, and used
//! client-assertion ids. Codes and tokens are looked up by their SHA-256. Each write that
//! spends something (a request, a code, a refresh token, an assertion) spends it with a
//! conditional statement inside its commit, so two nodes racing for it cannot both win.

use super::db::{query, Conn, DbError, Row};
use super::Store;
use crate::oidc::client::{AuthMethod, Client};
use crate::oidc::keys::{Alg, StoredKey};

/// A signing key and its lifetime.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub key: StoredKey,
    pub created_at: i64,
    /// After this, a newer key signs.
    pub rotate_at: i64,
}

/// The keys still published at `now`, newest first.
pub async fn keys(conn: &mut Conn, now: i64) -> Result<Vec<KeyRow>, DbError> {
    let rows = query(
        "SELECT kid, alg, private_der, public_jwk, created_at, rotate_at FROM oidc_keys \
         WHERE expires_at > $1 ORDER BY created_at DESC, kid",
    )
    .bind(now)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let alg: String = row.try_get("alg")?;
            let jwk: String = row.try_get("public_jwk")?;
            Ok(KeyRow {
                key: StoredKey {
                    kid: row.try_get("kid")?,
                    alg: Alg::parse(&alg).ok_or_else(|| DbError::decode("alg", alg.clone()))?,
                    private_der: row.try_get("private_der")?,
                    public_jwk: serde_json::from_str(&jwk)
                        .map_err(|_| DbError::decode("public_jwk", "a JWK"))?,
                },
                created_at: row.try_get("created_at")?,
                rotate_at: row.try_get("rotate_at")?,
            })
        })
        .collect()
}

const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, auth_method, redirect_uris, \
    post_logout_redirect_uris, jwks, id_token_alg, source";

fn client_from(row: &Row) -> Result<Client, DbError> {
    let method: String = row.try_get("auth_method")?;
    let alg: String = row.try_get("id_token_alg")?;
    let list = |column: &str| -> Result<Vec<String>, DbError> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text).map_err(|_| DbError::decode(column, "a JSON list"))
    };
    Ok(Client {
        id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        auth_method: AuthMethod::parse(&method)
            .ok_or_else(|| DbError::decode("auth_method", method.clone()))?,
        redirect_uris: list("redirect_uris")?,
        post_logout_redirect_uris: list("post_logout_redirect_uris")?,
        jwks: row.try_get("jwks")?,
        id_token_alg: Alg::parse(&alg)
            .ok_or_else(|| DbError::decode("id_token_alg", alg.clone()))?,
        source: row.try_get("source")?,
    })
}

pub async fn client(conn: &mut Conn, id: &str) -> Result<Option<Client>, DbError> {
    query(&format!(
        "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE client_id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(client_from)
    .transpose()
}

pub async fn clients(conn: &mut Conn) -> Result<Vec<Client>, DbError> {
    let rows = query(&format!(
        "SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY client_id"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(client_from).collect()
}

async fn insert_client(
    conn: &mut Conn,
    c: &Client,
    now: i64,
    upsert: bool,
) -> Result<u64, DbError> {
    let conflict = if upsert {
        " ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, \
         secret_hash = excluded.secret_hash, auth_method = excluded.auth_method, \
         redirect_uris = excluded.redirect_uris, \
         post_logout_redirect_uris = excluded.post_logout_redirect_uris, jwks = excluded.jwks, \
         id_token_alg = excluded.id_token_alg, source = excluded.source"
    } else {
        " ON CONFLICT DO NOTHING"
    };
    let json = |list: &Vec<String>| serde_json::Value::from(list.clone()).to_string();
    let done = query(&format!(
        "INSERT INTO oidc_clients ({CLIENT_COLUMNS}, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10){conflict}"
    ))
    .bind(c.id.as_str())
    .bind(c.name.as_str())
    .bind(c.secret_hash.clone())
    .bind(c.auth_method.name())
    .bind(json(&c.redirect_uris))
    .bind(json(&c.post_logout_redirect_uris))
    .bind(c.jwks.clone())
    .bind(c.id_token_alg.name())
    .bind(c.source.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn request(conn: &mut Conn, id_hash: &[u8], now: i64) -> Result<Option<String>, DbError> {
    let row = query("SELECT params FROM oidc_requests WHERE id = $1 AND expires_at > $2")
        .bind(id_hash)
        .bind(now)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get("params")).transpose()
}

/// The scopes `user_id` allowed `client_id`, if they have.
pub async fn consent(
    conn: &mut Conn,
    user_id: i64,
    client_id: &str,
) -> Result<Option<String>, DbError> {
    let row = query("SELECT scope FROM oidc_consents WHERE user_id = $1 AND client_id = $2")
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get("scope")).transpose()
}

/// One sign-in's tokens for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: Vec<u8>,
    pub client_id: String,
    pub user_id: i64,
    pub session_hash: Vec<u8>,
    pub scope: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: String,
    pub expires_at: i64,
    pub revoked: bool,
}

const GRANT_COLUMNS: &str = "g.id AS grant_id, g.client_id, g.user_id, g.session_hash, g.scope, \
    g.auth_time, g.acr, g.amr, g.expires_at AS grant_expires_at, g.revoked_at";

fn grant_from(row: &Row) -> Result<Grant, DbError> {
    Ok(Grant {
        id: row.try_get("grant_id")?,
        client_id: row.try_get("client_id")?,
        user_id: row.try_get("user_id")?,
        session_hash: row.try_get("session_hash")?,
        scope: row.try_get("scope")?,
        auth_time: row.try_get("auth_time")?,
        acr: row.try_get("acr")?,
        amr: row.try_get("amr")?,
        expires_at: row.try_get("grant_expires_at")?,
        revoked: row.try_get::<Option<i64>>("revoked_at")?.is_some(),
    })
}

/// A code as issued, with its grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub grant: Grant,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub expires_at: i64,
    pub used: bool,
}

pub async fn code(conn: &mut Conn, hash: &[u8]) -> Result<Option<Code>, DbError> {
    let row = query(&format!(
        "SELECT {GRANT_COLUMNS}, c.redirect_uri, c.code_challenge, c.nonce, c.expires_at, \
         c.used_at FROM oidc_codes c JOIN oidc_grants g ON g.id = c.grant_id WHERE c.id = $1"
    ))
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(Code {
            grant: grant_from(&row)?,
            redirect_uri: row.try_get("redirect_uri")?,
            code_challenge: row.try_get("code_challenge")?,
            nonce: row.try_get("nonce")?,
            expires_at: row.try_get("expires_at")?,
            used: row.try_get::<Option<i64>>("used_at")?.is_some(),
        })
    })
    .transpose()
}

/// An access or refresh token, with its grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub grant: Grant,
    pub kind: String,
    pub scope: String,
    pub expires_at: i64,
    pub used: bool,
}

pub async fn token(conn: &mut Conn, hash: &[u8]) -> Result<Option<Token>, DbError> {
    let row = query(&format!(
        "SELECT {GRANT_COLUMNS}, t.kind, t.scope AS token_scope, t.expires_at, t.used_at \
         FROM oidc_tokens t \
         JOIN oidc_grants g ON g.id = t.grant_id WHERE t.id = $1"
    ))
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(Token {
            grant: grant_from(&row)?,
            kind: row.try_get("kind")?,
            scope: row.try_get("token_scope")?,
            expires_at: row.try_get("expires_at")?,
            used: row.try_get::<Option<i64>>("used_at")?.is_some(),
        })
    })
    .transpose()
}

/// A new grant and its code, issued when a request is granted.
#[derive(Debug, Clone)]
pub struct NewCode {
    pub request_hash: Vec<u8>,
    pub code_hash: Vec<u8>,
    pub grant: Grant,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub expires_at: i64,
}

/// A new access token and refresh token for a grant.
#[derive(Debug, Clone)]
pub struct NewTokens {
    pub grant_id: Vec<u8>,
    pub access_hash: Vec<u8>,
    pub access_expires_at: i64,
    pub refresh_hash: Vec<u8>,
    /// What both tokens may be used for (within the grant's scope).
    pub scope: String,
}

/// What spending a code or a refresh token came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// Spent now; the new tokens are stored.
    Fresh,
    /// Spent before (or just now by a racing request): the grant is revoked, nothing issued.
    Reused,
    /// The grant was revoked before: nothing issued.
    Revoked,
}

#[derive(Debug, thiserror::Error)]
enum Conflict {
    #[error("spent already")]
    Spent,
    #[error(transparent)]
    Db(#[from] DbError),
}

async fn insert_tokens(
    conn: &mut Conn,
    t: &NewTokens,
    refresh_expires_at: i64,
) -> Result<(), DbError> {
    for (hash, kind, expires_at) in [
        (&t.access_hash, "access", t.access_expires_at),
        (&t.refresh_hash, "refresh", refresh_expires_at),
    ] {
        query(
            "INSERT INTO oidc_tokens (id, grant_id, kind, scope, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash.as_slice())
        .bind(t.grant_id.as_slice())
        .bind(kind)
        .bind(t.scope.as_str())
        .bind(expires_at)
        .execute(conn)
        .await?;
    }
    Ok(())
}

async fn revoke(conn: &mut Conn, grant_id: &[u8], now: i64) -> Result<(), DbError> {
    query("UPDATE oidc_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(grant_id)
        .bind(now)
        .execute(conn)
        .await?;
    query("DELETE FROM oidc_tokens WHERE grant_id = $1")
        .bind(grant_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the grant is still live, inside the commit that issues from it. A no-op update,
/// so that on PostgreSQL it locks the row: a revocation cannot commit between this check and
/// the tokens' insert.
async fn live(conn: &mut Conn, grant_id: &[u8]) -> Result<bool, DbError> {
    let done = query(
        "UPDATE oidc_grants SET revoked_at = revoked_at WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(grant_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    pub async fn add_oidc_key(
        &self,
        key: StoredKey,
        now: i64,
        rotate_at: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        self.write_each(move |conn| {
            Box::pin(async move {
                query(
                    "INSERT INTO oidc_keys (kid, alg, private_der, public_jwk, created_at, \
                     rotate_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(key.kid.as_str())
                .bind(key.alg.name())
                .bind(key.private_der.as_slice())
                .bind(key.public_jwk.to_string())
                .bind(now)
                .bind(rotate_at)
                .bind(expires_at)
                .execute(conn)
                .await?;
                query("DELETE FROM oidc_keys WHERE expires_at <= $1")
                    .bind(now)
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Registers a client; false when its id is taken.
    pub async fn add_oidc_client(&self, client: Client, now: i64) -> Result<bool, DbError> {
        self.write_each(move |conn| {
            Box::pin(async move { Ok(insert_client(conn, &client, now, false).await? == 1) })
        })
        .await
    }

    /// Removes a client, and with it every grant, code and token it had; false if none.
    pub async fn delete_oidc_client(&self, id: String) -> Result<bool, DbError> {
        self.write(move |conn| {
            Box::pin(async move {
                // Tokens and codes go with their grants (ON DELETE CASCADE).
                let done = query("DELETE FROM oidc_clients WHERE client_id = $1")
                    .bind(id.as_str())
                    .execute(conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    /// The config file's clients replace the last start's: those no longer in it are removed.
    pub async fn replace_config_clients(
        &self,
        clients: Vec<Client>,
        now: i64,
    ) -> Result<(), DbError> {
        self.write(move |conn| {
            Box::pin(async move {
                let kept: Vec<String> = clients.iter().map(|c| c.id.clone()).collect();
                let rows = query("SELECT client_id FROM oidc_clients WHERE source = 'config'")
                    .fetch_all(conn)
                    .await?;
                for row in rows {
                    let id: String = row.try_get("client_id")?;
                    if !kept.contains(&id) {
                        query("DELETE FROM oidc_clients WHERE client_id = $1")
                            .bind(id.as_str())
                            .execute(conn)
                            .await?;
                    }
                }
                for c in &clients {
                    insert_client(conn, c, now, true).await?;
                }
                Ok(())
            })
        })
        .await
    }

    pub async fn put_oidc_request(
        &self,
        id_hash: Vec<u8>,
        client_id: String,
        params: String,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        self.write_each(move |conn| {
            Box::pin(async move {
                query(
                    "INSERT INTO oidc_requests (id, client_id, params, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id_hash)
                .bind(client_id)
                .bind(params)
                .bind(now)
                .bind(expires_at)
                .execute(conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Ends a request without a code (refused, or denied by its person).
    pub async fn drop_oidc_request(&self, id_hash: Vec<u8>) -> Result<(), DbError> {
        self.write_each(move |conn| {
            Box::pin(async move {
                query("DELETE FROM oidc_requests WHERE id = $1")
                    .bind(id_hash)
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn put_oidc_consent(
        &self,
        user_id: i64,
        client_id: String,
        scope: String,
        now: i64,
    ) -> Result<(), DbError> {
        self.write_each(move |conn| {
            Box::pin(async move {
                query(
                    "INSERT INTO oidc_consents (user_id, client_id, scope, granted_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id) \
                     DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
                )
                .bind(user_id)
                .bind(client_id)
                .bind(scope)
                .bind(now)
                .execute(conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Spends the request and issues its grant and code; false when the request was spent
    /// already (by a racing consent, say).
    pub async fn issue_oidc_code(&self, c: NewCode, now: i64) -> Result<bool, DbError> {
        let done = self
            .write(move |conn| {
                Box::pin(async move {
                    let spent =
                        query("DELETE FROM oidc_requests WHERE id = $1 AND expires_at > $2")
                            .bind(c.request_hash.as_slice())
                            .bind(now)
                            .execute(conn)
                            .await?;
                    if spent.rows_affected() != 1 {
                        return Err(Conflict::Spent);
                    }
                    let g = &c.grant;
                    query(
                        "INSERT INTO oidc_grants (id, client_id, user_id, session_hash, scope, \
                         auth_time, acr, amr, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(g.id.as_slice())
                    .bind(g.client_id.as_str())
                    .bind(g.user_id)
                    .bind(g.session_hash.as_slice())
                    .bind(g.scope.as_str())
                    .bind(g.auth_time)
                    .bind(g.acr.as_str())
                    .bind(g.amr.as_str())
                    .bind(now)
                    .bind(g.expires_at)
                    .execute(conn)
                    .await?;
                    query(
                        "INSERT INTO oidc_codes (id, grant_id, redirect_uri, code_challenge, \
                         nonce, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(c.code_hash.as_slice())
                    .bind(g.id.as_slice())
                    .bind(c.redirect_uri.as_str())
                    .bind(c.code_challenge.clone())
                    .bind(c.nonce.clone())
                    .bind(c.expires_at)
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            })
            .await;
        match done {
            Ok(()) => Ok(true),
            Err(Conflict::Spent) => Ok(false),
            Err(Conflict::Db(e)) => Err(e),
        }
    }

    /// Spends a code and stores the tokens it buys. A code spent before revokes its grant
    /// (RFC 6749 §4.1.2: what the first use got is revoked too).
    pub async fn redeem_oidc_code(
        &self,
        code_hash: Vec<u8>,
        tokens: NewTokens,
        refresh_expires_at: i64,
        now: i64,
    ) -> Result<Spent, DbError> {
        self.write(move |conn| {
            Box::pin(async move {
                let spent =
                    query("UPDATE oidc_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
                        .bind(code_hash.as_slice())
                        .bind(now)
                        .execute(conn)
                        .await?;
                if spent.rows_affected() != 1 {
                    revoke(conn, &tokens.grant_id, now).await?;
                    return Ok(Spent::Reused);
                }
                if !live(conn, &tokens.grant_id).await? {
                    return Ok(Spent::Revoked);
                }
                insert_tokens(conn, &tokens, refresh_expires_at).await?;
                Ok(Spent::Fresh)
            })
        })
        .await
    }

    /// Rotates a refresh token: the old one is spent and a new pair stored. A token spent
    /// before is a reuse, which revokes the whole grant.
    pub async fn rotate_oidc_refresh(
        &self,
        old_hash: Vec<u8>,
        tokens: NewTokens,
        refresh_expires_at: i64,
        now: i64,
    ) -> Result<Spent, DbError> {
        self.write(move |conn| {
            Box::pin(async move {
                if !live(conn, &tokens.grant_id).await? {
                    return Ok(Spent::Revoked);
                }
                let spent = query(
                    "UPDATE oidc_tokens SET used_at = $2 WHERE id = $1 AND kind = 'refresh' \
                     AND used_at IS NULL",
                )
                .bind(old_hash.as_slice())
                .bind(now)
                .execute(conn)
                .await?;
                if spent.rows_affected() != 1 {
                    revoke(conn, &tokens.grant_id, now).await?;
                    return Ok(Spent::Reused);
                }
                insert_tokens(conn, &tokens, refresh_expires_at).await?;
                Ok(Spent::Fresh)
            })
        })
        .await
    }

    /// Revokes a grant (a replayed code, a reused refresh token, RFC 7009 revocation).
    pub async fn revoke_oidc_grant(&self, grant_id: Vec<u8>, now: i64) -> Result<(), DbError> {
        self.write(move |conn| Box::pin(async move { revoke(conn, &grant_id, now).await }))
            .await
    }

    /// Revokes every grant made from one Latch session (its RP-initiated logout); how many.
    pub async fn revoke_oidc_grants_of_session(
        &self,
        session_hash: Vec<u8>,
        now: i64,
    ) -> Result<u64, DbError> {
        self.write(move |conn| {
            Box::pin(async move {
                let rows = query(
                    "SELECT id FROM oidc_grants WHERE session_hash = $1 AND revoked_at IS NULL",
                )
                .bind(session_hash.as_slice())
                .fetch_all(conn)
                .await?;
                for row in &rows {
                    let id: Vec<u8> = row.try_get("id")?;
                    revoke(conn, &id, now).await?;
                }
                Ok(rows.len() as u64)
            })
        })
        .await
    }

    /// Deletes expired requests, codes, grants and assertion ids.
    pub async fn sweep_oidc(&self, now: i64) -> Result<(), DbError> {
        self.write_each(move |conn| {
            Box::pin(async move {
                for sweep in [
                    "DELETE FROM oidc_requests WHERE expires_at <= $1",
                    "DELETE FROM oidc_codes WHERE expires_at <= $1",
                    "DELETE FROM oidc_assertions WHERE expires_at <= $1",
                    "DELETE FROM oidc_grants WHERE expires_at <= $1",
                ] {
                    query(sweep).bind(now).execute(conn).await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Records a client assertion's `jti`; false when it was used before.
    pub async fn use_oidc_assertion(
        &self,
        client_id: String,
        jti: String,
        expires_at: i64,
    ) -> Result<bool, DbError> {
        self.write_each(move |conn| {
            Box::pin(async move {
                let done = query(
                    "INSERT INTO oidc_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(client_id)
                .bind(jti)
                .bind(expires_at)
                .execute(conn)
                .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }
}
