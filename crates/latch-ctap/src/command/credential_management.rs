//! authenticatorCredentialManagement (CTAP 2.1 §6.8), also answered as the FIDO_2_1_PRE
//! prototype command 0x41: metadata, enumeration of RPs and of an RP's discoverable
//! credentials, deletion, and user-information updates.

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use ciborium::value::Value;

use super::auth::require_token;
use super::{descriptor_id, rp_id_hash, Authenticator};
use crate::cbor::{self, int_key, read, text_key};
use crate::credential::{MasterKey, PrivateKey};
use crate::env::Env;
use crate::pin::Permissions;
use crate::status::StatusCode;
use crate::store::{StoredCredential, Write};

/// getCredsMetadata.
pub const GET_CREDS_METADATA: u64 = 0x01;
/// enumerateRPsBegin.
pub const ENUMERATE_RPS_BEGIN: u64 = 0x02;
/// enumerateRPsGetNextRP.
pub const ENUMERATE_RPS_GET_NEXT_RP: u64 = 0x03;
/// enumerateCredentialsBegin.
pub const ENUMERATE_CREDENTIALS_BEGIN: u64 = 0x04;
/// enumerateCredentialsGetNextCredential.
pub const ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL: u64 = 0x05;
/// deleteCredential.
pub const DELETE_CREDENTIAL: u64 = 0x06;
/// updateUserInformation.
pub const UPDATE_USER_INFORMATION: u64 = 0x07;

/// A parsed request: the same {subCommand, subCommandParams, pinUvAuthProtocol,
/// pinUvAuthParam} shape as the other management commands.
pub type Request = super::auth::SubcommandRequest;

/// What the GetNext subcommands continue: the RP IDs or credential IDs not yet returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enumeration {
    /// After enumerateRPsBegin.
    Rps(Vec<String>),
    /// After enumerateCredentialsBegin.
    Credentials(Vec<Vec<u8>>),
}

