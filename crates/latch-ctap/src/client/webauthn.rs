//! The browser's part of WebAuthn, for tests and load generators: options JSON and an origin
//! in, clientDataJSON built, extensions mapped ([`super::extensions`]), makeCredential /
//! getAssertion sent, L3 response JSON out.

use ciborium::value::Value;
use latch_webauthn::b64::{self, Base64Url};
use latch_webauthn::wire::{
    AuthenticationResponseJson, AuthenticatorAssertionResponseJson,
    AuthenticatorAttestationResponseJson, CreationOptionsJson, RegistrationResponseJson,
    RequestOptionsJson,
};

use super::ctap2::{Ctap2, GetAssertionRequest, MakeCredentialRequest, PinUvAuthParam, Rp, User};
use super::pin::PinUvAuthToken;
use super::{sha256, CtapDevice, Error};

/// Algorithms asked for when the options list none (WebAuthn's default: ES256, RS256).
const DEFAULT_ALGORITHMS: [i64; 2] = [-7, -257];

/// clientDataJSON exactly as browsers serialize it:
/// `{"type":…,"challenge":…,"origin":…,"crossOrigin":false}`.
pub fn client_data_json(ty: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
    let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    format!(
        r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":false}}"#,
        quote(ty),
        quote(&b64::encode(challenge)),
        quote(origin)
    )
    .into_bytes()
}

/// The host of an origin such as `https://login.example.com:8443`, the default RP ID.
pub fn origin_host(origin: &str) -> Result<String, Error> {
    let rest = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .ok_or_else(|| Error::Invalid(format!("{origin:?} is not an origin (no scheme)")))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    if host.is_empty() {
        return Err(Error::Invalid(format!("{origin:?} has no host")));
    }
    Ok(host.to_ascii_lowercase())
}

/// How the user is verified, as a browser decides: a PIN token if the caller has one, else
/// the key's built-in user verification ("uv" option) when the RP requires or prefers it.
/// Returns the "uv" option to send.
fn user_verification<D: CtapDevice>(
    ctap: &Ctap2<D>,
    requirement: Option<&str>,
    token: Option<&PinUvAuthToken>,
) -> Result<Option<bool>, Error> {
    if token.is_some() {
        return Ok(None);
    }
    let built_in = ctap.info().option("uv") == Some(true);
    match requirement {
        Some("required") if !built_in => Err(Error::Invalid(
            "the relying party requires user verification: a PIN token is needed".into(),
        )),
        Some("discouraged") => Ok(None),
        // "required", "preferred", or absent (which means preferred).
        _ => Ok(built_in.then_some(true)),
    }
}

