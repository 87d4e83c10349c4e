//! authenticatorGetAssertion (CTAP 2.1 §6.2) and authenticatorGetNextAssertion (§6.3).

#[cfg(test)]
mod tests;

use ciborium::value::Value;

use super::make_credential::option;
use super::{
    authorize_token, check_pin_uv_auth, descriptor_id, extensions, parse_pin_uv_auth, pin_status,
    require_presence, rp_id_hash, spend_token, Authenticator, PinUvAuth, FLAG_BE, FLAG_BS, FLAG_ED,
    FLAG_UP, FLAG_UV,
};
use crate::cbor::{self, int_key, read, text_key};
use crate::env::Env;
use crate::pin::Permissions;
use crate::status::StatusCode;
use crate::store::{CredProtect, CredentialOptions, StoredCredential, Write};

/// getNextAssertion is refused this long after the last GetAssertion / GetNextAssertion.
pub const NEXT_ASSERTION_TIMEOUT_MS: u64 = 30_000;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// rpId (0x01).
    pub rp_id: String,
    /// clientDataHash (0x02).
    pub client_data_hash: Vec<u8>,
    /// allowList (0x03) IDs of type "public-key"; `None` if absent.
    pub allow_list: Option<Vec<Vec<u8>>>,
    /// options.up (0x05).
    pub up: bool,
    /// options.uv.
    pub uv: bool,
    /// options.rk (present at all).
    pub rk_present: bool,
    /// pinUvAuthParam (0x06) and pinUvAuthProtocol (0x07).
    pub pin_uv_auth: Option<PinUvAuth>,
    /// Extensions (0x04).
    pub extensions: extensions::Assertion,
}