/// Runs one subcommand. `enumeration` is the state the previous command left (the dispatcher
/// takes it, so any other command drops it). `Ok(None)` is a success without a response map.
pub fn handle(
    authenticator: &mut Authenticator,
    env: &mut Env<'_>,
    request: &Request,
    enumeration: Option<Enumeration>,
) -> Result<Option<Value>, StatusCode> {
    let sub_command = request.sub_command;
    match sub_command {
        // §6.8.3 / §6.8.4: the GetNext subcommands need no pinUvAuthParam, only the state of
        // a Begin just before them; without it, CTAP2_ERR_NOT_ALLOWED.
        ENUMERATE_RPS_GET_NEXT_RP => {
            let Some(Enumeration::Rps(mut remaining)) = enumeration else {
                return Err(StatusCode::NotAllowed);
            };
            if remaining.is_empty() {
                return Err(StatusCode::NotAllowed);
            }
            let rp_id = remaining.remove(0);
            if !remaining.is_empty() {
                authenticator.enumeration = Some(Enumeration::Rps(remaining));
            }
            return Ok(Some(rp_response(&rp_id, None)));
        }
        ENUMERATE_CREDENTIALS_GET_NEXT_CREDENTIAL => {
            let Some(Enumeration::Credentials(mut remaining)) = enumeration else {
                return Err(StatusCode::NotAllowed);
            };
            if remaining.is_empty() {
                return Err(StatusCode::NotAllowed);
            }
            let id = remaining.remove(0);
            let stored = env.store.credential(&id).ok_or(StatusCode::NotAllowed)?;
            if !remaining.is_empty() {
                authenticator.enumeration = Some(Enumeration::Credentials(remaining));
            }
            return credential_response(&authenticator.master, &stored, None).map(Some);
        }
        GET_CREDS_METADATA
        | ENUMERATE_RPS_BEGIN
        | ENUMERATE_CREDENTIALS_BEGIN
        | DELETE_CREDENTIAL
        | UPDATE_USER_INFORMATION => {}
        _ => return Err(StatusCode::InvalidSubcommand),
    }

    // Every other subcommand: "If pinUvAuthParam is missing, return CTAP2_ERR_PUAT_REQUIRED";
    // pinUvAuthProtocol missing → CTAP2_ERR_MISSING_PARAMETER, unsupported →
    // CTAP1_ERR_INVALID_PARAMETER; "verify(pinUvAuthToken, subCommand || subCommandParams,
    // pinUvAuthParam)" → CTAP2_ERR_PIN_AUTH_INVALID; no cm permission →
    // CTAP2_ERR_UNAUTHORIZED_PERMISSION.
    let mut message = vec![u8::try_from(sub_command).map_err(|_| StatusCode::Other)?];
    if let Some(params) = &request.sub_command_params {
        let encoded =
            cbor::encode(&Value::Map(params.clone())).map_err(|_| StatusCode::InvalidCbor)?;
        message.extend_from_slice(&encoded);
    }
    let token = require_token(
        &mut authenticator.pin,
        env.clock.now_ms(),
        request.pin_uv_auth.as_ref(),
        &message,
        Permissions::CREDENTIAL_MANAGEMENT,
    )?;
    // A token with a permissions RP ID may only manage that RP's credentials.
    let bound_rp_id = token.rp_id().map(str::to_owned);
    let params = request.sub_command_params.as_deref();

    match sub_command {
        GET_CREDS_METADATA => {
            // §6.8.2: the whole store, so only for a token without a permissions RP ID
            // (a bound one → PIN_AUTH_INVALID, as for any RP ID mismatch).
            if bound_rp_id.is_some() {
                return Err(StatusCode::PinAuthInvalid);
            }
            let count = env.store.count();
            let remaining = env.store.capacity().saturating_sub(count);
            Ok(Some(Value::Map(vec![
                int_key(0x01, unsigned(count)?),
                int_key(0x02, unsigned(remaining)?),
            ])))
        }
        ENUMERATE_RPS_BEGIN => {
            // §6.8.3: every RP, so only for a token without a permissions RP ID.
            if bound_rp_id.is_some() {
                return Err(StatusCode::PinAuthInvalid);
            }
            let rp_ids: BTreeSet<String> = env
                .store
                .state()
                .credentials
                .iter()
                .map(|credential| credential.rp_id.clone())
                .collect();
            let total = rp_ids.len();
            let mut rp_ids = rp_ids.into_iter();
            // "If no discoverable credentials exist on this authenticator, return
            //  CTAP2_ERR_NO_CREDENTIALS."
            let first = rp_ids.next().ok_or(StatusCode::NoCredentials)?;
            let remaining: Vec<String> = rp_ids.collect();
            if !remaining.is_empty() {
                authenticator.enumeration = Some(Enumeration::Rps(remaining));
            }
            Ok(Some(rp_response(&first, Some(total))))
        }
        ENUMERATE_CREDENTIALS_BEGIN => {
            // §6.8.4: subCommandParams.rpIDHash is required.
            let params = params.ok_or(StatusCode::MissingParameter)?;
            let hash = read::bytes(read::get(params, 0x01).ok_or(StatusCode::MissingParameter)?)?;
            let hash = <[u8; 32]>::try_from(hash).map_err(|_| StatusCode::InvalidParameter)?;
            if bound_rp_id.is_some_and(|rp_id| rp_id_hash(&rp_id) != hash) {
                return Err(StatusCode::PinAuthInvalid);
            }
            let mut credentials = env.store.credentials_for(&hash).into_iter();
            let total = credentials.len();
            // "If no discoverable credentials for this RP ID hash exist on this authenticator,
            //  return CTAP2_ERR_NO_CREDENTIALS."
            let first = credentials.next().ok_or(StatusCode::NoCredentials)?;
            let remaining: Vec<Vec<u8>> = credentials.map(|credential| credential.id).collect();
            if !remaining.is_empty() {
                authenticator.enumeration = Some(Enumeration::Credentials(remaining));
            }
            credential_response(&authenticator.master, &first, Some(total)).map(Some)
        }
        DELETE_CREDENTIAL => {
            // §6.8.5: subCommandParams.credentialID is required.
            let stored = find_credential(env, params, bound_rp_id.as_deref())?;
            env.store
                .apply(&[Write::DeleteCredential(stored.id)])
                .map_err(|_| StatusCode::Other)?;
            Ok(None)
        }
        _ => {
            // §6.8.6 updateUserInformation: credentialID and user are required.
            let stored = find_credential(env, params, bound_rp_id.as_deref())?;
            let user =
                read::get(params.unwrap_or_default(), 0x03).ok_or(StatusCode::MissingParameter)?;
            let user = read::map(user)?;
            let user_id =
                read::bytes(read::get_text(user, "id").ok_or(StatusCode::MissingParameter)?)?;
            // "If the userId does not match the stored credential's user.id, return
            //  CTAP1_ERR_INVALID_PARAMETER."
            if user_id != stored.user_id.as_slice() {
                return Err(StatusCode::InvalidParameter);
            }
            // "Replace the matching credential's name and displayName with the passed-in user
            //  details. If a field is not present in the passed-in user details, or it is
            //  present and empty, remove it."
            let field = |name| -> Result<Option<String>, StatusCode> {
                read::get_text(user, name)
                    .map(read::text)
                    .transpose()
                    .map(|text| text.filter(|text| !text.is_empty()).map(str::to_owned))
            };
            let updated = StoredCredential {
                user_name: field("name")?,
                user_display_name: field("displayName")?,
                ..stored
            };
            env.store
                .apply(&[Write::PutCredential(updated)])
                .map_err(|_| StatusCode::Other)?;
            Ok(None)
        }
    }
}

