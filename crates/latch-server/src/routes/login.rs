//! `POST /api/v1/login/begin` and `/finish`: sign in with a passkey or security key.

use crate::store::Conn;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::Json;
use latch_webauthn::options::{request_options, SystemRng};
use latch_webauthn::wire::{AuthenticationResponseJson, CredentialDescriptor};
use latch_webauthn::{verify_authentication, AuthenticationState, StoredCredential, UnixTime};
use serde::Deserialize;
use serde_json::json;

use super::ceremony::{self, Finish, Kind, Login};
use super::names;
use super::signup::USER_HANDLE_LEN;
use crate::amr::Amr;
use crate::crypto;
use crate::error::ApiError;
use crate::http::{ApiJson, ClientMeta, OptionalJson};
use crate::limits::{self, Keyed};
use crate::policy::runtime::Effective;
use crate::session;
use crate::state::AppState;
use crate::store::commit::{Assertion, Commit};
use crate::store::credentials::{self, Credential, Use};
use crate::store::sign_in;
use crate::store::users::User;
use crate::views::UserView;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeginBody {
    #[serde(default)]
    username: Option<String>,
}

/// Credential-id lengths real authenticators use (platform passkeys 16–32 bytes, security
/// keys' wrapped ids 48–96), for fake lists to pick from.
const FAKE_ID_LENGTHS: [usize; 8] = [16, 20, 32, 32, 48, 64, 80, 96];

/// A stable, plausible allowCredentials for a username with no passkeys (or no account), so
/// that login/begin answers the same way whether or not the account exists: from one up to
/// the policy's most credentials per account (`max`), of the lengths and transports real ones
/// have. Derived by HMAC from the username with a key every instance shares: asking twice
/// gives the same answer.
fn fake_allow_credentials(state: &AppState, username: &str, max: u32) -> Vec<CredentialDescriptor> {
    let seed = crypto::derive(
        &state.fake_key,
        &[b"allow-credentials", username.as_bytes()],
    );
    // Mostly one or two, as people have, and each further one half as likely, up to `max`.
    let extra = seed
        .iter()
        .flat_map(|byte| (0..8).map(move |bit| byte >> bit & 1))
        .take_while(|bit| *bit == 1)
        .count();
    let count = (1 + extra).min(usize::try_from(max).unwrap_or(1).max(1));
    (0..count)
        .map(|i| {
            let index = u8::try_from(i).unwrap_or(u8::MAX);
            let material = crypto::derive(
                &state.fake_key,
                &[b"credential-id", username.as_bytes(), &[index]],
            );
            let [pick, ..] = material;
            let len = FAKE_ID_LENGTHS
                .get(usize::from(pick) % FAKE_ID_LENGTHS.len())
                .copied()
                .unwrap_or(32);
            let mut id = Vec::with_capacity(len);
            let mut block = 0u8;
            while id.len() < len {
                let more = crypto::derive(
                    &state.fake_key,
                    &[b"credential-id-bytes", username.as_bytes(), &[index, block]],
                );
                id.extend_from_slice(&more);
                block = block.wrapping_add(1);
            }
            id.truncate(len);
            let transports: Vec<String> = if len <= 32 {
                vec!["hybrid".into(), "internal".into()]
            } else {
                vec!["nfc".into(), "usb".into()]
            };
            CredentialDescriptor::public_key(id, transports)
        })
        .collect()
}

/// A signature that does not verify, or a user handle that is not the credential's owner's,
/// says no more than an unknown credential: whether (and to whom) a credential id is
/// registered is not told to someone who cannot sign for it.
fn unsigned(e: latch_webauthn::Error) -> ApiError {
    match e {
        latch_webauthn::Error::BadSignature | latch_webauthn::Error::UserHandleMismatch => {
            ApiError::UnknownCredential
        }
        other => ApiError::Ceremony(other),
    }
}

/// A stable stand-in for the user handle of an account that does not exist (or has no
/// passkeys), as long as a real one.
fn fake_user_handle(state: &AppState, username: &str) -> Vec<u8> {
    let mut handle =
        crypto::derive(&state.fake_key, &[b"user-handle", username.as_bytes()]).to_vec();
    handle.resize(USER_HANDLE_LEN, 0);
    handle
}

pub async fn begin(
    State(state): State<AppState>,
    OptionalJson(body): OptionalJson<BeginBody>,
) -> Result<Response, ApiError> {
    let username = body
        .username
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .map(names::username)
        .transpose()?;
    let mut conn = state.store.conn().await?;
    let effective = state.recent_policy(&mut conn).await?;
    let (allow, user_id) = match &username {
        // No username: a discoverable credential, suitable for conditional mediation.
        None => (Vec::new(), None),
        Some(name) => match credentials::of_username(&mut conn, name).await? {
            Some((user, creds)) if !creds.is_empty() => {
                (ceremony::descriptors(&creds), Some(user.user_handle))
            }
            // The sealed ceremony carries the user handle, and its length shows through
            // the encryption: a fake account gets a fake handle of the same length.
            _ => (
                fake_allow_credentials(&state, name, effective.policy.max_credentials),
                Some(fake_user_handle(&state, name)),
            ),
        },
    };
    let (options, authentication) = request_options(
        &effective.rp,
        &effective.login,
        allow,
        user_id,
        &mut SystemRng,
    );
    let cookie =
        ceremony::begin(conn, &state, Kind::Login, None, &Login { authentication }).await?;
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(json!({ "publicKey": options })),
    )
        .into_response())
}

/// An assertion that passed §7.2 against the credential it names, whose counter has not
/// moved yet ([`record_assertion`]).
#[derive(Debug)]
pub struct CheckedAssertion {
    pub user: User,
    pub credential: Credential,
    usage: Use,
    user_verified: bool,
}

