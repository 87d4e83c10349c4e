//! authenticatorMakeCredential (CTAP 2.1 §6.1).

#[cfg(test)]
mod tests;

use ciborium::value::Value;

use super::{
    authorize_token, check_pin_uv_auth, descriptor_id, extensions, parse_pin_uv_auth,
    require_presence, rp_id_hash, spend_token, Authenticator, PinUvAuth, FLAG_AT, FLAG_BE, FLAG_BS,
    FLAG_ED, FLAG_UP, FLAG_UV,
};
use crate::cbor::{self, int_key, read, text_key};
use crate::credential::{Alg, PrivateKey};
use crate::env::Env;
use crate::pin::Permissions;
use crate::status::StatusCode;
use crate::store::{CredProtect, StoredCredential, Write};

/// Length of the random ID of a discoverable credential.
pub const RESIDENT_ID_LEN: usize = 16;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// clientDataHash (0x01).
    pub client_data_hash: Vec<u8>,
    /// rp.id (0x02).
    pub rp_id: String,
    /// user.id (0x03).
    pub user_id: Vec<u8>,
    /// user.name.
    pub user_name: Option<String>,
    /// user.displayName.
    pub user_display_name: Option<String>,
    /// The first supported algorithm of pubKeyCredParams (0x04), if any.
    pub alg: Option<Alg>,
    /// excludeList (0x05) IDs of type "public-key".
    pub exclude_list: Vec<Vec<u8>>,
    /// options.rk (0x07).
    pub rk: bool,
    /// options.up.
    pub up: bool,
    /// options.uv.
    pub uv: bool,
    /// pinUvAuthParam (0x08) and pinUvAuthProtocol (0x09).
    pub pin_uv_auth: Option<PinUvAuth>,
    /// enterpriseAttestation (0x0A).
    pub enterprise_attestation: Option<i64>,
    /// attestationFormatsPreference (0x0B): "none" preferred over "packed".
    pub prefers_none: bool,
    /// Extensions (0x06).
    pub extensions: extensions::Registration,
}

fn optional_text(map: &[(Value, Value)], key: &str) -> Result<Option<String>, StatusCode> {
    read::get_text(map, key)
        .map(|value| read::text(value).map(str::to_owned))
        .transpose()
}

/// Parses an options map: known keys must be booleans, unknown keys are ignored.
pub(crate) fn option(
    map: Option<&[(Value, Value)]>,
    key: &str,
) -> Result<Option<bool>, StatusCode> {
    map.and_then(|map| read::get_text(map, key))
        .map(read::boolean)
        .transpose()
}

