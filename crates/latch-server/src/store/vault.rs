//! Passkey sync's storage: vaults, their ledger, key shares, recovery wraps, items and
//! pairings (tables in `migrations/*/0006_vault.sql`). Everything here is public or
//! ciphertext; whether it is well-formed and signed is checked above, with `latch-vault`.
//! Each write is one atomic commit that re-checks what it depends on (the ledger's head, an
//! item's revision) and rolls back whole when that moved.

use super::db::{query, Conn, DbError, Row};
use super::{flag, Store};

/// A vault as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    pub id: Vec<u8>,
    pub user_id: i64,
    pub escrow_id: Vec<u8>,
    pub escrow: String,
    pub head_seq: i64,
    pub head_hash: Vec<u8>,
    pub epoch: i64,
    pub change_seq: i64,
}

fn vault_from(row: &Row) -> Result<Vault, DbError> {
    Ok(Vault {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        escrow_id: row.try_get("escrow_id")?,
        escrow: row.try_get("escrow")?,
        head_seq: row.try_get("head_seq")?,
        head_hash: row.try_get("head_hash")?,
        epoch: row.try_get("epoch")?,
        change_seq: row.try_get("change_seq")?,
    })
}

pub async fn of_user(conn: &mut Conn, user_id: i64) -> Result<Option<Vault>, DbError> {
    query(
        "SELECT id, user_id, escrow_id, escrow, head_seq, head_hash, epoch, change_seq \
         FROM vaults WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(vault_from)
    .transpose()
}

/// The ledger's entries from `from` on, in order.
pub async fn ledger(conn: &mut Conn, vault: &[u8], from: i64) -> Result<Vec<Vec<u8>>, DbError> {
    let rows =
        query("SELECT entry FROM vault_ledger WHERE vault_id = $1 AND seq >= $2 ORDER BY seq")
            .bind(vault)
            .bind(from)
            .fetch_all(conn)
            .await?;
    rows.iter().map(|r| r.try_get("entry")).collect()
}

/// A device's signing key, if the ledger has it as a current member.
pub async fn member_key(
    conn: &mut Conn,
    vault: &[u8],
    device: &[u8],
) -> Result<Option<Vec<u8>>, DbError> {
    let row = query(
        "SELECT signing_key FROM vault_devices WHERE vault_id = $1 AND device_id = $2 AND member = 1",
    )
    .bind(vault)
    .bind(device)
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.try_get("signing_key")).transpose()
}

/// The key shares addressed to `device`, oldest epoch first.
pub async fn shares_for(
    conn: &mut Conn,
    vault: &[u8],
    device: &[u8],
) -> Result<Vec<Vec<u8>>, DbError> {
    let rows = query(
        "SELECT share FROM vault_key_shares WHERE vault_id = $1 AND device_id = $2 ORDER BY epoch",
    )
    .bind(vault)
    .bind(device)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.try_get("share")).collect()
}

pub async fn wrap(conn: &mut Conn, vault: &[u8], epoch: i64) -> Result<Option<Vec<u8>>, DbError> {
    let row = query("SELECT wrapped FROM vault_wraps WHERE vault_id = $1 AND epoch = $2")
        .bind(vault)
        .bind(epoch)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get("wrapped")).transpose()
}

/// One item's newest revision, as the change feed and a conflict report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub item_id: Vec<u8>,
    pub revision: i64,
    pub sealed: Vec<u8>,
    pub change_seq: i64,
}

fn item_from(row: &Row) -> Result<Item, DbError> {
    Ok(Item {
        item_id: row.try_get("item_id")?,
        revision: row.try_get("revision")?,
        sealed: row.try_get("sealed")?,
        change_seq: row.try_get("change_seq")?,
    })
}

