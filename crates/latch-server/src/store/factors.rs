//! Passwords and second factors: TOTP secrets, recovery codes, failures on waiting sign-ins.
//! (Password attempts are counted in `rate_limits`, per username and per IP; the old
//! per-account `users.password_failures` columns are no longer read.)

use super::db::{self, Conn, DbError};

use crate::sealed::SealingKey;

pub async fn set_password(conn: &mut Conn, user_id: i64, hash: &str) -> Result<(), DbError> {
    db::query(
        "UPDATE users SET password_hash = $1, password_failures = 0, password_locked_until = 0 \
         WHERE id = $2",
    )
    .bind(hash)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---- TOTP ----------------------------------------------------------------------------------

/// A TOTP secret on record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totp {
    pub secret: Vec<u8>,
    pub confirmed: bool,
    pub last_step: i64,
}

impl Totp {
    /// The step of the code a person typed when it is one of this secret's current codes and
    /// newer than the last one used (a code is good once); `None` otherwise.
    pub fn fresh_step(&self, typed: &str, now: i64) -> Option<i64> {
        let code = crate::totp::normalize(typed)?;
        crate::totp::matching_step(&self.secret, &code, now).filter(|s| *s > self.last_step)
    }
}

/// How long a secret stored before secrets were sealed is (the raw 20 bytes); a sealed one
/// is longer (salt and tag).
const PLAIN_SECRET_LEN: usize = 20;

/// Secrets are sealed under the key kept outside the database ([`SealingKey`], the file
/// beside a SQLite database or `--key-file`) and bound to their account: a dump of the
/// database alone yields no authenticator-app codes, and a row copied to another account
/// does not open.
fn context(user_id: i64) -> String {
    format!("totp-secret {user_id}")
}

fn seal(key: &SealingKey, user_id: i64, secret: &[u8]) -> Result<Vec<u8>, DbError> {
    key.seal(&context(user_id), secret)
        .map_err(|e| DbError::Encode(Box::new(e)))
}

/// A secret sealed for its account, ready to store; only [`SealedSecret::new`] makes one.
#[derive(Debug, Clone)]
pub struct SealedSecret {
    user_id: i64,
    sealed: Vec<u8>,
}

impl SealedSecret {
    pub fn new(key: &SealingKey, user_id: i64, secret: &[u8]) -> Result<Self, DbError> {
        Ok(SealedSecret {
            user_id,
            sealed: seal(key, user_id, secret)?,
        })
    }
}

/// Whether the account has an authenticator app (a confirmed secret).
pub async fn has_totp(conn: &mut Conn, user_id: i64) -> Result<bool, DbError> {
    let row = db::query("SELECT confirmed FROM totp WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("confirmed")? != 0,
        None => false,
    })
}

pub async fn totp(
    conn: &mut Conn,
    key: &SealingKey,
    user_id: i64,
) -> Result<Option<Totp>, DbError> {
    let row = db::query("SELECT secret, confirmed, last_step FROM totp WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| {
        let sealed: Vec<u8> = row.try_get("secret")?;
        let secret = key.open(&context(user_id), &sealed).ok_or_else(|| {
            DbError::decode(
                "secret",
                format!("the authenticator-app secret of account {user_id} does not open with this key file"),
            )
        })?;
        Ok(Totp {
            secret,
            confirmed: row.try_get::<i64>("confirmed")? != 0,
            last_step: row.try_get("last_step")?,
        })
    })
    .transpose()
}