impl Request {
    /// Parses the parameter map: a missing mandatory parameter → MISSING_PARAMETER, a wrong
    /// type → CBOR_UNEXPECTED_TYPE.
    pub fn parse(map: &[(Value, Value)]) -> Result<Self, StatusCode> {
        let required = |key| read::get(map, key).ok_or(StatusCode::MissingParameter);
        let client_data_hash = read::bytes(required(0x01)?)?.to_vec();
        let rp = read::map(required(0x02)?)?;
        let user = read::map(required(0x03)?)?;
        let params = read::array(required(0x04)?)?;

        let rp_id = read::text(read::get_text(rp, "id").ok_or(StatusCode::MissingParameter)?)?;
        let user_id = read::bytes(read::get_text(user, "id").ok_or(StatusCode::MissingParameter)?)?;
        let user_name = optional_text(user, "name")?;
        let user_display_name = optional_text(user, "displayName")?;

        let mut alg = None;
        for param in params {
            let param = read::map(param)?;
            let cose =
                read::int(read::get_text(param, "alg").ok_or(StatusCode::MissingParameter)?)?;
            let ty =
                read::text(read::get_text(param, "type").ok_or(StatusCode::MissingParameter)?)?;
            if alg.is_none() && ty == "public-key" {
                alg = Alg::from_cose(cose);
            }
        }

        let exclude_list = read::get(map, 0x05)
            .map(|list| {
                read::array(list)?
                    .iter()
                    .filter_map(|d| descriptor_id(d).transpose())
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let extensions =
            extensions::Registration::parse(read::get(map, 0x06).map(read::map).transpose()?)?;
        let options = read::get(map, 0x07).map(read::map).transpose()?;
        let pin_uv_auth = parse_pin_uv_auth(map, 0x08, 0x09)?;
        let enterprise_attestation = read::get(map, 0x0A).map(read::int).transpose()?;
        let prefers_none = match read::get(map, 0x0B) {
            None => false,
            Some(formats) => {
                let formats = read::array(formats)?;
                formats
                    .iter()
                    .filter_map(Value::as_text)
                    .find(|f| *f == "packed" || *f == "none")
                    == Some("none")
            }
        };

        Ok(Self {
            client_data_hash,
            rp_id: rp_id.to_owned(),
            user_id: user_id.to_vec(),
            user_name,
            user_display_name,
            alg,
            exclude_list,
            rk: option(options, "rk")?.unwrap_or(false),
            up: option(options, "up")?.unwrap_or(true),
            uv: option(options, "uv")?.unwrap_or(false),
            pin_uv_auth,
            enterprise_attestation,
            prefers_none,
            extensions,
        })
    }
}

/// Runs the request (§6.1.2) and returns the response map {1: fmt, 2: authData, 3: attStmt,
/// 5: largeBlobKey}.
pub fn handle(
    authenticator: &mut Authenticator,
    env: &mut Env<'_>,
    request: &Request,
) -> Result<Value, StatusCode> {
    // 1.-2. Zero-length pinUvAuthParam probe; pinUvAuthProtocol present and supported.
    let protocol = check_pin_uv_auth(
        &authenticator.pin,
        env,
        &request.rp_id,
        request.pin_uv_auth.as_ref(),
    )?;
    // 3. "If pubKeyCredParams ... does not contain a supported algorithm →
    //    CTAP2_ERR_UNSUPPORTED_ALGORITHM."
    let alg = request.alg.ok_or(StatusCode::UnsupportedAlgorithm)?;
    // 4.-5. Options: "up" false → CTAP2_ERR_INVALID_OPTION; "uv" without built-in UV →
    //    CTAP2_ERR_INVALID_OPTION. A pinUvAuthParam makes "uv" false.
    if !request.up {
        return Err(StatusCode::InvalidOption);
    }
    let built_in_uv = authenticator.config.built_in_uv;
    let mut uv = request.uv && protocol.is_none();
    if uv && !built_in_uv {
        return Err(StatusCode::InvalidOption);
    }
    // 6. alwaysUv: without a pinUvAuthParam, built-in UV if there is one, else the platform
    //    must get a token (PUAT_REQUIRED).
    if env.store.state().settings.always_uv && protocol.is_none() && !uv {
        if built_in_uv {
            uv = true;
        } else {
            return Err(StatusCode::PuatRequired);
        }
    }
    // 7. No enterprise attestation support: "If the enterpriseAttestation parameter is present
    //    and the authenticator is not enterprise attestation capable → INVALID_PARAMETER".
    if request.enterprise_attestation.is_some() {
        return Err(StatusCode::InvalidParameter);
    }
    // 8. Protected by some form of UV (a PIN or built-in UV), no pinUvAuthParam and "uv" false
    //    → CTAP2_ERR_PUAT_REQUIRED (makeCredUvNotRqd is false).
    if authenticator.is_protected() && protocol.is_none() && !uv {
        return Err(StatusCode::PuatRequired);
    }
    // largeBlobKey only for discoverable credentials, and only "true" (§12.3).
    if request.extensions.large_blob_key == Some(false)
        || (request.extensions.large_blob_key == Some(true) && !request.rk)
    {
        return Err(StatusCode::InvalidOption);
    }
    // 9.-11. Verify pinUvAuthParam over clientDataHash with permission mc and this RP ID, or
    //    perform built-in user verification (which also collects presence).
    let user_verified = if protocol.is_some() {
        authorize_token(
            &mut authenticator.pin,
            env.clock.now_ms(),
            protocol,
            request.pin_uv_auth.as_ref(),
            &request.client_data_hash,
            Permissions::MAKE_CREDENTIAL,
            &request.rp_id,
        )?
    } else if uv {
        authenticator.perform_built_in_uv(env, &request.rp_id, "register")?;
        true
    } else {
        false
    };
    let rp_hash = rp_id_hash(&request.rp_id);
    // 12. excludeList: a credential of ours for this RP → collect presence, then
    //     CTAP2_ERR_CREDENTIAL_EXCLUDED. credProtect 3 credentials are only revealed with UV.
    let master = &authenticator.master;
    let excluded = request.exclude_list.iter().any(|id| {
        let options = env
            .store
            .credential(id)
            .filter(|stored| stored.rp_id_hash == rp_hash)
            .map(|stored| stored.options)
            .or_else(|| master.unwrap(id, &rp_hash).map(|(_, options)| options));
        options
            .is_some_and(|options| options.cred_protect != CredProtect::UvRequired || user_verified)
    });
    if excluded {
        if !uv {
            require_presence(env, &request.rp_id, "excluded")?;
        }
        return Err(StatusCode::CredentialExcluded);
    }
    // A full store is reported before bothering the user.
    if request.rk
        && env
            .store
            .credentials_for(&rp_hash)
            .iter()
            .all(|c| c.user_id != request.user_id)
        && env.store.count() >= env.store.capacity()
    {
        return Err(StatusCode::KeyStoreFull);
    }
    // 13. User presence (built-in UV already collected it).
    if !uv {
        require_presence(env, &request.rp_id, "register")?;
    }
    if protocol.is_some() {
        spend_token(&mut authenticator.pin);
    }
    // 14.-16. The key, its ID, storage; extensions decide the credential's options.
    let (options, cred_blob_stored) = request.extensions.credential_options();
    let key = PrivateKey::generate(alg, env.rng).map_err(|_| StatusCode::Other)?;
    // A synced passkey counts nothing: its copies on other devices could not keep step.
    let synced = request.rk && authenticator.config.synced_discoverable;
    let (counter, mut batch) = if synced {
        (0, Vec::new())
    } else {
        let counter = env.store.sign_count().wrapping_add(1);
        (counter, vec![Write::SignCount(counter)])
    };
    let id = if request.rk {
        let mut id = vec![0u8; RESIDENT_ID_LEN];
        env.rng.fill(&mut id);
        batch.push(Write::PutCredential(StoredCredential {
            id: id.clone(),
            rp_id: request.rp_id.clone(),
            rp_id_hash: rp_hash,
            user_id: request.user_id.clone(),
            user_name: request.user_name.clone(),
            user_display_name: request.user_display_name.clone(),
            private_key: key.to_material().map_err(|_| StatusCode::Other)?,
            created_ms: env.clock.now_ms(),
            options: options.clone(),
        }));
        id
    } else {
        master
            .wrap(&key, &options, &rp_hash, env.rng)
            .map_err(|_| StatusCode::Other)?
    };
    // The credential and the counter land together, or not at all. Capacity was checked
    // above, so a failure here is the storage itself.
    env.store.apply(&batch).map_err(|_| StatusCode::Other)?;

    // 17. authData = rpIdHash || flags || signCount || attestedCredentialData || extensions.
    let settings = &env.store.state().settings;
    let min_pin_length = settings
        .min_pin_length_rp_ids
        .iter()
        .any(|allowed| allowed == &request.rp_id)
        .then(|| authenticator.pin.min_pin_length());
    let outputs = request
        .extensions
        .outputs(&options, cred_blob_stored, min_pin_length);
    let id_len = u16::try_from(id.len()).map_err(|_| StatusCode::Other)?;
    let public_key = cbor::encode(&key.cose_public_key()).map_err(|_| StatusCode::Other)?;
    let mut flags = FLAG_UP | FLAG_AT;
    if user_verified {
        flags |= FLAG_UV;
    }
    if synced {
        flags |= FLAG_BE | FLAG_BS;
    }
    if !outputs.is_empty() {
        flags |= FLAG_ED;
    }
    let mut auth_data = Vec::with_capacity(37 + 16 + 2 + id.len() + public_key.len());
    auth_data.extend_from_slice(&rp_hash);
    auth_data.push(flags);
    auth_data.extend_from_slice(&counter.to_be_bytes());
    auth_data.extend_from_slice(&authenticator.config.aaguid);
    auth_data.extend_from_slice(&id_len.to_be_bytes());
    auth_data.extend_from_slice(&id);
    auth_data.extend_from_slice(&public_key);
    if !outputs.is_empty() {
        let encoded = cbor::encode(&Value::Map(outputs)).map_err(|_| StatusCode::Other)?;
        auth_data.extend_from_slice(&encoded);
    }

    // 18. Attestation: "packed" with the batch certificate (or self attestation without one),
    //     or "none" if the platform prefers it.
    let (fmt, att_stmt) = if request.prefers_none {
        ("none", Value::Map(vec![]))
    } else {
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&request.client_data_hash);
        match &authenticator.config.attestation {
            Some(batch) => {
                let sig = batch.key.sign(&signed).map_err(|_| StatusCode::Other)?;
                let x5c = batch
                    .certificates
                    .iter()
                    .map(|der| Value::Bytes(der.clone()))
                    .collect();
                (
                    "packed",
                    Value::Map(vec![
                        text_key("alg", Value::Integer(batch.key.alg().cose().into())),
                        text_key("sig", Value::Bytes(sig)),
                        text_key("x5c", Value::Array(x5c)),
                    ]),
                )
            }
            None => {
                let sig = key.sign(&signed).map_err(|_| StatusCode::Other)?;
                (
                    "packed",
                    Value::Map(vec![
                        text_key("alg", Value::Integer(alg.cose().into())),
                        text_key("sig", Value::Bytes(sig)),
                    ]),
                )
            }
        }
    };
    let mut response = vec![
        int_key(0x01, Value::Text(fmt.to_owned())),
        int_key(0x02, Value::Bytes(auth_data)),
        int_key(0x03, att_stmt),
    ];
    if options.large_blob_key {
        response.push(int_key(
            0x05,
            Value::Bytes(master.large_blob_key(&id).to_vec()),
        ));
    }
    Ok(Value::Map(response))
}
