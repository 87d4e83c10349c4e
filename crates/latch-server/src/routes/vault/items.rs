//! Sealed items with compare-and-swap (a write names the revision it replaces; a 409 carries
//! the current one to merge with), and the change feed devices sync from.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latch_vault::item::item_header;
use latch_vault::{ItemId, VaultError};
use latch_webauthn::b64;
use serde::Deserialize;
use serde_json::json;

use super::{bytes, json, member_signed, number_param, of_account};
use crate::error::ApiError;
use crate::session::SignedIn;
use crate::state::AppState;
use crate::store::vault::{self, NewRevision, PutItem};

/// The most changes one page of the feed holds.
const MAX_PAGE: i64 = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Put {
    /// The revision this one replaces; 0 for a new item.
    base_revision: i64,
    sealed: String,
}

/// `PUT /vault/items/{id}`: a new revision (a tombstone to delete), sealed by a member under
/// the current epoch. 409 `revision_conflict` with the current revision when `baseRevision`
/// is not it.
pub async fn put(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p: Put = json(&body)?;
    let item = ItemId::parse(&id)?;
    let v = of_account(&state, signed_in.user.id).await?;
    member_signed(&state, &v, (&method, &uri, &headers, &body), None).await?;
    let sealed = bytes("sealed", &p.sealed)?;
    let h = item_header(&sealed)?;
    if h.vault.0.as_slice() != v.id.as_slice() {
        return Err(VaultError::ItemMismatch { field: "vault" }.into());
    }
    if h.item != item {
        return Err(VaultError::ItemMismatch { field: "item id" }.into());
    }
    if p.base_revision < 0 || h.revision != p.base_revision as u64 + 1 {
        return Err(VaultError::StaleRevision {
            have: p.base_revision.max(0) as u64,
            got: h.revision,
        }
        .into());
    }
    if h.epoch != v.epoch as u64 {
        return Err(ApiError::StaleEpoch { current: v.epoch });
    }
    let v_epoch = v.epoch;
    let written = state
        .store
        .put_item(NewRevision {
            vault: v.id,
            item_id: item.0.to_vec(),
            base: p.base_revision,
            revision: h.revision as i64,
            epoch: v.epoch,
            deleted: h.deleted,
            sealed,
        })
        .await?;
    Ok(match written {
        PutItem::Written { seq } => {
            Json(json!({ "revision": h.revision, "seq": seq })).into_response()
        }
        PutItem::StaleEpoch => ApiError::StaleEpoch {
            current: v_epoch + 1,
        }
        .into_response(),
        PutItem::Conflict(current) => {
            let current = current
                .map(|c| json!({ "revision": c.revision, "sealed": b64::encode(&c.sealed) }));
            let error = json!({
                "code": "revision_conflict",
                "message": format!("the item is not at revision {}; merge with the current one and try again", p.base_revision),
            });
            (
                StatusCode::CONFLICT,
                Json(json!({ "error": error, "current": current })),
            )
                .into_response()
        }
    })
}

/// `GET /vault/changes?after=SEQ&limit=N`: items changed after the cursor, oldest change
/// first, with the cursor to ask from next and whether more are waiting.
pub async fn changes(
    State(state): State<AppState>,
    signed_in: SignedIn,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<serde_json::Value>, ApiError> {
    let v = of_account(&state, signed_in.user.id).await?;
    let after = number_param(&uri, "after", 0)?;
    let limit = number_param(&uri, "limit", MAX_PAGE)?.clamp(1, MAX_PAGE);
    let mut conn = state.store.conn().await?;
    let mut page = vault::changes(&mut conn, &v.id, after, limit + 1).await?;
    let more = page.len() as i64 > limit;
    page.truncate(limit as usize);
    let cursor = page.last().map_or(after, |r| r.change_seq);
    Ok(Json(json!({
        "changes": page.iter().map(|r| json!({
            "seq": r.change_seq,
            "item": b64::encode(&r.item_id),
            "revision": r.revision,
            "sealed": b64::encode(&r.sealed),
        })).collect::<Vec<_>>(),
        "cursor": cursor,
        "more": more,
    })))
}
