//! Creating the vault, and its ledger, key shares and recovery wraps.
//!
//! The store replays the whole ledger before it accepts an entry, so it never holds a chain a
//! device would refuse; devices still check everything themselves, since the store is not
//! trusted.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::Json;
use latch_vault::epoch::share_header;
use latch_vault::ledger::{Entry, Ledger, Op, Via};
use latch_vault::recovery::wrap_header;
use latch_vault::{DeviceId, VaultError};
use latch_webauthn::b64;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bytes, json, member_signed, of_account, query_param};
use crate::error::ApiError;
use crate::session::SignedIn;
use crate::state::AppState;
use crate::store::vault::{self, Append, Device, NewVault, Share, Vault};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Create {
    genesis: String,
    share: String,
    wrap: String,
}

/// Every device the ledger names, and whether it is a member at the head.
fn devices(before: Option<&Ledger>, after: &Ledger) -> Vec<Device> {
    let mut out: Vec<Device> = after
        .members()
        .map(|(id, m)| Device {
            id: id.0.to_vec(),
            signing_key: m.public.signing.to_vec(),
            hpke_key: m.public.hpke.to_vec(),
            member: true,
        })
        .collect();
    if let Some(before) = before {
        for (id, m) in before.members() {
            if after.member(id).is_none() {
                out.push(Device {
                    id: id.0.to_vec(),
                    signing_key: m.public.signing.to_vec(),
                    hpke_key: m.public.hpke.to_vec(),
                    member: false,
                });
            }
        }
    }
    out
}

/// Key shares as the store files them, each for a member of `ledger`, from `signer` (the
/// device that signed the request, a member), for an epoch the ledger has reached.
fn checked_shares(
    ledger: &Ledger,
    signer: DeviceId,
    shares: &[String],
) -> Result<Vec<Share>, ApiError> {
    shares
        .iter()
        .map(|text| {
            let share = bytes("shares", text)?;
            let h = share_header(&share)?;
            if h.vault != ledger.vault() {
                return Err(VaultError::WrongVault.into());
            }
            if h.epoch > ledger.epoch() {
                return Err(VaultError::ShareEpochAhead {
                    current: ledger.epoch(),
                    got: h.epoch,
                }
                .into());
            }
            if ledger.member(&h.recipient).is_none() {
                return Err(VaultError::NotMember(h.recipient).into());
            }
            // Only the device that signed the request shares keys in it, so one member
            // cannot overwrite another's shares under that member's name.
            if h.sharer != signer || ledger.member(&h.sharer).is_none() {
                return Err(VaultError::SignerNotMember(h.sharer).into());
            }
            Ok(Share {
                epoch: h.epoch as i64,
                device: h.recipient.0.to_vec(),
                bytes: share,
            })
        })
        .collect()
}

fn checked_wrap(ledger: &Ledger, text: &str) -> Result<(i64, Vec<u8>), ApiError> {
    let wrap = bytes("wrap", text)?;
    let (vault, epoch) = wrap_header(&wrap)?;
    if vault != ledger.vault() {
        return Err(VaultError::WrongVault.into());
    }
    if epoch > ledger.epoch() {
        return Err(ApiError::InvalidBody(format!(
            "a wrap is for epoch {epoch}; the ledger is at epoch {}",
            ledger.epoch()
        )));
    }
    Ok((epoch as i64, wrap))
}

fn head_json(seq: i64, hash: &[u8]) -> Value {
    json!({ "seq": seq, "hash": b64::encode(hash) })
}

/// `POST /vault`: the genesis entry (which names the escrow), the creating device's own key
/// share and the recovery wrap of epoch 0, signed by the device the genesis creates.
pub async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let c: Create = json(&body)?;
    let genesis = bytes("genesis", &c.genesis)?;
    let ledger = Ledger::replay([&genesis])?;
    let creator = ledger
        .members()
        .next()
        .map(|(_, m)| m.public)
        .ok_or(VaultError::MissingGenesis)?;
    let pending = Vault {
        id: ledger.vault().0.to_vec(),
        user_id: signed_in.user.id,
        escrow_id: Vec::new(),
        escrow: String::new(),
        head_seq: 0,
        head_hash: Vec::new(),
        epoch: 0,
        change_seq: 0,
    };
    let signer = member_signed(
        &state,
        &pending,
        (&method, &uri, &headers, &body),
        Some(creator),
    )
    .await?;
    let shares = checked_shares(&ledger, signer, std::slice::from_ref(&c.share))?;
    let wrap = checked_wrap(&ledger, &c.wrap)?;
    // Where the escrow is comes from the signed genesis (the devices read it there too).
    let escrow = ledger.escrow();
    let escrow_id = escrow.id.to_vec();
    let escrow_json = json!({ "guardians": escrow.guardians, "threshold": escrow.threshold });
    let head = ledger.head();
    let made = state
        .store
        .create_vault(NewVault {
            user_id: signed_in.user.id,
            escrow_id: escrow_id.clone(),
            escrow: escrow_json.to_string(),
            genesis: Append {
                vault: pending.id.clone(),
                after_seq: -1,
                seq: 0,
                entry: genesis,
                head_hash: head.hash.to_vec(),
                epoch: 0,
                devices: devices(None, &ledger),
                shares,
                wraps: vec![wrap],
            },
            now: state.now(),
        })
        .await?;
    if !made {
        return Err(ApiError::VaultExists);
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({ "vaultId": b64::encode(&pending.id), "escrowId": b64::encode(&escrow_id) })),
    ))
}

