//! `/api/openapi.json`: the API described in OpenAPI 3.1. The WebAuthn option and response
//! bodies are the Level 3 JSON forms (`PublicKeyCredential*OptionsJSON`, `*ResponseJSON`),
//! referenced rather than spelled out. A test checks that every call here is routed.

use serde_json::{json, Map, Value};

fn error_ref() -> Value {
    json!({ "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            "description": "error: {error: {code, message}}" })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn object(props: &[(&str, Value)], required: &[&str]) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).to_owned(), v.clone());
    }
    json!({ "type": "object", "properties": p, "required": required })
}

fn string() -> Value {
    json!({ "type": "string" })
}

/// One operation: summary, optional JSON body, the success answer, and the error statuses.
fn op(summary: &str, body: Option<Value>, ok: (&str, Value), errors: &[&str]) -> Value {
    let mut responses = Map::new();
    let (status, schema) = ok;
    let success = if schema.is_null() {
        json!({ "description": "done" })
    } else {
        json!({ "description": "success", "content": { "application/json": { "schema": schema } } })
    };
    responses.insert(status.to_owned(), success);
    for e in errors {
        responses.insert((*e).to_owned(), error_ref());
    }
    let mut o = json!({ "summary": summary, "responses": responses });
    if let (Some(body), Some(map)) = (body, o.as_object_mut()) {
        map.insert("requestBody".into(), json_body(body));
    }
    o
}

fn public_key(options: &str) -> Value {
    object(
        &[(
            "publicKey",
            json!({ "description": options, "type": "object" }),
        )],
        &["publicKey"],
    )
}

/// The policy's keys (`PUT /api/v1/admin/policy`, and the policy file's).
fn policy_schema() -> Value {
    let uv = json!({ "enum": ["required", "preferred", "discouraged"] });
    let aaguids = json!({ "type": "array", "items": { "type": "string", "format": "uuid" } });
    let count = |max: u32| json!({ "type": "integer", "minimum": 1, "maximum": max });
    let mut schema = object(
        &[
            ("passwordlessUv", uv.clone()),
            ("secondFactorUv", uv),
            (
                "attestation",
                json!({ "enum": ["none", "indirect", "direct", "enterprise"] }),
            ),
            (
                "aaguidAllow",
                json!({ "oneOf": [aaguids.clone(), { "type": "null" }] }),
            ),
            ("aaguidDeny", aaguids),
            ("certifiedOnly", json!({ "type": "boolean" })),
            (
                "minSecurityKeys",
                count(crate::policy::MAX_CREDENTIALS_LIMIT),
            ),
            (
                "maxCredentials",
                count(crate::policy::MAX_CREDENTIALS_LIMIT),
            ),
            ("syncedPasskeys", json!({ "type": "boolean" })),
        ],
        &[],
    );
    if let Some(map) = schema.as_object_mut() {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    schema
}

/// The document.
pub fn document() -> Value {
    let creation = "PublicKeyCredentialCreationOptionsJSON (WebAuthn L3)";
    let request = "PublicKeyCredentialRequestOptionsJSON (WebAuthn L3)";
    let registration =
        json!({ "description": "RegistrationResponseJSON (WebAuthn L3)", "type": "object" });
    let assertion =
        json!({ "description": "AuthenticationResponseJSON (WebAuthn L3)", "type": "object" });
    let user = object(&[("user", schema_ref("User"))], &["user"]);
    let code = object(&[("code", string())], &["code"]);
    let ceremony_errors = ["400", "403"];
    let paths = json!({
        "/api/v1/signup/begin": { "post": op("Begin creating an account with a passkey",
            Some(object(&[("username", string()), ("displayName", string())], &["username"])),
            ("200", public_key(creation)), &["400", "403", "409"]) },
        "/api/v1/signup/finish": { "post": op("Finish sign-up: creates the account, its passkey and a session (cookie)",
            Some(object(&[("credential", registration.clone()), ("name", string())], &["credential"])),
            ("200", object(&[("user", schema_ref("User")), ("credential", schema_ref("Credential"))], &["user", "credential"])),
            &["400", "403", "409"]) },
        "/api/v1/login/begin": { "post": op("Begin a passkey sign-in; without a username, for a discoverable passkey",
            Some(object(&[("username", string())], &[])), ("200", public_key(request)), &["400", "403"]) },
        "/api/v1/login/finish": { "post": op("Finish a passkey sign-in (session cookie)",
            Some(object(&[("credential", assertion.clone())], &["credential"])), ("200", user.clone()), &ceremony_errors) },
        "/api/v1/login/password": { "post": op("Sign in with a password: a session, or {next: second_factor, methods}",
            Some(object(&[("username", string()), ("password", string())], &["username", "password"])),
            ("200", json!({ "oneOf": [user.clone(), object(&[("next", string()), ("methods", json!({"type": "array", "items": {"enum": ["webauthn", "totp", "recovery_code"]}}))], &["next", "methods"])] })),
            &["401", "403", "429"]) },
        "/api/v1/login/second-factor/begin": { "post": op("Second factor: options for the account's security keys and passkeys",
            None, ("200", public_key(request)), &["401", "403"]) },
        "/api/v1/login/second-factor/finish": { "post": op("Second factor: finish with a security key or passkey",
            Some(object(&[("credential", assertion)], &["credential"])), ("200", user.clone()), &["400", "401", "403"]) },
        "/api/v1/login/totp": { "post": op("Second factor: an authenticator-app code",
            Some(code.clone()), ("200", user.clone()), &["400", "401", "403", "429"]) },
        "/api/v1/login/recovery": { "post": op("Second factor: a recovery code (spent)",
            Some(code.clone()), ("200", user.clone()), &["400", "401", "403", "429"]) },
        "/api/v1/logout": { "post": op("End this session", None, ("204", Value::Null), &["403"]) },
        "/api/v1/me": { "get": op("The signed-in account", None, ("200", user), &["401"]) },
        "/api/v1/me/credentials": { "get": op("The account's passkeys and security keys", None,
            ("200", json!({ "type": "array", "items": schema_ref("Credential") })), &["401"]) },
        "/api/v1/me/credentials/begin": { "post": op("Begin adding a key (excludes the account's keys)", None,
            ("200", public_key(creation)), &["401", "403"]) },
        "/api/v1/me/credentials/finish": { "post": op("Finish adding a key",
            Some(object(&[("credential", registration), ("name", string())], &["credential"])),
            ("200", object(&[("credential", schema_ref("Credential"))], &["credential"])), &["400", "401", "403", "409"]) },
        "/api/v1/me/credentials/{id}": {
            "patch": op("Rename a key", Some(object(&[("name", string())], &["name"])),
                ("200", schema_ref("Credential")), &["400", "401", "403", "404"]),
            "delete": op("Delete a key (never the last way to sign in); ?endSessions=true also ends the sessions it signed in", None, ("204", Value::Null), &["401", "403", "404", "409"]),
        },
        "/api/v1/me/password": { "put": op("Set or change the password (changing takes the current one)",
            Some(object(&[("password", string()), ("currentPassword", string())], &["password"])),
            ("204", Value::Null), &["400", "401", "403"]) },
        "/api/v1/me/totp/begin": { "post": op("Begin enrolling an authenticator app", None,
            ("200", object(&[("secret", string()), ("uri", string()), ("qrSvg", string())], &["secret", "uri", "qrSvg"])), &["401", "403", "409"]) },
        "/api/v1/me/totp/finish": { "post": op("Confirm the authenticator app with a current code",
            Some(code), ("204", Value::Null), &["400", "401", "403", "404", "409"]) },
        "/api/v1/me/totp": { "delete": op("Remove the authenticator app", None, ("204", Value::Null), &["401", "403", "404"]) },
        "/api/v1/me/recovery-codes": { "post": op("A new set of recovery codes (shown once; the old set stops working)", None,
            ("200", object(&[("codes", json!({ "type": "array", "items": string() }))], &["codes"])), &["401", "403"]) },
        "/api/v1/me/sessions": { "get": op("The account's sessions", None,
            ("200", json!({ "type": "array", "items": schema_ref("Session") })), &["401"]) },
        "/api/v1/me/sessions/{id}": { "delete": op("Sign a session out", None, ("204", Value::Null), &["401", "403", "404"]) },
        "/api/v1/me/audit": { "get": op("The account's recent security events, newest first", None,
            ("200", json!({ "type": "array", "items": schema_ref("AuditEvent") })), &["401"]) },
        "/api/v1/admin/policy": {
            "get": op("The policy in force, where it came from, and the FIDO metadata loaded (administrators)", None,
                ("200", schema_ref("PolicyView")), &["401", "403"]),
            "put": op("Replace the policy (keys left out take their defaults); every instance enforces it; audited as policy_changed (administrators)",
                Some(schema_ref("Policy")), ("200", schema_ref("PolicyView")), &["400", "401", "403"]),
        },
        "/api/v1/admin/audit": { "get": {
            "summary": "Every account's security events, newest first, a page at a time (administrators)",
            "parameters": [
                { "name": "before", "in": "query", "description": "an event id: the page starts below it (the previous page's next)", "schema": { "type": "integer", "minimum": 1 } },
                { "name": "limit", "in": "query", "description": "events per page (default 50)", "schema": { "type": "integer", "minimum": 1, "maximum": 500 } },
            ],
            "responses": {
                "200": { "description": "success", "content": { "application/json": { "schema": object(&[
                    ("events", json!({ "type": "array", "items": schema_ref("AdminAuditEvent") })),
                    ("next", json!({ "type": ["integer", "null"] })),
                ], &["events", "next"]) } } },
                "400": error_ref(), "401": error_ref(), "403": error_ref(),
            },
        } },
        "/healthz": { "get": op("200 while the database answers, else 503", None, ("200", object(&[("status", string())], &["status"])), &["503"]) },
        "/metrics": { "get": op("Prometheus metrics (text format): on the private listener (--metrics-listen), or here with Authorization: Bearer <--metrics-token>", None, ("200", Value::Null), &["401", "403"]) },
        "/api/openapi.json": { "get": op("This document", None, ("200", json!({ "type": "object" })), &[]) },
    });
    let mut paths = paths;
    for more in [security_paths(), vault_paths(), oidc_paths()] {
        if let (Some(all), Value::Object(more)) = (paths.as_object_mut(), more) {
            all.extend(more);
        }
    }
    let boolean = json!({ "type": "boolean" });
    let time = json!({ "type": "string", "format": "date-time" });
    let nullable_time = json!({ "type": ["string", "null"], "format": "date-time" });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Latch identity server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Passkeys, security keys and passwords with a second factor. A state-changing call from a browser must come from a configured origin (judged by Sec-Fetch-Site, else Origin: 403 cross_site_request or origin_forbidden); clients that are not browsers send neither header and are let through. Bodies are JSON objects (Content-Type: application/json) of at most 64 KiB: malformed JSON, another content type or unknown members answer 400 (invalid_body, invalid_content_type), a larger body 413 (body_too_large); calls without a body take none or {}. Ceremonies and sessions are carried in HttpOnly cookies.",
        },
        "paths": paths,
        "components": { "schemas": {
            "Error": object(&[("error", object(&[("code", string()), ("message", string())], &["code", "message"]))], &["error"]),
            "User": object(&[("id", string()), ("username", string()), ("displayName", string()), ("createdAt", time.clone())],
                &["id", "username", "displayName", "createdAt"]),
            "Credential": object(&[
                ("id", string()), ("name", string()),
                ("kind", json!({ "enum": ["passkey", "security_key"] })),
                ("aaguid", string()), ("authenticatorName", json!({ "type": ["string", "null"] })),
                ("backupEligible", boolean.clone()), ("backedUp", boolean.clone()),
                ("discoverable", json!({ "type": ["boolean", "null"] })), ("userVerified", boolean.clone()),
                ("attestationFormat", string()), ("createdAt", time.clone()), ("lastUsedAt", nullable_time),
                ("transports", json!({ "type": "array", "items": string() })),
            ], &["id", "name", "kind", "aaguid", "backupEligible", "backedUp", "createdAt", "transports"]),
            "Session": object(&[
                ("id", string()), ("current", boolean), ("createdAt", time.clone()), ("lastSeenAt", time.clone()),
                ("expiresAt", time.clone()), ("ip", json!({ "type": ["string", "null"] })),
                ("userAgent", json!({ "type": ["string", "null"] })), ("credentialId", json!({ "type": ["string", "null"] })),
            ], &["id", "current", "createdAt", "lastSeenAt", "expiresAt"]),
            "Policy": policy_schema(),
            "PolicyView": object(&[
                ("policy", schema_ref("Policy")),
                ("source", json!({ "enum": ["default", "file", "admin"] })),
                ("updatedAt", json!({ "type": ["string", "null"], "format": "date-time" })), ("updatedBy", json!({ "type": ["string", "null"] })),
                ("metadata", json!({ "type": ["object", "null"], "properties": {
                    "entries": { "type": "integer" }, "number": { "type": "integer" }, "nextUpdate": time.clone() } })),
            ], &["policy", "source"]),
            "AdminAuditEvent": object(&[("id", json!({ "type": "integer" })),
                ("user", json!({ "type": ["object", "null"], "properties": { "id": string(), "username": string() } })),
                ("kind", string()), ("detail", json!({ "type": "object" })),
                ("ip", json!({ "type": ["string", "null"] })), ("createdAt", time.clone())], &["id", "kind", "detail", "createdAt"]),
            "AuditEvent": object(&[("kind", string()), ("detail", json!({ "type": "object" })),
                ("ip", json!({ "type": ["string", "null"] })), ("userAgent", json!({ "type": ["string", "null"] })),
                ("createdAt", time.clone())], &["kind", "detail", "createdAt"]),
            "TrustedBrowser": object(&[
                ("id", string()), ("current", json!({ "type": "boolean" })), ("createdAt", time.clone()),
                ("expiresAt", time.clone()), ("lastUsedAt", json!({ "type": ["string", "null"], "format": "date-time" })),
                ("ip", json!({ "type": ["string", "null"] })), ("userAgent", json!({ "type": ["string", "null"] })),
            ], &["id", "current", "createdAt", "expiresAt"]),
        } },
    })
}

