//! `/api/v1/admin/…`: the policy (read, replace) and the audit log of every account.
//! Only administrators (`latch serve --admin USERNAME`) get past [`Admin`].

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::Uri;
use axum::Json;
use latch_webauthn::b64;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta};
use crate::policy::Policy;
use crate::session::SignedIn;
use crate::state::AppState;
use crate::store::policy::Stored;
use crate::store::{self, audit};
use crate::views::timestamp;

/// A signed-in administrator.
#[derive(Debug, Clone)]
pub struct Admin(pub SignedIn);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        let mut conn = state.store.conn().await?;
        if !store::admin::is_admin(&mut conn, signed_in.user.id).await? {
            return Err(ApiError::AdminRequired);
        }
        Ok(Admin(signed_in))
    }
}

fn policy_view(state: &AppState, stored: Option<&Stored>) -> Value {
    let metadata = state.rp.attestation.metadata.as_ref().map(|m| {
        json!({ "entries": m.entries.len(), "number": m.number, "nextUpdate": timestamp(m.next_update) })
    });
    let policy = stored.map(|s| s.policy.clone()).unwrap_or_default();
    json!({
        "policy": policy.to_json(),
        "source": stored.map_or("default", |s| s.source.as_str()),
        "updatedAt": stored.map(|s| timestamp(s.updated_at)),
        "updatedBy": stored.and_then(|s| s.updated_by.clone()),
        "metadata": metadata,
    })
}

pub async fn get_policy(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.store.conn().await?;
    let stored = store::policy::get(&mut conn).await?;
    Ok(Json(policy_view(&state, stored.as_ref())))
}

/// Replaces the whole policy (keys left out take their defaults). Checked first; stored with
/// a `policy_changed` audit event listing what changed, in one transaction.
pub async fn put_policy(
    State(state): State<AppState>,
    Admin(admin): Admin,
    meta: ClientMeta,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    // Turning security rules off is as sensitive as removing a key.
    admin.require_recent(&state)?;
    let policy: Policy =
        serde_json::from_value(body).map_err(|e| ApiError::InvalidPolicy(e.to_string()))?;
    policy
        .validate(state.has_metadata())
        .map_err(ApiError::InvalidPolicy)?;
    let now = state.now();
    let mut tx = state.store.begin().await?;
    store::policy::lock(&mut tx).await?;
    let old = store::policy::get(&mut tx).await?;
    let changes = policy.diff(&old.as_ref().map(|s| s.policy.clone()).unwrap_or_default());
    if changes.is_empty() && old.is_some() {
        return Ok(Json(policy_view(&state, old.as_ref())));
    }
    let stored = Stored {
        policy,
        source: "admin".into(),
        updated_at: now,
        updated_by: Some(admin.user.username.clone()),
    };
    store::policy::put(&mut tx, &stored).await?;
    audit::record(
        &mut tx,
        Some(admin.user.id),
        "policy_changed",
        &json!({ "source": "admin", "changes": changes }),
        meta.ip.as_deref(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(policy_view(&state, Some(&stored))))
}

/// Events per page of `GET /admin/audit`, by default and at most.
const PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

/// `before` (an event id: the page starts below it) and `limit` from the query string.
fn page_query(uri: &Uri) -> Result<(Option<i64>, i64), ApiError> {
    let mut before = None;
    let mut limit = PAGE;
    for pair in uri.query().unwrap_or_default().split('&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number =
            || {
                value.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ApiError::InvalidQuery(format!("{key} must be a positive integer"))
                })
            };
        match key {
            "before" => before = Some(number()?),
            "limit" if number()? <= MAX_PAGE => limit = number()?,
            "limit" => {
                return Err(ApiError::InvalidQuery(format!(
                    "limit must be at most {MAX_PAGE}"
                )))
            }
            other => {
                return Err(ApiError::InvalidQuery(format!(
                    "unknown parameter {other:?}"
                )))
            }
        }
    }
    Ok((before, limit))
}

/// Every account's events, newest first; `next` is the `before` of the following page.
pub async fn audit_log(
    State(state): State<AppState>,
    _admin: Admin,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let (before, limit) = page_query(&uri)?;
    let mut conn = state.store.conn().await?;
    let events = store::admin::events(&mut conn, before, limit).await?;
    let next = match events.last() {
        Some(last) if i64::try_from(events.len()).unwrap_or(i64::MAX) == limit => Some(last.id),
        _ => None,
    };
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| {
            let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
            let user = match (e.username, e.user_handle) {
                (Some(username), Some(handle)) => {
                    json!({ "id": b64::encode(&handle), "username": username })
                }
                _ => Value::Null,
            };
            json!({
                "id": e.id,
                "user": user,
                "kind": e.kind,
                "detail": detail,
                "ip": e.ip,
                "createdAt": timestamp(e.created_at),
            })
        })
        .collect();
    Ok(Json(json!({ "events": events, "next": next })))
}

/// `GET /api/v1/admin/authenticators`: the authenticators FIDO metadata names (AAGUID, name,
/// whether certified now), by name, so a policy's allow and deny lists can be picked by name.
/// Empty without `--mds`.
pub async fn authenticators(State(state): State<AppState>, _admin: Admin) -> Json<Value> {
    let now = latch_webauthn::UnixTime(state.now());
    let mut list: Vec<Value> = state
        .rp
        .attestation
        .metadata
        .iter()
        .flat_map(|m| m.entries.values())
        .filter(|e| !e.description.is_empty())
        .map(|e| {
            json!({
                "aaguid": latch_webauthn::auth_data::format_aaguid(&e.aaguid),
                "name": e.description,
                "certified": e.is_certified(now),
            })
        })
        .collect();
    list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Json(json!({ "authenticators": list }))
}