/// `GET /vault`: the vault's id, escrow, ledger head, epoch and change cursor.
pub async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<Value>, ApiError> {
    let v = of_account(&state, signed_in.user.id).await?;
    let escrow: Value = serde_json::from_str(&v.escrow).unwrap_or(Value::Null);
    Ok(Json(json!({
        "vaultId": b64::encode(&v.id),
        "escrowId": b64::encode(&v.escrow_id),
        "escrow": escrow,
        "head": head_json(v.head_seq, &v.head_hash),
        "epoch": v.epoch,
        "changeSeq": v.change_seq,
    })))
}

/// `GET /vault/ledger?from=N`: the entries from N on.
pub async fn entries(
    State(state): State<AppState>,
    signed_in: SignedIn,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let v = of_account(&state, signed_in.user.id).await?;
    let from = super::number_param(&uri, "from", 0)?;
    let mut conn = state.store.conn().await?;
    let entries = vault::ledger(&mut conn, &v.id, from).await?;
    Ok(Json(
        json!({ "entries": entries.iter().map(b64::encode).collect::<Vec<_>>() }),
    ))
}

async fn replayed(state: &AppState, v: &Vault) -> Result<Ledger, ApiError> {
    let mut conn = state.store.conn().await?;
    let entries = vault::ledger(&mut conn, &v.id, 0).await?;
    Ledger::replay(&entries).map_err(|e| ApiError::internal(format_args!("stored ledger: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AppendBody {
    entry: String,
    #[serde(default)]
    shares: Vec<String>,
    #[serde(default)]
    wraps: Vec<String>,
}

/// `POST /vault/ledger`: one entry, with the key shares and recovery wraps of the epochs it
/// brings (a new epoch needs its wrap; a new recovery key, every epoch's wrap again). Signed by a member, or for a recovery join by the
/// device joining.
pub async fn append(
    State(state): State<AppState>,
    signed_in: SignedIn,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let a: AppendBody = json(&body)?;
    let v = of_account(&state, signed_in.user.id).await?;
    let bytes_in = bytes("entry", &a.entry)?;
    let entry = Entry::parse(&bytes_in)?;
    if entry.body().seq != (v.head_seq + 1) as u64 {
        return Err(ApiError::LedgerConflict { head: v.head_seq });
    }
    let joining = match &entry.body().op {
        Op::Add {
            device,
            via: Via::Recovery,
        } => Some(*device),
        _ => None,
    };
    let signer = member_signed(&state, &v, (&method, &uri, &headers, &body), joining).await?;
    let before = replayed(&state, &v).await?;
    let mut after = before.clone();
    after.append(&bytes_in)?;
    let shares = checked_shares(&after, signer, &a.shares)?;
    let wraps = a
        .wraps
        .iter()
        .map(|w| checked_wrap(&after, w))
        .collect::<Result<Vec<_>, _>>()?;
    let current = after.epoch() as i64;
    if after.epoch() != before.epoch() && !wraps.iter().any(|(e, _)| *e == current) {
        return Err(ApiError::InvalidBody(format!(
            "entry {} starts epoch {}: send its recovery wrap with it",
            entry.body().seq,
            after.epoch()
        )));
    }
    let head = after.head();
    let appended = state
        .store
        .append_ledger(Append {
            vault: v.id.clone(),
            after_seq: v.head_seq,
            seq: head.seq as i64,
            entry: bytes_in,
            head_hash: head.hash.to_vec(),
            epoch: after.epoch() as i64,
            devices: devices(Some(&before), &after),
            shares,
            wraps,
        })
        .await?;
    if !appended {
        return Err(ApiError::LedgerConflict { head: v.head_seq });
    }
    Ok(Json(
        json!({ "head": head_json(head.seq as i64, &head.hash), "epoch": after.epoch() }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SharesBody {
    shares: Vec<String>,
}

/// `PUT /vault/shares`: key shares for members (a sponsor sharing the epoch key with the
/// device it added), signed by a member.
pub async fn put_shares(
    State(state): State<AppState>,
    signed_in: SignedIn,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let s: SharesBody = json(&body)?;
    let v = of_account(&state, signed_in.user.id).await?;
    let signer = member_signed(&state, &v, (&method, &uri, &headers, &body), None).await?;
    let ledger = replayed(&state, &v).await?;
    let shares = checked_shares(&ledger, signer, &s.shares)?;
    state.store.put_shares(v.id, shares).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /vault/shares?device=ID`: the key shares addressed to a device.
pub async fn shares(
    State(state): State<AppState>,
    signed_in: SignedIn,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, ApiError> {
    let v = of_account(&state, signed_in.user.id).await?;
    let device = query_param(&uri, "device")
        .ok_or_else(|| ApiError::InvalidQuery("device is missing".into()))?;
    let device = DeviceId::parse(device)?;
    let mut conn = state.store.conn().await?;
    let shares = vault::shares_for(&mut conn, &v.id, &device.0).await?;
    Ok(Json(
        json!({ "shares": shares.iter().map(b64::encode).collect::<Vec<_>>() }),
    ))
}

/// `GET /vault/wraps/{epoch}`: an epoch key wrapped under the recovery key.
pub async fn wrap(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(epoch): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let v = of_account(&state, signed_in.user.id).await?;
    let mut conn = state.store.conn().await?;
    let wrap = vault::wrap(&mut conn, &v.id, epoch)
        .await?
        .ok_or(ApiError::WrapNotFound(epoch))?;
    Ok(Json(json!({ "epoch": epoch, "wrap": b64::encode(wrap) })))
}
