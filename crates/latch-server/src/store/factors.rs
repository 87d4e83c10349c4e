//! Passwords and second factors: TOTP secrets, recovery codes, failures on waiting sign-ins.
//! (Password attempts are counted in `rate_limits`, per username and per IP; the old
//! per-account `users.password_failures` columns are no longer read.)

use sqlx::{AnyConnection, Row};

pub async fn set_password(
    conn: &mut AnyConnection,
    user_id: i64,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
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

pub async fn totp(conn: &mut AnyConnection, user_id: i64) -> Result<Option<Totp>, sqlx::Error> {
    let row = sqlx::query("SELECT secret, confirmed, last_step FROM totp WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| {
        Ok(Totp {
            secret: row.try_get("secret")?,
            confirmed: row.try_get::<i64, _>("confirmed")? != 0,
            last_step: row.try_get("last_step")?,
        })
    })
    .transpose()
}

/// Starts (or restarts) enrolment with a new, unconfirmed secret, replacing an earlier
/// unconfirmed one. One statement, so it cannot race a confirmation: returns false, changing
/// nothing, when the account has a confirmed secret.
pub async fn put_unconfirmed_totp(
    conn: &mut AnyConnection,
    user_id: i64,
    secret: &[u8],
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO totp (user_id, secret, confirmed, last_step, created_at) \
         VALUES ($1, $2, 0, 0, $3) \
         ON CONFLICT (user_id) DO UPDATE \
         SET secret = excluded.secret, last_step = 0, created_at = excluded.created_at \
         WHERE totp.confirmed = 0",
    )
    .bind(user_id)
    .bind(secret.to_vec())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records an accepted code's step (and confirms the secret). Applies only if the step is
/// newer than the last one accepted, so two requests cannot both spend one code.
pub async fn accept_totp_step(
    conn: &mut AnyConnection,
    user_id: i64,
    step: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE totp SET last_step = $1, confirmed = 1 WHERE user_id = $2 AND last_step < $1",
    )
    .bind(step)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_totp(conn: &mut AnyConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM totp WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ---- recovery codes ------------------------------------------------------------------------

/// Replaces the account's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    conn: &mut AnyConnection,
    user_id: i64,
    hashes: &[Vec<u8>],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for hash in hashes {
        sqlx::query(
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
    conn: &mut AnyConnection,
    user_id: i64,
    hash: &[u8],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2")
        .bind(user_id)
        .bind(hash.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn recovery_codes_left(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
    row.try_get("n")
}

// ---- sessions waiting for a second factor ----------------------------------------------------

/// Counts a failed second-factor try on a waiting session; returns the new count.
pub async fn count_factor_failure(
    conn: &mut AnyConnection,
    session_hash: &[u8],
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
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