/// Starts (or restarts) enrolment with a new, unconfirmed secret, replacing an earlier
/// unconfirmed one. One statement, so it cannot race a confirmation: returns false, changing
/// nothing, when the account has a confirmed secret.
pub async fn put_unconfirmed_totp(
    conn: &mut Conn,
    secret: &SealedSecret,
    now: i64,
) -> Result<bool, DbError> {
    let done = db::query(
        "INSERT INTO totp (user_id, secret, confirmed, last_step, created_at) \
         VALUES ($1, $2, 0, 0, $3) \
         ON CONFLICT (user_id) DO UPDATE \
         SET secret = excluded.secret, last_step = 0, created_at = excluded.created_at \
         WHERE totp.confirmed = 0",
    )
    .bind(secret.user_id)
    .bind(secret.sealed.clone())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Seals the secrets stored before secrets were sealed (at start, inside the caller's
/// transaction); returns how many.
pub async fn seal_plain_secrets(conn: &mut Conn, key: &SealingKey) -> Result<u64, DbError> {
    let rows = db::query("SELECT user_id, secret FROM totp WHERE length(secret) = $1")
        .bind(i64::try_from(PLAIN_SECRET_LEN).unwrap_or(20))
        .fetch_all(&mut *conn)
        .await?;
    let mut sealed = 0;
    for row in &rows {
        let user_id: i64 = row.try_get("user_id")?;
        let plain: Vec<u8> = row.try_get("secret")?;
        db::query("UPDATE totp SET secret = $1 WHERE user_id = $2 AND secret = $3")
            .bind(seal(key, user_id, &plain)?)
            .bind(user_id)
            .bind(plain)
            .execute(&mut *conn)
            .await?;
        sealed += 1;
    }
    Ok(sealed)
}

/// Records an accepted code's step (and confirms the secret). Applies only if the step is
/// newer than the last one accepted, so two requests cannot both spend one code.
pub async fn accept_totp_step(conn: &mut Conn, user_id: i64, step: i64) -> Result<bool, DbError> {
    let done = db::query(
        "UPDATE totp SET last_step = $1, confirmed = 1 WHERE user_id = $2 AND last_step < $1",
    )
    .bind(step)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_totp(conn: &mut Conn, user_id: i64) -> Result<bool, DbError> {
    let done = db::query("DELETE FROM totp WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ---- recovery codes ------------------------------------------------------------------------

/// Replaces the account's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    conn: &mut Conn,
    user_id: i64,
    hashes: &[Vec<u8>],
    now: i64,
) -> Result<(), DbError> {
    db::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for hash in hashes {
        db::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(hash.clone())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Spends one recovery code: true if it existed (it is gone now).
pub async fn spend_recovery_code(
    conn: &mut Conn,
    user_id: i64,
    hash: &[u8],
) -> Result<bool, DbError> {
    let done = db::query("DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2")
        .bind(user_id)
        .bind(hash.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn recovery_codes_left(conn: &mut Conn, user_id: i64) -> Result<i64, DbError> {
    let row = db::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
    row.try_get("n")
}

// ---- sessions waiting for a second factor ----------------------------------------------------

/// Counts a failed second-factor try on a waiting session; returns the new count.
pub async fn count_factor_failure(conn: &mut Conn, session_hash: &[u8]) -> Result<i64, DbError> {
    let row = db::query(
        "UPDATE sessions SET factor_failures = factor_failures + 1 WHERE id = $1 \
         RETURNING factor_failures",
    )
    .bind(session_hash.to_vec())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => row.try_get("factor_failures"),
        None => Ok(i64::MAX),
    }
}

impl super::Store {
    /// [`put_unconfirmed_totp`] as a durable write of its own.
    pub async fn start_totp(&self, secret: SealedSecret, now: i64) -> Result<bool, DbError> {
        self.write_each(move |conn| {
            Box::pin(async move { put_unconfirmed_totp(conn, &secret, now).await })
        })
        .await
    }

    /// Counts a failed second-factor try on a waiting session; at `max` failures the session
    /// is deleted (the sign-in must start over) and this returns true.
    pub async fn fail_second_factor(
        &self,
        session_hash: Vec<u8>,
        max: i64,
    ) -> Result<bool, DbError> {
        self.write(move |conn| {
            Box::pin(async move {
                if count_factor_failure(conn, &session_hash).await? < max {
                    return Ok(false);
                }
                super::sessions::delete(conn, &session_hash).await?;
                Ok(true)
            })
        })
        .await
    }
}
