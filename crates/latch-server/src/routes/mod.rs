//! The router: `/api/v1` (every state-changing call refused when a browser says it comes
//! from another site, and its body held to JSON within a size limit), the web pages (`/`,
//! `/signup`, `/security`, `/admin`, `/assets/…`), `/healthz`, and a JSON 404 for everything
//! else.

mod account;
mod activity;
mod admin;
mod ceremony;
mod credentials;
mod factors;
mod login;
mod names;
mod oidc;
mod pages;
mod password;
mod reauth;
mod registration;
mod second_factor;
mod security;
mod signup;
mod trusted;
mod vault;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post, put};
use axum::{middleware, Json, Router};
use serde_json::{json, Value};

use crate::csrf;
use crate::error::ApiError;
use crate::http;
use crate::metrics;
use crate::state::AppState;
use crate::store::db::query;

/// The whole HTTP surface, ready for `axum::serve` or `tower::ServiceExt::oneshot`.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/signup/begin", post(signup::begin))
        .route("/signup/finish", post(signup::finish))
        .route("/signup/password", post(signup::password))
        .route("/login/begin", post(login::begin))
        .route("/login/finish", post(login::finish))
        .route("/logout", post(account::logout))
        .route("/me", get(account::me).patch(account::rename))
        .route("/me/credentials", get(credentials::list))
        .route("/me/credentials/begin", post(credentials::begin))
        .route("/me/credentials/finish", post(credentials::finish))
        .route(
            "/me/credentials/{id}",
            patch(credentials::rename).delete(credentials::delete),
        )
        .route("/login/password", post(password::login))
        .route(
            "/login/second-factor/begin",
            post(second_factor::webauthn_begin),
        )
        .route(
            "/login/second-factor/finish",
            post(second_factor::webauthn_finish),
        )
        .route("/login/totp", post(second_factor::totp_login))
        .route("/login/recovery", post(second_factor::recovery_login))
        .route("/me/password", put(password::set))
        .route("/me/totp/begin", post(factors::totp_begin))
        .route("/me/totp/finish", post(factors::totp_finish))
        .route("/me/totp", delete(factors::totp_delete))
        .route("/me/recovery-codes", post(factors::recovery_codes))
        .route("/me/sessions", get(security::list_sessions))
        .route("/me/sessions/{id}", delete(security::revoke_session))
        .route(
            "/admin/policy",
            get(admin::get_policy).put(admin::put_policy),
        )
        .route("/admin/audit", get(admin::audit_log))
        .route(
            "/admin/oauth2/clients",
            get(oidc::clients::list).post(oidc::clients::create),
        )
        .route("/admin/oauth2/clients/{id}", delete(oidc::clients::delete))
        .route("/oauth2/requests/{id}", get(oidc::authorize::show))
        .route(
            "/oauth2/requests/{id}/consent",
            post(oidc::authorize::consent),
        )
        .route("/admin/authenticators", get(admin::authenticators))
        .route(
            "/me/sessions/sign-out-others",
            post(security::sign_out_others),
        )
        .route("/me/activity", get(activity::list))
        .route("/me/audit", get(activity::list))
        .route("/me/reauth/begin", post(reauth::begin))
        .route("/me/reauth/finish", post(reauth::finish))
        .route(
            "/me/trusted-browsers",
            get(trusted::list).delete(trusted::revoke_every),
        )
        .route("/me/trusted-browsers/{id}", delete(trusted::revoke))
        .route(
            "/vault",
            get(vault::ledger::show).post(vault::ledger::create),
        )
        .route(
            "/vault/ledger",
            get(vault::ledger::entries).post(vault::ledger::append),
        )
        .route(
            "/vault/shares",
            get(vault::ledger::shares).put(vault::ledger::put_shares),
        )
        .route("/vault/wraps/{epoch}", get(vault::ledger::wrap))
        .route("/vault/items/{id}", put(vault::items::put))
        .route("/vault/changes", get(vault::items::changes))
        .route(
            "/vault/pairings",
            get(vault::pairing::list).post(vault::pairing::start),
        )
        .route(
            "/vault/pairings/{id}",
            get(vault::pairing::show).delete(vault::pairing::end),
        )
        .route(
            "/vault/pairings/{id}/response",
            put(vault::pairing::respond),
        )
        .route(
            "/vault/pairings/{id}/confirmation",
            put(vault::pairing::confirm),
        )
        .layer(middleware::from_fn(http::require_json_bodies))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::cross_origin_protection,
        ));
    Router::new()
        .nest("/api/v1", api)
        .route("/", get(pages::home))
        .route("/signup", get(pages::signup))
        .route("/security", get(pages::security))
        .route("/admin", get(pages::admin))
        .route("/assets/{name}", get(pages::asset))
        .route("/healthz", get(healthz))
        .merge(oidc::cross_origin_endpoints())
        .merge(
            Router::new()
                .route(
                    oidc::AUTHORIZE,
                    get(oidc::authorize::authorize).post(oidc::authorize::authorize),
                )
                .route("/oauth2/continue", get(oidc::authorize::resume))
                .route("/oauth2/consent", get(pages::consent))
                .route("/oauth2/step-up", get(pages::step_up))
                .route(
                    oidc::LOGOUT,
                    get(oidc::logout::logout).post(oidc::logout::logout),
                )
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    pages::navigation_errors,
                )),
        )
        .route("/metrics", get(metrics::render_public))
        .route("/api/openapi.json", get(openapi))
        .fallback(not_found)
        .layer(middleware::from_fn(http::refuse_duplicate_cookies))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// The private listener's router (`--metrics-listen`): `/metrics` and nothing else.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render))
        .with_state(state)
}

/// 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let answered = match state.store.conn().await {
        Ok(mut conn) => query("SELECT 1").execute(&mut conn).await,
        Err(e) => Err(e),
    };
    match answered {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Err(e) => {
            eprintln!("latch-server: health check: database: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "database unavailable" })),
            )
        }
    }
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}