impl Request {
    /// Parses the parameter map.
    pub fn parse(map: &[(Value, Value)]) -> Result<Self, StatusCode> {
        let required = |key| read::get(map, key).ok_or(StatusCode::MissingParameter);
        let rp_id = read::text(required(0x01)?)?.to_owned();
        let client_data_hash = read::bytes(required(0x02)?)?.to_vec();
        let allow_list = read::get(map, 0x03)
            .map(|list| {
                read::array(list)?
                    .iter()
                    .filter_map(|d| descriptor_id(d).transpose())
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let extensions =
            extensions::Assertion::parse(read::get(map, 0x04).map(read::map).transpose()?)?;
        let options = read::get(map, 0x05).map(read::map).transpose()?;
        Ok(Self {
            rp_id,
            client_data_hash,
            allow_list,
            up: option(options, "up")?.unwrap_or(true),
            uv: option(options, "uv")?.unwrap_or(false),
            rk_present: option(options, "rk")?.is_some(),
            pin_uv_auth: parse_pin_uv_auth(map, 0x06, 0x07)?,
            extensions,
        })
    }
}

/// A credential found for the request.
#[derive(Debug, Clone)]
struct Found {
    id: Vec<u8>,
    key_material: Vec<u8>,
    options: CredentialOptions,
    /// The stored record, for discoverable credentials.
    stored: Option<StoredCredential>,
}

impl Found {
    fn stored(stored: StoredCredential) -> Self {
        Self {
            id: stored.id.clone(),
            key_material: stored.private_key.clone(),
            options: stored.options.clone(),
            stored: Some(stored),
        }
    }
}

/// What getNextAssertion continues from.
#[derive(Debug, Clone)]
pub struct Pending {
    rp_id_hash: [u8; 32],
    client_data_hash: Vec<u8>,
    flags: u8,
    extensions: extensions::Assertion,
    remaining: Vec<StoredCredential>,
    last_ms: u64,
}

/// Runs the request (§6.2.2).
pub fn handle(
    authenticator: &mut Authenticator,
    env: &mut Env<'_>,
    request: &Request,
) -> Result<Value, StatusCode> {
    // 1.-2. Zero-length pinUvAuthParam probe; pinUvAuthProtocol.
    let protocol = check_pin_uv_auth(
        &authenticator.pin,
        env,
        &request.rp_id,
        request.pin_uv_auth.as_ref(),
    )?;
    // 3.-5. Options: "rk" → CTAP2_ERR_UNSUPPORTED_OPTION; "uv" without built-in UV →
    //    CTAP2_ERR_INVALID_OPTION (a pinUvAuthParam makes "uv" false).
    if request.rk_present {
        return Err(StatusCode::UnsupportedOption);
    }
    let built_in_uv = authenticator.config.built_in_uv;
    let mut uv = request.uv && protocol.is_none();
    if uv && !built_in_uv {
        return Err(StatusCode::InvalidOption);
    }
    // alwaysUv (when "up" is true; silent pre-flights stay possible): built-in UV if there is
    // one, else the platform must get a token.
    if env.store.state().settings.always_uv && request.up && protocol.is_none() && !uv {
        if built_in_uv {
            uv = true;
        } else {
            return Err(StatusCode::PuatRequired);
        }
    }
    if request.extensions.large_blob_key == Some(false) {
        return Err(StatusCode::InvalidOption);
    }
    // 6. pinUvAuthParam over clientDataHash, permission ga, this RP ID; or built-in UV (which
    //    also collects presence).
    let user_verified = if protocol.is_some() {
        authorize_token(
            &mut authenticator.pin,
            env.clock.now_ms(),
            protocol,
            request.pin_uv_auth.as_ref(),
            &request.client_data_hash,
            Permissions::GET_ASSERTION,
            &request.rp_id,
        )?
    } else if uv {
        authenticator.perform_built_in_uv(env, &request.rp_id, "authenticate")?;
        true
    } else {
        false
    };
    // 7. Locate credentials. credProtect: level 3 needs UV; level 2 needs UV or an allowList.
    let rp_hash = rp_id_hash(&request.rp_id);
    let usable = |options: &CredentialOptions, listed: bool| match options.cred_protect {
        CredProtect::UvOptional => true,
        CredProtect::UvOptionalWithCredentialIdList => listed || user_verified,
        CredProtect::UvRequired => user_verified,
    };
    let mut found: Vec<Found> = match &request.allow_list {
        Some(ids) => ids
            .iter()
            .filter_map(|id| {
                if let Some(stored) = env
                    .store
                    .credential(id)
                    .filter(|stored| stored.rp_id_hash == rp_hash)
                {
                    return Some(Found::stored(stored));
                }
                let (key_material, options) = authenticator.master.unwrap_material(id, &rp_hash)?;
                Some(Found {
                    id: id.clone(),
                    key_material,
                    options,
                    stored: None,
                })
            })
            .filter(|found| usable(&found.options, true))
            .take(1)
            .collect(),
        None => env
            .store
            .credentials_for(&rp_hash)
            .into_iter()
            .map(Found::stored)
            .filter(|found| usable(&found.options, false))
            .collect(),
    };
    // 8. User presence (unless up = false, or built-in UV collected it), before revealing
    //    whether anything matched.
    let mut flags = 0;
    if request.up {
        if !uv {
            require_presence(env, &request.rp_id, "authenticate")?;
        }
        flags |= FLAG_UP;
        if protocol.is_some() {
            spend_token(&mut authenticator.pin);
        }
    }
    if user_verified {
        flags |= FLAG_UV;
    }
    if found.is_empty() {
        return Err(StatusCode::NoCredentials);
    }
    let first = found.remove(0);
    let count = found.len() + 1;
    let discoverable = request.allow_list.is_none();
    let response = assert(
        authenticator,
        env,
        &Signing {
            rp_hash: &rp_hash,
            client_data_hash: &request.client_data_hash,
            flags,
            extensions: &request.extensions,
        },
        &first,
        discoverable,
        (count > 1).then_some(count),
    )?;
    authenticator.next_assertion = (count > 1).then(|| Pending {
        rp_id_hash: rp_hash,
        client_data_hash: request.client_data_hash.clone(),
        flags,
        extensions: request.extensions.clone(),
        remaining: found.into_iter().filter_map(|f| f.stored).collect(),
        last_ms: env.clock.now_ms(),
    });
    Ok(response)
}

/// authenticatorGetNextAssertion: NOT_ALLOWED without live state or after 30 s.
pub fn next(authenticator: &mut Authenticator, env: &mut Env<'_>) -> Result<Value, StatusCode> {
    let now = env.clock.now_ms();
    let mut pending = authenticator
        .next_assertion
        .take()
        .filter(|p| now.saturating_sub(p.last_ms) <= NEXT_ASSERTION_TIMEOUT_MS)
        .ok_or(StatusCode::NotAllowed)?;
    if pending.remaining.is_empty() {
        return Err(StatusCode::NotAllowed);
    }
    let found = Found::stored(pending.remaining.remove(0));
    let response = assert(
        authenticator,
        env,
        &Signing {
            rp_hash: &pending.rp_id_hash,
            client_data_hash: &pending.client_data_hash,
            flags: pending.flags,
            extensions: &pending.extensions,
        },
        &found,
        true,
        None,
    )?;
    pending.last_ms = now;
    if !pending.remaining.is_empty() {
        authenticator.next_assertion = Some(pending);
    }
    Ok(response)
}

/// What every assertion of one request shares.
struct Signing<'a> {
    rp_hash: &'a [u8; 32],
    client_data_hash: &'a [u8],
    flags: u8,
    extensions: &'a extensions::Assertion,
}

/// Signs one assertion; with UP the counter is incremented and persisted first.
fn assert(
    authenticator: &mut Authenticator,
    env: &mut Env<'_>,
    signing: &Signing<'_>,
    found: &Found,
    discoverable: bool,
    number_of_credentials: Option<usize>,
) -> Result<Value, StatusCode> {
    let mut flags = signing.flags;
    let user_verified = flags & FLAG_UV != 0;
    // Extension outputs (authData), computed before the counter moves so an error in them
    // changes nothing.
    let mut outputs = Vec::new();
    if signing.extensions.cred_blob {
        let blob = found.options.cred_blob.clone().unwrap_or_default();
        outputs.push(text_key("credBlob", Value::Bytes(blob)));
    }
    if let Some(input) = &signing.extensions.hmac_secret {
        // Only for credentials made with hmac-secret, and only with user presence.
        if found.options.hmac_secret && flags & FLAG_UP != 0 {
            let agreement = authenticator.key_agreements.get(input.protocol, env.rng)?;
            let shared = agreement
                .decapsulate(&input.key_agreement)
                .map_err(|error| pin_status(&error))?;
            let output = extensions::hmac_secret_output(
                &shared,
                input,
                &authenticator.master,
                &found.id,
                found.options.cred_random.as_deref(),
                user_verified,
                env.rng,
            )?;
            outputs.push(text_key("hmac-secret", Value::Bytes(output)));
        }
    }
    if !outputs.is_empty() {
        flags |= FLAG_ED;
    }
    let synced = found.stored.is_some() && authenticator.config.synced_discoverable;
    if synced {
        flags |= FLAG_BE | FLAG_BS;
    }
    let counter = if synced {
        0
    } else if flags & FLAG_UP != 0 {
        let next = env.store.sign_count().wrapping_add(1);
        env.store
            .apply(&[Write::SignCount(next)])
            .map_err(|_| StatusCode::Other)?;
        next
    } else {
        env.store.sign_count()
    };
    let mut auth_data = Vec::with_capacity(37);
    auth_data.extend_from_slice(signing.rp_hash);
    auth_data.push(flags);
    auth_data.extend_from_slice(&counter.to_be_bytes());
    if !outputs.is_empty() {
        let encoded = cbor::encode(&Value::Map(outputs)).map_err(|_| StatusCode::Other)?;
        auth_data.extend_from_slice(&encoded);
    }
    let mut signed = auth_data.clone();
    signed.extend_from_slice(signing.client_data_hash);
    let signature = authenticator
        .keys
        .load(&found.key_material)
        .ok_or(StatusCode::Other)?
        .sign(&signed)
        .map_err(|_| StatusCode::Other)?;

    let mut response = vec![
        int_key(
            0x01,
            Value::Map(vec![
                text_key("id", Value::Bytes(found.id.clone())),
                text_key("type", Value::Text("public-key".to_owned())),
            ]),
        ),
        int_key(0x02, Value::Bytes(auth_data)),
        int_key(0x03, Value::Bytes(signature)),
    ];
    if let Some(stored) = &found.stored {
        let mut user = vec![text_key("id", Value::Bytes(stored.user_id.clone()))];
        // User-identifiable information only for discoverable lookups with UV.
        if discoverable && user_verified {
            if let Some(name) = &stored.user_name {
                user.push(text_key("name", Value::Text(name.clone())));
            }
            if let Some(name) = &stored.user_display_name {
                user.push(text_key("displayName", Value::Text(name.clone())));
            }
        }
        response.push(int_key(0x04, Value::Map(user)));
    }
    if let Some(count) = number_of_credentials {
        let count = u64::try_from(count).map_err(|_| StatusCode::Other)?;
        response.push(int_key(0x05, Value::Integer(count.into())));
    }
    if signing.extensions.large_blob_key == Some(true) && found.options.large_blob_key {
        response.push(int_key(
            0x07,
            Value::Bytes(authenticator.master.large_blob_key(&found.id).to_vec()),
        ));
    }
    Ok(Value::Map(response))
}