pub async fn item(conn: &mut Conn, vault: &[u8], item_id: &[u8]) -> Result<Option<Item>, DbError> {
    query("SELECT item_id, revision, sealed, change_seq FROM vault_items WHERE vault_id = $1 AND item_id = $2")
        .bind(vault)
        .bind(item_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(item_from)
        .transpose()
}

/// Items changed after `after`, in the order they changed, at most `limit`.
pub async fn changes(
    conn: &mut Conn,
    vault: &[u8],
    after: i64,
    limit: i64,
) -> Result<Vec<Item>, DbError> {
    let rows = query(
        "SELECT item_id, revision, sealed, change_seq FROM vault_items \
         WHERE vault_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3",
    )
    .bind(vault)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(item_from).collect()
}

/// A device the ledger names, as an append leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: Vec<u8>,
    pub signing_key: Vec<u8>,
    pub hpke_key: Vec<u8>,
    pub member: bool,
}

/// A key share and who it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub epoch: i64,
    pub device: Vec<u8>,
    pub bytes: Vec<u8>,
}

/// One ledger entry and what comes with it, checked by the caller against the whole chain.
#[derive(Debug, Clone)]
pub struct Append {
    pub vault: Vec<u8>,
    /// The head the entry was checked against: the append fails if it moved since.
    pub after_seq: i64,
    pub seq: i64,
    pub entry: Vec<u8>,
    pub head_hash: Vec<u8>,
    pub epoch: i64,
    /// Every device the ledger names, and whether it is a member after this entry.
    pub devices: Vec<Device>,
    pub shares: Vec<Share>,
    /// Epoch keys wrapped under the recovery key in force after this entry, by epoch.
    pub wraps: Vec<(i64, Vec<u8>)>,
}

/// A new vault: its genesis entry (an [`Append`] after nothing) and its owner.
#[derive(Debug, Clone)]
pub struct NewVault {
    pub user_id: i64,
    pub escrow_id: Vec<u8>,
    pub escrow: String,
    pub genesis: Append,
    pub now: i64,
}

/// Why a vault write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum VaultWriteError {
    #[error("another write came first")]
    Conflict,
    #[error("the vault's epoch moved on")]
    StaleEpoch,
    #[error(transparent)]
    Db(#[from] DbError),
}

async fn write_append(conn: &mut Conn, a: &Append) -> Result<(), VaultWriteError> {
    query("INSERT INTO vault_ledger (vault_id, seq, entry) VALUES ($1, $2, $3)")
        .bind(a.vault.as_slice())
        .bind(a.seq)
        .bind(a.entry.as_slice())
        .execute(conn)
        .await?;
    for d in &a.devices {
        query(
            "INSERT INTO vault_devices (vault_id, device_id, signing_key, hpke_key, member) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (vault_id, device_id) DO UPDATE SET member = $5",
        )
        .bind(a.vault.as_slice())
        .bind(d.id.as_slice())
        .bind(d.signing_key.as_slice())
        .bind(d.hpke_key.as_slice())
        .bind(flag(d.member))
        .execute(conn)
        .await?;
    }
    write_shares(conn, &a.vault, &a.shares).await?;
    for (epoch, wrapped) in &a.wraps {
        query(
            "INSERT INTO vault_wraps (vault_id, epoch, wrapped) VALUES ($1, $2, $3) \
             ON CONFLICT (vault_id, epoch) DO UPDATE SET wrapped = $3",
        )
        .bind(a.vault.as_slice())
        .bind(*epoch)
        .bind(wrapped.as_slice())
        .execute(conn)
        .await?;
    }
    Ok(())
}