/// `navigator.credentials.create()` against the key.
pub fn create<D: CtapDevice>(
    ctap: &mut Ctap2<D>,
    options: &CreationOptionsJson,
    origin: &str,
    token: Option<&PinUvAuthToken>,
) -> Result<RegistrationResponseJson, Error> {
    let rp_id = match &options.rp.id {
        Some(id) => id.clone(),
        None => origin_host(origin)?,
    };
    let selection = options.authenticator_selection.clone().unwrap_or_default();
    let uv = user_verification(ctap, selection.user_verification.as_deref(), token)?;
    let key_has_rk = ctap.info().option("rk") == Some(true);
    let rk = match selection.resident_key.as_deref() {
        Some("required") => true,
        Some("preferred") => key_has_rk,
        Some("discouraged") => false,
        _ => selection.require_resident_key,
    };
    let mut algorithms: Vec<i64> = options
        .pub_key_cred_params
        .iter()
        .filter(|p| p.ty == "public-key")
        .map(|p| p.alg)
        .collect();
    if algorithms.is_empty() {
        algorithms = DEFAULT_ALGORITHMS.to_vec();
    }
    let extensions = super::extensions::for_create(ctap.info(), &options.extensions)?;
    let client_data = client_data_json("webauthn.create", &options.challenge.0, origin);
    let client_data_hash = sha256(&client_data);
    let request = MakeCredentialRequest {
        client_data_hash,
        rp: Rp {
            id: rp_id,
            name: Some(options.rp.name.clone()),
        },
        user: User {
            id: options.user.id.0.clone(),
            name: Some(options.user.name.clone()),
            display_name: Some(options.user.display_name.clone()),
        },
        algorithms,
        exclude_list: options
            .exclude_credentials
            .iter()
            .filter(|d| d.ty == "public-key")
            .map(|d| d.id.0.clone())
            .collect(),
        extensions: extensions.ctap.clone(),
        rk: rk.then_some(true),
        uv,
        pin_uv_auth: token.map(|t| PinUvAuthParam::for_client_data(t, &client_data_hash)),
        ..MakeCredentialRequest::default()
    };
    let made = ctap.make_credential(&request)?;
    let id = made.credential_id()?;
    let cose = made.public_key_cose()?;
    let alg = ciborium::de::from_reader::<Value, _>(cose.as_slice())
        .ok()
        .and_then(|key| {
            let map = key.into_map().ok()?;
            crate::cbor::read::get(&map, 3).and_then(|a| crate::cbor::read::int(a).ok())
        });
    let extension_results = extensions.results(&made, rk)?;
    Ok(RegistrationResponseJson {
        id: b64::encode(&id),
        raw_id: Base64Url(id),
        response: AuthenticatorAttestationResponseJson {
            client_data_json: Base64Url(client_data),
            attestation_object: Base64Url(made.attestation_object()?),
            authenticator_data: Some(Base64Url(made.auth_data.clone())),
            transports: vec!["usb".into()],
            public_key: None,
            public_key_algorithm: alg,
        },
        authenticator_attachment: Some("cross-platform".into()),
        client_extension_results: extension_results,
        ty: "public-key".into(),
    })
}

/// `navigator.credentials.get()` against the key: the first assertion the key returns.
pub fn get<D: CtapDevice>(
    ctap: &mut Ctap2<D>,
    options: &RequestOptionsJson,
    origin: &str,
    token: Option<&PinUvAuthToken>,
) -> Result<AuthenticationResponseJson, Error> {
    let rp_id = match &options.rp_id {
        Some(id) => id.clone(),
        None => origin_host(origin)?,
    };
    let uv = user_verification(ctap, options.user_verification.as_deref(), token)?;
    let extensions = super::extensions::for_get(ctap.info(), &options.extensions)?;
    let client_data = client_data_json("webauthn.get", &options.challenge.0, origin);
    let client_data_hash = sha256(&client_data);
    let allow_list: Vec<Vec<u8>> = options
        .allow_credentials
        .iter()
        .filter(|d| d.ty == "public-key")
        .map(|d| d.id.0.clone())
        .collect();
    let request = GetAssertionRequest {
        rp_id,
        client_data_hash,
        allow_list: allow_list.clone(),
        extensions: extensions.ctap.clone(),
        uv,
        pin_uv_auth: token.map(|t| PinUvAuthParam::for_client_data(t, &client_data_hash)),
        ..GetAssertionRequest::default()
    };
    let assertion = ctap.get_assertion(&request)?;
    let extension_results = extensions.results(ctap, &assertion, token)?;
    let id = match (assertion.credential_id.clone(), allow_list.as_slice()) {
        (Some(id), _) => id,
        (None, [only]) => only.clone(),
        (None, _) => return Err(Error::response("the assertion names no credential")),
    };
    Ok(AuthenticationResponseJson {
        id: b64::encode(&id),
        raw_id: Base64Url(id),
        response: AuthenticatorAssertionResponseJson {
            client_data_json: Base64Url(client_data),
            authenticator_data: Base64Url(assertion.auth_data),
            signature: Base64Url(assertion.signature),
            user_handle: assertion.user.map(|u| Base64Url(u.id)),
        },
        authenticator_attachment: Some("cross-platform".into()),
        client_extension_results: extension_results,
        ty: "public-key".into(),
    })
}
