//! Begun ceremonies, held until their finish: sealed into their tokens (SQLite) or kept in
//! the database (PostgreSQL), so that any instance can finish what another began.

use latch_webauthn::b64;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::commit::CeremonyUse;
use super::db::{self, Conn, DbError};
use super::Store;
use crate::crypto;

/// A stored ceremony, as its finish reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub user_id: Option<i64>,
    pub state: String,
    pub expires_at: i64,
}

pub async fn insert(
    conn: &mut Conn,
    id: &[u8],
    kind: &str,
    user_id: Option<i64>,
    state: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), DbError> {
    db::query(
        "INSERT INTO ceremonies (id, kind, user_id, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_vec())
    .bind(kind)
    .bind(user_id)
    .bind(state)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes ceremonies that expired before `now`.
pub async fn purge_expired(conn: &mut Conn, now: i64) -> Result<u64, DbError> {
    let done = db::query("DELETE FROM ceremonies WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// The ceremony the token hash names, left in place (a finish that verifies before it writes
/// reads it first, then [`delete`]s it inside its write).
pub async fn get(conn: &mut Conn, id: &[u8], kind: &str) -> Result<Option<Stored>, DbError> {
    let row =
        db::query("SELECT user_id, state, expires_at FROM ceremonies WHERE id = $1 AND kind = $2")
            .bind(id.to_vec())
            .bind(kind)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|row| {
        Ok(Stored {
            user_id: row.try_get("user_id")?,
            state: row.try_get("state")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Whether the ceremony is still stored (not yet used up, whatever its kind or expiry).
pub async fn exists(conn: &mut Conn, id: &[u8]) -> Result<bool, DbError> {
    let row = db::query("SELECT 1 AS stored FROM ceremonies WHERE id = $1")
        .bind(id.to_vec())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Deletes the ceremony; false when it is gone already (another finish took it).
pub async fn delete(conn: &mut Conn, id: &[u8]) -> Result<bool, DbError> {
    let done = db::query("DELETE FROM ceremonies WHERE id = $1")
        .bind(id.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the sealed ceremony token with this hash was accepted; false when it was
/// accepted before (a replay). Inside the finish's transaction, so a failed finish leaves the
/// token usable.
pub async fn mark_used(conn: &mut Conn, id: &[u8], expires_at: i64) -> Result<bool, DbError> {
    let done = db::query(
        "INSERT INTO used_ceremonies (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id.to_vec())
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the sealed ceremony token with this hash was accepted already.
pub async fn is_used(conn: &mut Conn, id: &[u8]) -> Result<bool, DbError> {
    let row = db::query("SELECT 1 AS used FROM used_ceremonies WHERE id = $1")
        .bind(id.to_vec())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Removes used-token records whose tokens expired before `now` (they could not be replayed
/// anyway).
pub async fn purge_used(conn: &mut Conn, now: i64) -> Result<u64, DbError> {
    let done = db::query("DELETE FROM used_ceremonies WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

// ---- holding a begun ceremony until its finish ----------------------------------------------

/// Sealed tokens start with this (a stored ceremony's token is bare base64url, which has no
/// `.`), so a finish knows where to look.
const SEALED_PREFIX: &str = "s.";

/// The longest sealed token put in a cookie: browsers keep cookies up to about 4 KiB,
/// attributes included. Larger states (a long allowCredentials) are stored instead.
const MAX_SEALED_TOKEN: usize = 3000;

/// What a sealed token carries (its kind is bound to it as associated data).
#[derive(Serialize)]
struct Sealing<'a> {
    user_id: Option<i64>,
    expires_at: i64,
    state: &'a RawValue,
}

#[derive(Deserialize)]
struct Unsealed {
    user_id: Option<i64>,
    expires_at: i64,
    state: Box<RawValue>,
}

/// How a held ceremony is used up: see [`Ticket::to_use`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    hash: Vec<u8>,
    sealed_until: Option<i64>,
}

impl Ticket {
    /// Whether the token carries the ceremony (its use is recorded until it expires).
    pub fn is_sealed(&self) -> bool {
        self.sealed_until.is_some()
    }

    /// What the finish's commit does to use it up; `sweep_before`, when given, sweeps the
    /// records of used sealed tokens that expired before it (stored ceremonies need no sweep
    /// here: their rows go when used).
    pub fn to_use(&self, sweep_before: Option<i64>) -> CeremonyUse {
        match self.sealed_until {
            Some(expires_at) => CeremonyUse::Sealed {
                hash: self.hash.clone(),
                expires_at,
                sweep_before,
            },
            None => CeremonyUse::Stored {
                hash: self.hash.clone(),
            },
        }
    }
}

/// A ceremony found by its token, not used up yet (it may have expired).
#[derive(Debug)]
pub struct Held {
    pub user_id: Option<i64>,
    /// The state its begin stored, as JSON.
    pub state: String,
    pub expires_at: i64,
    pub ticket: Ticket,
}

impl Store {
    /// Holds a begun ceremony of `kind` until its finish, and returns the token that names it.
    /// SQLite seals the state into the token (nothing is written; the database holds only the
    /// tokens used up); PostgreSQL, whose instances may run on several hosts, and a state too
    /// large for a cookie, store it under the hash of a random token. Storing one also removes
    /// the expired ones when `sweep` (asked only then) says it is time.
    #[allow(clippy::too_many_arguments)]
    pub async fn hold_ceremony(
        &self,
        kind: &'static str,
        user_id: Option<i64>,
        state: &str,
        now: i64,
        expires_at: i64,
        sweep: impl FnOnce() -> bool,
    ) -> Result<String, DbError> {
        if let Some(key) = self.sealing_key() {
            let state = RawValue::from_string(state.to_owned())
                .map_err(|e| DbError::Encode(Box::new(e)))?;
            let plain = serde_json::to_vec(&Sealing {
                user_id,
                expires_at,
                state: &state,
            })
            .map_err(|e| DbError::Encode(Box::new(e)))?;
            let sealed = key
                .seal(kind, &plain)
                .map_err(|_| DbError::Other("the system RNG failed".into()))?;
            let token = format!("{SEALED_PREFIX}{}", b64::encode(&sealed));
            if token.len() <= MAX_SEALED_TOKEN {
                return Ok(token);
            }
        }
        let mut raw = [0u8; 32];
        aws_lc_rs::rand::fill(&mut raw)
            .map_err(|_| DbError::Other("the system RNG failed".into()))?;
        let token = b64::encode(raw);
        let hash = crypto::token_hash(&token);
        let state = state.to_owned();
        let sweep = sweep();
        self.write_each(move |conn| {
            Box::pin(async move {
                // Abandoned ceremonies are swept now and then rather than by a background task.
                if sweep {
                    purge_expired(conn, now).await?;
                }
                insert(conn, &hash, kind, user_id, &state, now, expires_at).await
            })
        })
        .await?;
        Ok(token)
    }

    /// The ceremony of `kind` that `token` names, if this store holds one. A token it cannot
    /// open (forged, altered, sealed under another key or for another kind) names none.
    pub async fn find_ceremony(
        &self,
        conn: &mut Conn,
        token: &str,
        kind: &'static str,
    ) -> Result<Option<Held>, DbError> {
        if let Some(sealed) = token.strip_prefix(SEALED_PREFIX) {
            let Some(key) = self.sealing_key() else {
                return Ok(None);
            };
            let Some(raw) = b64::decode(sealed) else {
                return Ok(None);
            };
            let Some(plain) = key.open(kind, &raw) else {
                return Ok(None);
            };
            let opened: Unsealed = serde_json::from_slice(&plain)
                .map_err(|e| DbError::decode("sealed ceremony", e.to_string()))?;
            return Ok(Some(Held {
                user_id: opened.user_id,
                state: opened.state.get().to_owned(),
                expires_at: opened.expires_at,
                // Known by the bytes it decodes to, not by its text: base64 has more than one
                // spelling of the same bytes (padding), and each must not be a fresh token.
                ticket: Ticket {
                    hash: crypto::digest(&raw),
                    sealed_until: Some(opened.expires_at),
                },
            }));
        }
        let hash = crypto::token_hash(token);
        Ok(get(conn, &hash, kind).await?.map(|stored| Held {
            user_id: stored.user_id,
            state: stored.state,
            expires_at: stored.expires_at,
            ticket: Ticket {
                hash,
                sealed_until: None,
            },
        }))
    }
}

/// Whether the ceremony was used up already (by another finish, since it was found).
pub async fn was_used(conn: &mut Conn, ticket: &Ticket) -> Result<bool, DbError> {
    match ticket.sealed_until {
        Some(_) => is_used(conn, &ticket.hash).await,
        None => Ok(!exists(conn, &ticket.hash).await?),
    }
}