/// The security-information calls (issue 4): re-authentication, trusted browsers, ending
/// sessions, activity. Some replace the entries above with fuller descriptions.
/// Passkey sync (`latch vault`): the store of a person's end-to-end encrypted vault.
/// The OpenID Connect provider: its API for the consent and step-up pages and for
/// administrators, and the OAuth endpoints (form-encoded, OAuth errors) it publishes in
/// `/.well-known/openid-configuration`.
fn oidc_paths() -> Value {
    let form = "Form parameters (application/x-www-form-urlencoded) as the RFC names them; errors are {\"error\", \"error_description\"}.";
    let client = object(
        &[
            ("id", string()),
            ("name", string()),
            (
                "authMethod",
                json!({ "enum": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"] }),
            ),
            (
                "redirectUris",
                json!({ "type": "array", "items": string() }),
            ),
            (
                "postLogoutRedirectUris",
                json!({ "type": "array", "items": string() }),
            ),
            (
                "idTokenSignedResponseAlg",
                json!({ "enum": ["RS256", "ES256"] }),
            ),
            ("hasJwks", json!({ "type": "boolean" })),
            ("source", json!({ "enum": ["config", "admin"] })),
            (
                "secret",
                json!({ "type": "string", "description": "only in the answer to a registration, once" }),
            ),
        ],
        &["id", "name", "authMethod", "redirectUris"],
    );
    let registration = object(
        &[
            ("id", string()),
            ("name", string()),
            ("authMethod", string()),
            ("secret", json!({ "type": "string", "minLength": 32 })),
            (
                "redirectUris",
                json!({ "type": "array", "items": string() }),
            ),
            (
                "postLogoutRedirectUris",
                json!({ "type": "array", "items": string() }),
            ),
            (
                "jwks",
                json!({ "type": "object", "description": "a JWK Set, for private_key_jwt" }),
            ),
            ("idTokenSignedResponseAlg", string()),
        ],
        &["name", "redirectUris"],
    );
    json!({
        "/api/v1/admin/oauth2/clients": {
            "get": op("The registered OpenID Connect clients, without secrets (administrators)", None, ("200", object(&[("clients", json!({ "type": "array", "items": client.clone() }))], &["clients"])), &["401", "403"]),
            "post": op("Register a client (administrators); a secret is made for the secret methods unless given, and answered once", Some(registration), ("201", client), &["400", "401", "403", "409"]),
        },
        "/api/v1/admin/oauth2/clients/{id}": {
            "delete": op("Remove a client, with every grant and token it had (administrators)", None, ("204", Value::Null), &["401", "403", "404"]),
        },
        "/api/v1/oauth2/requests/{id}": {
            "get": op("A pending sign-in request of an app, as the consent and step-up pages show it: the client, the scopes, why a step-up is needed (acr, login, max_age or null)", None,
                ("200", object(&[("client", json!({ "type": "object" })), ("scope", json!({ "type": "array", "items": string() })), ("stepUp", json!({ "type": ["string", "null"] })), ("acr", string()), ("continue", string())], &["client", "scope"])), &["401", "404"]),
        },
        "/api/v1/oauth2/requests/{id}/consent": {
            "post": op("Allow (remembered for the app) or deny the request; answers where the browser goes next: the app's redirect URI with a code or access_denied, or a step-up", Some(object(&[("allow", json!({ "type": "boolean" }))], &["allow"])), ("200", object(&[("redirect", string())], &["redirect"])), &["400", "401", "404"]),
        },
        "/.well-known/openid-configuration": { "get": op("OpenID Connect Discovery: the issuer, endpoints and what they support", None, ("200", json!({ "type": "object" })), &[]) },
        "/oauth2/jwks": { "get": op("The signing keys (RS256 and ES256) as a JWK Set: the ones signing now, the next ones a day early, and retired ones until their tokens expire", None, ("200", json!({ "type": "object" })), &[]) },
        "/oauth2/authorize": {
            "get": op("The authorization endpoint (code flow; PKCE S256, required for public clients; prompt, max_age, acr_values). Redirects to sign-in, step-up or consent, then back to the client", None, ("303", Value::Null), &["400"]),
            "post": op(&format!("The authorization endpoint, its parameters as a form. {form}"), None, ("303", Value::Null), &["400"]),
        },
        "/oauth2/token": { "post": op(&format!("The token endpoint: grant_type authorization_code or refresh_token (rotated; a reused one revokes its grant), the client authenticated by client_secret_basic, client_secret_post, private_key_jwt or (public) none. {form}"), None, ("200", json!({ "type": "object" })), &["400", "401"]) },
        "/oauth2/revoke": { "post": op(&format!("RFC 7009 revocation of an access or refresh token (and its grant). {form}"), None, ("200", Value::Null), &["400", "401"]) },
        "/oauth2/userinfo": {
            "get": op("The signed-in person's claims for a bearer access token", None, ("200", json!({ "type": "object" })), &["401"]),
            "post": op("The same, by POST", None, ("200", json!({ "type": "object" })), &["401"]),
        },
        "/oauth2/logout": {
            "get": op("RP-initiated logout: ends the session the id_token_hint came from, revokes its grants, and redirects to a registered post_logout_redirect_uri (with state)", None, ("303", Value::Null), &["400"]),
            "post": op(&format!("The same, as a form. {form}"), None, ("303", Value::Null), &["400"]),
        },
    })
}

fn vault_paths() -> Value {
    let b64 = json!({ "type": "string", "description": "base64url, no padding" });
    let list = json!({ "type": "array", "items": b64.clone() });
    let signed = " Signed by a member device: Latch-Device (its id), Latch-Timestamp (Unix seconds, within 5 minutes) and Latch-Signature (Ed25519 over the method, path with query, timestamp and SHA-256 of the body; see latch_vault::request).";
    let head = object(
        &[("seq", json!({ "type": "integer" })), ("hash", b64.clone())],
        &["seq", "hash"],
    );
    let message = object(&[("message", b64.clone())], &["message"]);
    let pairing = object(
        &[
            ("id", b64.clone()),
            ("request", b64.clone()),
            ("response", json!({ "type": ["string", "null"] })),
            ("confirmation", json!({ "type": ["string", "null"] })),
        ],
        &["id", "request"],
    );
    json!({
        "/api/v1/vault": {
            "get": op("The account's vault: its id, escrow (guardians and threshold), ledger head, epoch and change cursor", None,
                ("200", object(&[("vaultId", b64.clone()), ("escrowId", b64.clone()), ("escrow", json!({ "type": "object" })), ("head", head.clone()), ("epoch", json!({ "type": "integer" })), ("changeSeq", json!({ "type": "integer" }))], &["vaultId", "escrowId", "head", "epoch"])),
                &["401", "404"]),
            "post": op(&format!("Create the account's vault from its genesis ledger entry (which names the escrow: its id, guardians and threshold), the creating device's key share and the recovery wrap of epoch 0.{signed}"),
                Some(object(&[("genesis", b64.clone()), ("share", b64.clone()), ("wrap", b64.clone())], &["genesis", "share", "wrap"])),
                ("201", object(&[("vaultId", b64.clone()), ("escrowId", b64.clone())], &["vaultId", "escrowId"])), &["400", "401", "403", "409"]),
        },
        "/api/v1/vault/ledger": {
            "get": op("The ledger's signed entries from ?from=SEQ (default 0) on", None, ("200", object(&[("entries", list.clone())], &["entries"])), &["401", "404"]),
            "post": op(&format!("Append one ledger entry (checked against the whole chain), with the key shares and recovery wraps of the epochs it brings (a new epoch needs its wrap); 409 ledger_conflict when the head moved. A recovery join is signed by the joining device.{signed}"),
                Some(object(&[("entry", b64.clone()), ("shares", list.clone()), ("wraps", list.clone())], &["entry"])),
                ("200", object(&[("head", head), ("epoch", json!({ "type": "integer" }))], &["head", "epoch"])), &["400", "401", "403", "404", "409"]),
        },
        "/api/v1/vault/shares": {
            "get": op("The key shares addressed to ?device=ID", None, ("200", object(&[("shares", list.clone())], &["shares"])), &["400", "401", "404"]),
            "put": op(&format!("Store key shares for member devices.{signed}"), Some(object(&[("shares", list.clone())], &["shares"])), ("204", Value::Null), &["400", "401", "403", "404"]),
        },
        "/api/v1/vault/wraps/{epoch}": { "get": op("An epoch key wrapped under the recovery key (for a device joining by recovery)", None,
            ("200", object(&[("epoch", json!({ "type": "integer" })), ("wrap", b64.clone())], &["epoch", "wrap"])), &["401", "404"]) },
        "/api/v1/vault/items/{id}": { "put": op(&format!("Write an item's next revision (sealed under the current epoch; a tombstone deletes). 409 revision_conflict carries the current revision to merge with; 409 stale_epoch asks for the new epoch's key.{signed}"),
            Some(object(&[("baseRevision", json!({ "type": "integer", "minimum": 0 })), ("sealed", b64.clone())], &["baseRevision", "sealed"])),
            ("200", object(&[("revision", json!({ "type": "integer" })), ("seq", json!({ "type": "integer" }))], &["revision", "seq"])), &["400", "401", "403", "404", "409"]) },
        "/api/v1/vault/changes": { "get": {
            "summary": "Items changed after a cursor, oldest change first (each item at its newest revision)",
            "parameters": [
                { "name": "after", "in": "query", "description": "the cursor of the last page (0 for everything)", "schema": { "type": "integer", "minimum": 0 } },
                { "name": "limit", "in": "query", "description": "changes per page (default and most 1000)", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } },
            ],
            "responses": {
                "200": { "description": "success", "content": { "application/json": { "schema": object(&[
                    ("changes", json!({ "type": "array", "items": object(&[("seq", json!({ "type": "integer" })), ("item", b64.clone()), ("revision", json!({ "type": "integer" })), ("sealed", b64.clone())], &["seq", "item", "revision", "sealed"]) })),
                    ("cursor", json!({ "type": "integer" })),
                    ("more", json!({ "type": "boolean" })),
                ], &["changes", "cursor", "more"]) } } },
                "400": error_ref(), "401": error_ref(), "404": error_ref(),
            },
        } },
        "/api/v1/vault/pairings": {
            "get": op("Pairings in progress (a sponsor looks for the new device's request here)", None,
                ("200", object(&[("pairings", json!({ "type": "array", "items": pairing.clone() }))], &["pairings"])), &["401", "404"]),
            "post": op("A new device's pairing request (it is not a member yet: the session suffices)", Some(message.clone()),
                ("201", object(&[("id", b64.clone())], &["id"])), &["400", "401", "404"]),
        },
        "/api/v1/vault/pairings/{id}": {
            "get": op("One pairing's messages so far", None, ("200", pairing), &["401", "404"]),
            "delete": op("End a pairing", None, ("204", Value::Null), &["401", "404"]),
        },
        "/api/v1/vault/pairings/{id}/response": { "put": op(&format!("The sponsor's answer to a pairing request.{signed}"), Some(message.clone()), ("204", Value::Null), &["400", "401", "403", "404"]) },
        "/api/v1/vault/pairings/{id}/confirmation": { "put": op("The new device's confirmation of the sponsor's answer", Some(message), ("204", Value::Null), &["400", "401", "404"]) },
    })
}

fn security_paths() -> Value {
    let assertion =
        json!({ "description": "AuthenticationResponseJSON (WebAuthn L3)", "type": "object" });
    let user = object(&[("user", schema_ref("User"))], &["user"]);
    let trust = (
        "trustBrowser",
        json!({ "type": "boolean", "description": "skip the second factor on this browser for 30 days (sets the trusted-browser cookie, __Host-latch_trusted on https sites)" }),
    );
    let code = object(&[("code", string()), trust.clone()], &["code"]);
    let signed_in = json!({ "allOf": [user.clone()], "description": "the user; the session cookie (and the trusted-browser cookie when asked)" });
    let methods = json!({ "type": "array", "items": { "enum": ["webauthn", "password"] } });
    let limited = ["400", "401", "403", "429"];
    json!({
        "/api/v1/login/password": { "post": op("Sign in with a password: a session (trustedBrowser: true when this browser is trusted), or {next: second_factor, methods}. Attempts are limited per username and per IP (429 too_many_attempts with Retry-After)",
            Some(object(&[("username", string()), ("password", string())], &["username", "password"])),
            ("200", json!({ "oneOf": [
                object(&[("user", schema_ref("User")), ("trustedBrowser", json!({ "type": "boolean" }))], &["user"]),
                object(&[("next", string()), ("methods", json!({"type": "array", "items": {"enum": ["webauthn", "totp", "recovery_code"]}}))], &["next", "methods"]),
            ] })), &["401", "403", "429"]) },
        "/api/v1/login/finish": { "post": op("Finish a passkey sign-in (session cookie); failures are limited per credential and per IP",
            Some(object(&[("credential", assertion.clone())], &["credential"])), ("200", user), &["400", "403", "429"]) },
        "/api/v1/login/second-factor/finish": { "post": op("Second factor: finish with a security key or passkey",
            Some(object(&[("credential", assertion.clone()), trust], &["credential"])), ("200", signed_in.clone()), &["400", "401", "403"]) },
        "/api/v1/login/totp": { "post": op("Second factor: an authenticator-app code (limited per account and per IP)",
            Some(code.clone()), ("200", signed_in.clone()), &limited) },
        "/api/v1/login/recovery": { "post": op("Second factor: a recovery code, spent (limited per account and per IP)",
            Some(code), ("200", signed_in), &limited) },
        "/api/v1/me/reauth/begin": { "post": op("Begin re-authenticating: options for the account's keys, or methods: [password] for an account without keys",
            None, ("200", object(&[("methods", methods), ("publicKey", json!({ "type": "object" }))], &["methods"])), &["400", "401", "403"]) },
        "/api/v1/me/reauth/finish": { "post": op("Re-authenticate with an assertion or (accounts without keys) the password: sensitive changes are allowed for 5 minutes",
            Some(object(&[("credential", assertion), ("password", string())], &[])),
            ("200", object(&[("authenticatedAt", json!({ "type": "string", "format": "date-time" }))], &["authenticatedAt"])), &limited) },
        "/api/v1/me/trusted-browsers": {
            "get": op("Browsers that skip the second factor", None,
                ("200", json!({ "type": "array", "items": schema_ref("TrustedBrowser") })), &["401"]),
            "delete": op("Stop trusting every browser", None, ("204", Value::Null), &["401", "403"]),
        },
        "/api/v1/me/trusted-browsers/{id}": { "delete": op("Stop trusting one browser", None, ("204", Value::Null), &["401", "403", "404"]) },
        "/api/v1/me/sessions/sign-out-others": { "post": op("End every other session of the account", None,
            ("200", object(&[("ended", json!({ "type": "integer" }))], &["ended"])), &["401", "403"]) },
        "/api/v1/me": {
            "get": op("The signed-in account, the state of its sign-in methods (signIn: password, keys, minSecurityKeys, keysAreSecondFactor, totp, recoveryCodesLeft), whether it administers the server (admin) and the RP ID its credentials are scoped to (rpId)", None,
                ("200", object(&[("user", schema_ref("User")), ("signIn", json!({ "type": "object" })), ("admin", json!({ "type": "boolean" })), ("rpId", string())], &["user", "signIn", "admin", "rpId"])), &["401"]),
            "patch": op("Change the account's display name", Some(object(&[("displayName", string())], &["displayName"])),
                ("200", object(&[("user", schema_ref("User"))], &["user"])), &["400", "401", "403"]),
        },
        "/api/v1/signup/password": { "post": op("Create an account with a password and no key yet (signed in; add a second factor next). Limited per client network like signup/begin",
            Some(object(&[("username", string()), ("displayName", string()), ("password", string())], &["username", "password"])),
            ("200", object(&[("user", schema_ref("User"))], &["user"])), &["400", "403", "409", "429"]) },
        "/api/v1/admin/authenticators": { "get": op("The authenticators FIDO metadata names (aaguid, name, certified), for picking policy allow and deny lists by name (administrators)", None,
            ("200", object(&[("authenticators", json!({ "type": "array", "items": { "type": "object" } }))], &["authenticators"])), &["401", "403"]) },
        "/api/v1/me/activity": { "get": op("The account's recent security events (sign-ins ok and failed, keys, codes, trusted browsers, sessions), newest first", None,
            ("200", json!({ "type": "array", "items": schema_ref("AuditEvent") })), &["401"]) },
    })
}