/// §7.2 for `response` against the stored credential it names. Reads only, so it can run
/// before (and outside) the write that records the sign-in.
pub async fn check_assertion(
    conn: &mut Conn,
    state: &AppState,
    authentication: &AuthenticationState,
    response: &AuthenticationResponseJson,
) -> Result<CheckedAssertion, ApiError> {
    let found = credentials::with_owner(conn, response.raw_id.as_ref()).await?;
    let effective = state.policy(conn).await?;
    check_found(state, &effective, authentication, response, found)
}

/// [`check_assertion`] given what was read: the credential the response names (with its
/// owner), if there is one, and the policy in force.
fn check_found(
    state: &AppState,
    effective: &Effective,
    authentication: &AuthenticationState,
    response: &AuthenticationResponseJson,
    found: Option<(Credential, User)>,
) -> Result<CheckedAssertion, ApiError> {
    let now = state.now();
    let Some((credential, user)) = found else {
        // No such credential: the same checks against a decoy key nothing can sign for, so
        // that the answer is the one a real credential gives to a sender without its key.
        let decoy = StoredCredential {
            id: response.raw_id.as_ref().to_vec(),
            // Whoever the response claims, as a real credential of that account would (a
            // discoverable response that claims nobody fails before the owner is compared).
            user_id: authentication
                .user_id
                .clone()
                .or_else(|| {
                    let claimed = response.response.user_handle.as_ref();
                    claimed.map(|h| h.as_ref().to_vec())
                })
                .unwrap_or_default(),
            public_key_cose: state.decoy_key.clone(),
            sign_count: 0,
            backup_eligible: false,
        };
        let checked = verify_authentication(
            &effective.rp,
            authentication,
            response,
            &decoy,
            UnixTime(now),
        );
        return Err(match checked {
            Err(e) => unsigned(e),
            Ok(_) => ApiError::UnknownCredential,
        });
    };
    let stored = StoredCredential {
        id: credential.id.clone(),
        user_id: user.user_handle.clone(),
        public_key_cose: credential.public_key.clone(),
        sign_count: credential.sign_count,
        backup_eligible: credential.backup_eligible,
    };
    let verified = verify_authentication(
        &effective.rp,
        authentication,
        response,
        &stored,
        UnixTime(now),
    )
    .map_err(unsigned)?;
    Ok(CheckedAssertion {
        user,
        credential,
        usage: Use {
            sign_count: verified.sign_count,
            backup_eligible: verified.backup_eligible,
            backed_up: verified.backed_up,
            now,
        },
        user_verified: verified.user_verified,
    })
}

impl CheckedAssertion {
    /// What the commit records of it: the counter's move, re-checked there.
    pub fn assertion(&self) -> Assertion {
        Assertion {
            user_id: self.user.id,
            credential_id: self.credential.id.clone(),
            usage: self.usage,
        }
    }

    /// The methods this assertion proves: a synced or a device-bound key, with or without
    /// user verification.
    pub fn amr(&self) -> Amr {
        Amr::key(self.usage.backup_eligible, self.user_verified)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    credential: AuthenticationResponseJson,
}

/// Failed finishes are counted per (credential id, IP) and per IP; past the limit the finish
/// is refused before anything is verified.
pub async fn finish(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FinishBody>,
) -> Result<Response, ApiError> {
    let credential_key = format!(
        "{}|{}",
        latch_webauthn::b64::encode(body.credential.raw_id.as_ref()),
        meta.ip_key.as_deref().unwrap_or_default()
    );
    let keys: [Keyed<'_>; 2] = [
        (limits::ASSERTION_PER_CREDENTIAL, Some(&credential_key)),
        (limits::ASSERTION_PER_IP, meta.ip_key.as_deref()),
    ];
    match finish_write(&state, &keys, meta.clone(), headers, body).await {
        Ok(reply) => Ok(reply),
        Err(e) if !limits::counts_as_attempt(&e) => Err(e),
        Err(e) => Err(limits::failed(&state, &keys, e).await),
    }
}

async fn finish_write(
    state: &AppState,
    keys: &[Keyed<'_>],
    meta: ClientMeta,
    headers: HeaderMap,
    body: FinishBody,
) -> Result<Response, ApiError> {
    // One read (store::sign_in) brings the credential, its owner, the policy and the attempt
    // counts; the limits are checked before anything else. The check reads only, so it runs
    // in parallel with other sign-ins; then the commit uses the ceremony up, moves the counter
    // and creates the session, all together or not at all, re-checking the ceremony and the
    // counter (a replay, or a race lost since the check, writes nothing).
    let now = state.now();
    let mut finish = Finish::start(state, Kind::Login).await?;
    let windows = limits::windows(keys, now);
    let read = sign_in::read(finish.conn(), body.credential.raw_id.as_ref(), &windows).await?;
    limits::refuse_used_up(keys, &read.attempts, now)?;
    let opened = finish.open::<Login>(&headers).await?;
    let effective = state.policy_of(read.policy)?;
    let token = session::NewToken::make(state, true)?;
    let checked = check_found(
        state,
        &effective,
        &opened.value.authentication,
        &body.credential,
        read.found,
    );
    let user = checked.as_ref().ok().map(|c| c.user.clone());
    let checked = checked.map(|checked| Commit::SignIn {
        assertion: checked.assertion(),
        session: token.new_session(checked.amr()),
    });
    finish.commit(checked, &meta).await?;
    let user = user.ok_or_else(|| ApiError::internal("a sign-in committed unchecked"))?;
    Ok((
        AppendHeaders([
            (SET_COOKIE, token.cookie),
            (SET_COOKIE, ceremony::clear(state)?),
        ]),
        Json(json!({ "user": UserView::from(&user) })),
    )
        .into_response())
}