/// The stored credential named by subCommandParams.credentialID (0x02): params or the ID
/// missing → CTAP2_ERR_MISSING_PARAMETER; not stored → CTAP2_ERR_NO_CREDENTIALS; stored for
/// another RP than the token's permissions RP ID → CTAP2_ERR_PIN_AUTH_INVALID.
fn find_credential(
    env: &Env<'_>,
    params: Option<&[(Value, Value)]>,
    bound_rp_id: Option<&str>,
) -> Result<StoredCredential, StatusCode> {
    let params = params.ok_or(StatusCode::MissingParameter)?;
    let descriptor = read::get(params, 0x02).ok_or(StatusCode::MissingParameter)?;
    let id = descriptor_id(descriptor)?.ok_or(StatusCode::NoCredentials)?;
    let stored = env.store.credential(&id).ok_or(StatusCode::NoCredentials)?;
    if bound_rp_id.is_some_and(|rp_id| rp_id != stored.rp_id) {
        return Err(StatusCode::PinAuthInvalid);
    }
    Ok(stored)
}

fn unsigned(n: usize) -> Result<Value, StatusCode> {
    u64::try_from(n)
        .map(|n| Value::Integer(n.into()))
        .map_err(|_| StatusCode::Other)
}

/// {rp (0x03): {id}, rpIDHash (0x04), totalRPs (0x05) in the Begin response only}.
fn rp_response(rp_id: &str, total: Option<usize>) -> Value {
    let mut response = vec![
        int_key(
            0x03,
            Value::Map(vec![text_key("id", Value::Text(rp_id.to_owned()))]),
        ),
        int_key(0x04, Value::Bytes(rp_id_hash(rp_id).to_vec())),
    ];
    if let Some(total) = total {
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        response.push(int_key(0x05, Value::Integer(total.into())));
    }
    Value::Map(response)
}

/// {user (0x06), credentialID (0x07), publicKey (0x08), totalCredentials (0x09) in the Begin
/// response only, credProtect (0x0A) always (OpenSSH relies on it), largeBlobKey (0x0B) if
/// the credential has one}.
fn credential_response(
    master: &MasterKey,
    stored: &StoredCredential,
    total: Option<usize>,
) -> Result<Value, StatusCode> {
    let key = PrivateKey::from_material(&stored.private_key).ok_or(StatusCode::Other)?;
    let mut user = vec![text_key("id", Value::Bytes(stored.user_id.clone()))];
    if let Some(name) = &stored.user_name {
        user.push(text_key("name", Value::Text(name.clone())));
    }
    if let Some(name) = &stored.user_display_name {
        user.push(text_key("displayName", Value::Text(name.clone())));
    }
    let mut response = vec![
        int_key(0x06, Value::Map(user)),
        int_key(
            0x07,
            Value::Map(vec![
                text_key("id", Value::Bytes(stored.id.clone())),
                text_key("type", Value::Text("public-key".to_owned())),
            ]),
        ),
        int_key(0x08, key.cose_public_key()),
        int_key(
            0x0A,
            Value::Integer(stored.options.cred_protect.level().into()),
        ),
    ];
    if let Some(total) = total {
        response.push(int_key(0x09, unsigned(total)?));
    }
    if stored.options.large_blob_key {
        response.push(int_key(
            0x0B,
            Value::Bytes(master.large_blob_key(&stored.id).to_vec()),
        ));
    }
    Ok(Value::Map(response))
}
