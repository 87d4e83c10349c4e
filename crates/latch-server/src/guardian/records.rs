//! A guardian's records in its own database: one row per escrow. Every change is one
//! conditional statement, committed (durably, on SQLite through the group commit with
//! `synchronous=FULL`) before the guardian answers; a guess is counted only if the row still
//! holds the count it was read with, so concurrent guesses cannot share one count.

use latch_vault::escrow::guardian::{Registration, Secrets};
use latch_vault::escrow::messages::Stage;

use crate::store::db::{query, Row};
use crate::store::{DbError, Store};

const COLUMNS: &str = "owner, version, share_index, threshold, allowed, attempted, salt, \
    commitment, oprf_key, masked_share, unlock_tag, wrapped_key, staged";

/// What a guardian holds for one escrow.
#[derive(Debug, Clone)]
pub struct Record {
    pub owner: [u8; 32],
    pub current: Option<Registration>,
    pub staged: Option<Vec<u8>>,
}

fn fixed<const N: usize>(row: &Row, column: &str) -> Result<[u8; N], DbError> {
    row.try_get::<Vec<u8>>(column)?
        .try_into()
        .map_err(|_| DbError::decode(column, format!("not {N} bytes")))
}

fn small(row: &Row, column: &str) -> Result<u32, DbError> {
    u32::try_from(row.try_get::<i64>(column)?).map_err(|_| DbError::decode(column, "out of range"))
}

fn decode(row: &Row) -> Result<Record, DbError> {
    let current = match row.try_get::<Option<Vec<u8>>>("version")? {
        None => None,
        Some(_) => {
            let secrets = match row.try_get::<Option<Vec<u8>>>("oprf_key")? {
                None => None,
                Some(_) => Some(Secrets {
                    oprf_key: fixed(row, "oprf_key")?,
                    masked_share: fixed(row, "masked_share")?,
                    unlock_tag: fixed(row, "unlock_tag")?,
                    wrapped_key: row.try_get("wrapped_key")?,
                }),
            };
            Some(Registration {
                version: fixed(row, "version")?,
                index: u8::try_from(row.try_get::<i64>("share_index")?)
                    .map_err(|_| DbError::decode("share_index", "out of range"))?,
                threshold: u8::try_from(row.try_get::<i64>("threshold")?)
                    .map_err(|_| DbError::decode("threshold", "out of range"))?,
                allowed: small(row, "allowed")?,
                attempted: small(row, "attempted")?,
                salt: fixed(row, "salt")?,
                commitment: fixed(row, "commitment")?,
                secrets,
            })
        }
    };
    Ok(Record {
        owner: fixed(row, "owner")?,
        current,
        staged: row.try_get("staged")?,
    })
}

pub async fn find(store: &Store, id: &[u8; 16]) -> Result<Option<Record>, DbError> {
    let mut conn = store.conn().await?;
    let sql = format!("SELECT {COLUMNS} FROM escrows WHERE id = $1");
    let row = query(&sql)
        .bind(id.as_slice())
        .fetch_optional(&mut conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Stores a staged registration if the escrow's owner is still `owner` (or, with `None`, if
/// there is no escrow yet). False when another write came first.
pub async fn stage(
    store: &Store,
    id: [u8; 16],
    owner: Option<[u8; 32]>,
    stage: &Stage,
    staged: Vec<u8>,
    now: i64,
) -> Result<bool, DbError> {
    let new_owner = stage.owner;
    store
        .write(move |conn| {
            Box::pin(async move {
                let done = match owner {
                    None => {
                        query(
                            "INSERT INTO escrows (id, owner, staged, updated_at) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (id) DO NOTHING",
                        )
                        .bind(id.as_slice())
                        .bind(new_owner.as_slice())
                        .bind(staged)
                        .bind(now)
                        .execute(conn)
                        .await?
                    }
                    Some(owner) => {
                        query(
                            "UPDATE escrows SET staged = $3, updated_at = $4 WHERE id = $1 AND owner = $2",
                        )
                        .bind(id.as_slice())
                        .bind(owner.as_slice())
                        .bind(staged)
                        .bind(now)
                        .execute(conn)
                        .await?
                    }
                };
                Ok(done.rows_affected() == 1)
            })
        })
        .await
}

/// Replaces the current registration with the staged one it was made from (still staged as
/// `staged`): counts start at zero, the new owner takes over.
pub async fn commit(
    store: &Store,
    id: [u8; 16],
    staged: Vec<u8>,
    registration: &Registration,
    owner: [u8; 32],
    now: i64,
) -> Result<bool, DbError> {
    let r = registration.clone();
    store
        .write(move |conn| {
            Box::pin(async move {
                let s = r.secrets.as_ref().ok_or_else(|| DbError::Other("no secrets".into()))?;
                let done = query(
                    "UPDATE escrows SET owner = $3, version = $4, share_index = $5, threshold = $6, \
                     allowed = $7, attempted = 0, salt = $8, commitment = $9, oprf_key = $10, \
                     masked_share = $11, unlock_tag = $12, wrapped_key = $13, staged = NULL, \
                     updated_at = $14 WHERE id = $1 AND staged = $2",
                )
                .bind(id.as_slice())
                .bind(staged)
                .bind(owner.as_slice())
                .bind(r.version.as_slice())
                .bind(i64::from(r.index))
                .bind(i64::from(r.threshold))
                .bind(i64::from(r.allowed))
                .bind(r.salt.as_slice())
                .bind(r.commitment.as_slice())
                .bind(s.oprf_key.as_slice())
                .bind(s.masked_share.as_slice())
                .bind(s.unlock_tag.as_slice())
                .bind(s.wrapped_key.clone())
                .bind(now)
                .execute(conn)
                .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
}

/// Writes `next` (one more guess counted, or the count reset) over `was`, only if the row
/// still holds `was`'s version and count. When `next` has no secrets left they are erased
/// in the same statement. False when another guess or reset came first.
pub async fn update_count(
    store: &Store,
    id: [u8; 16],
    was: &Registration,
    next: &Registration,
    now: i64,
) -> Result<bool, DbError> {
    let (version, old, new, erase) = (
        was.version,
        i64::from(was.attempted),
        i64::from(next.attempted),
        next.secrets.is_none(),
    );
    store
        .write(move |conn| {
            Box::pin(async move {
                let sql = if erase {
                    "UPDATE escrows SET attempted = $4, oprf_key = NULL, masked_share = NULL, \
                     unlock_tag = NULL, wrapped_key = NULL, updated_at = $5 \
                     WHERE id = $1 AND version = $2 AND attempted = $3 AND oprf_key IS NOT NULL"
                } else {
                    "UPDATE escrows SET attempted = $4, updated_at = $5 \
                     WHERE id = $1 AND version = $2 AND attempted = $3 AND oprf_key IS NOT NULL"
                };
                let done = query(sql)
                    .bind(id.as_slice())
                    .bind(version.as_slice())
                    .bind(old)
                    .bind(new)
                    .bind(now)
                    .execute(conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
}