async fn write_shares(conn: &mut Conn, vault: &[u8], shares: &[Share]) -> Result<(), DbError> {
    for s in shares {
        query(
            "INSERT INTO vault_key_shares (vault_id, epoch, device_id, share) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (vault_id, device_id, epoch) DO UPDATE SET share = $4",
        )
        .bind(vault)
        .bind(s.epoch)
        .bind(s.device.as_slice())
        .bind(s.bytes.as_slice())
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// What a write of an item did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutItem {
    /// Written, as change number `seq`.
    Written { seq: i64 },
    /// The item is not at the revision the write was based on; this is what it is.
    Conflict(Option<Item>),
    /// The vault's epoch is no longer the one the item was sealed under.
    StaleEpoch,
}

/// A new revision of one item.
#[derive(Debug, Clone)]
pub struct NewRevision {
    pub vault: Vec<u8>,
    pub item_id: Vec<u8>,
    /// The revision it replaces (0: the item is new).
    pub base: i64,
    pub revision: i64,
    pub epoch: i64,
    pub deleted: bool,
    pub sealed: Vec<u8>,
}

impl Store {
    /// Creates `user`'s vault with its genesis; false if the account has one already.
    pub async fn create_vault(&self, v: NewVault) -> Result<bool, DbError> {
        let done = self
            .write(move |conn| {
                Box::pin(async move {
                    let g = &v.genesis;
                    let made = query(
                        "INSERT INTO vaults (id, user_id, escrow_id, escrow, head_seq, head_hash, epoch, \
                         change_seq, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(g.vault.as_slice())
                    .bind(v.user_id)
                    .bind(v.escrow_id.as_slice())
                    .bind(v.escrow.as_str())
                    .bind(g.seq)
                    .bind(g.head_hash.as_slice())
                    .bind(g.epoch)
                    .bind(v.now)
                    .execute(conn)
                    .await?;
                    if made.rows_affected() != 1 {
                        return Err(VaultWriteError::Conflict);
                    }
                    write_append(conn, g).await
                })
            })
            .await;
        match done {
            Ok(()) => Ok(true),
            Err(VaultWriteError::Conflict | VaultWriteError::StaleEpoch) => Ok(false),
            Err(VaultWriteError::Db(e)) => Err(e),
        }
    }

    /// Appends one entry if the head is still where it was checked; false if it moved.
    pub async fn append_ledger(&self, a: Append) -> Result<bool, DbError> {
        let done = self
            .write(move |conn| {
                Box::pin(async move {
                    let moved = query(
                        "UPDATE vaults SET head_seq = $3, head_hash = $4, epoch = $5 \
                         WHERE id = $1 AND head_seq = $2",
                    )
                    .bind(a.vault.as_slice())
                    .bind(a.after_seq)
                    .bind(a.seq)
                    .bind(a.head_hash.as_slice())
                    .bind(a.epoch)
                    .execute(conn)
                    .await?;
                    if moved.rows_affected() != 1 {
                        return Err(VaultWriteError::Conflict);
                    }
                    write_append(conn, &a).await
                })
            })
            .await;
        match done {
            Ok(()) => Ok(true),
            Err(VaultWriteError::Conflict | VaultWriteError::StaleEpoch) => Ok(false),
            Err(VaultWriteError::Db(e)) => Err(e),
        }
    }

    pub async fn put_shares(&self, vault: Vec<u8>, shares: Vec<Share>) -> Result<(), DbError> {
        self.write(move |conn| Box::pin(async move { write_shares(conn, &vault, &shares).await }))
            .await
    }

    /// Writes a new revision if the item is still at `base`, numbering the change.
    pub async fn put_item(&self, r: NewRevision) -> Result<PutItem, DbError> {
        let (vault, item_id) = (r.vault.clone(), r.item_id.clone());
        let done = self
            .write(move |conn| {
                Box::pin(async move {
                    let seq: i64 = query(
                        "UPDATE vaults SET change_seq = change_seq + 1 WHERE id = $1 AND epoch = $2 \
                         RETURNING change_seq",
                    )
                    .bind(r.vault.as_slice())
                    .bind(r.epoch)
                    .fetch_optional(conn)
                    .await?
                    // A removal moved the epoch on since the item was checked.
                    .ok_or(VaultWriteError::StaleEpoch)?
                    .try_get("change_seq")?;
                    // A new item may not exist yet; a new revision must replace `base`.
                    let written = if r.base == 0 {
                        query(
                            "INSERT INTO vault_items (vault_id, item_id, revision, epoch, deleted, sealed, change_seq) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (vault_id, item_id) DO NOTHING",
                        )
                    } else {
                        query(
                            "UPDATE vault_items SET revision = $3, epoch = $4, deleted = $5, sealed = $6, \
                             change_seq = $7 WHERE vault_id = $1 AND item_id = $2 AND revision = $8",
                        )
                    };
                    let written = written
                        .bind(r.vault.as_slice())
                        .bind(r.item_id.as_slice())
                        .bind(r.revision)
                        .bind(r.epoch)
                        .bind(flag(r.deleted))
                        .bind(r.sealed.as_slice())
                        .bind(seq);
                    let written = if r.base == 0 { written } else { written.bind(r.base) };
                    let written = written.execute(conn).await?;
                    if written.rows_affected() != 1 {
                        return Err(VaultWriteError::Conflict);
                    }
                    Ok(seq)
                })
            })
            .await;
        match done {
            Ok(seq) => Ok(PutItem::Written { seq }),
            Err(VaultWriteError::Conflict) => {
                let mut conn = self.conn().await?;
                Ok(PutItem::Conflict(item(&mut conn, &vault, &item_id).await?))
            }
            Err(VaultWriteError::StaleEpoch) => Ok(PutItem::StaleEpoch),
            Err(VaultWriteError::Db(e)) => Err(e),
        }
    }
}

/// A pairing's messages so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    pub id: Vec<u8>,
    pub request: Vec<u8>,
    pub response: Option<Vec<u8>>,
    pub confirmation: Option<Vec<u8>>,
    pub expires_at: i64,
}

fn pairing_from(row: &Row) -> Result<Pairing, DbError> {
    Ok(Pairing {
        id: row.try_get("id")?,
        request: row.try_get("request")?,
        response: row.try_get("response")?,
        confirmation: row.try_get("confirmation")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// The live pairings of a vault, newest first.
pub async fn pairings(conn: &mut Conn, vault: &[u8], now: i64) -> Result<Vec<Pairing>, DbError> {
    let rows = query(
        "SELECT id, request, response, confirmation, expires_at FROM vault_pairings \
         WHERE vault_id = $1 AND expires_at > $2 ORDER BY expires_at DESC",
    )
    .bind(vault)
    .bind(now)
    .fetch_all(conn)
    .await?;
    rows.iter().map(pairing_from).collect()
}

/// Which message of a pairing a write sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairingStep {
    Response,
    Confirmation,
}

impl Store {
    /// Starts a pairing (and sweeps the vault's expired ones).
    pub async fn start_pairing(
        &self,
        vault: Vec<u8>,
        id: Vec<u8>,
        request: Vec<u8>,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        self.write(move |conn| {
            Box::pin(async move {
                query("DELETE FROM vault_pairings WHERE vault_id = $1 AND expires_at <= $2")
                    .bind(vault.as_slice())
                    .bind(now)
                    .execute(conn)
                    .await?;
                query("INSERT INTO vault_pairings (id, vault_id, request, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(vault)
                    .bind(request)
                    .bind(expires_at)
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Sets a pairing's response or confirmation, once; false if it is gone or set already.
    pub async fn pairing_step(
        &self,
        vault: Vec<u8>,
        id: Vec<u8>,
        step: PairingStep,
        message: Vec<u8>,
        now: i64,
    ) -> Result<bool, DbError> {
        self.write(move |conn| {
            Box::pin(async move {
                let sql = match step {
                    PairingStep::Response => {
                        "UPDATE vault_pairings SET response = $3 WHERE vault_id = $1 AND id = $2 \
                         AND response IS NULL AND expires_at > $4"
                    }
                    PairingStep::Confirmation => {
                        "UPDATE vault_pairings SET confirmation = $3 WHERE vault_id = $1 AND id = $2 \
                         AND response IS NOT NULL AND confirmation IS NULL AND expires_at > $4"
                    }
                };
                let done = query(sql).bind(vault).bind(id).bind(message).bind(now).execute(conn).await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    pub async fn end_pairing(&self, vault: Vec<u8>, id: Vec<u8>) -> Result<(), DbError> {
        self.write(move |conn| {
            Box::pin(async move {
                query("DELETE FROM vault_pairings WHERE vault_id = $1 AND id = $2")
                    .bind(vault)
                    .bind(id)
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }
}
