//! The browser's extension processing (WebAuthn L3 §10, CTAP 2.1 §12): client extension inputs
//! of the options JSON become authenticator extensions, and the key's outputs become
//! `clientExtensionResults`.
//!
//! | WebAuthn input                               | CTAP input      | client result           |
//! |----------------------------------------------|-----------------|-------------------------|
//! | `credProps: true`                            | —               | `credProps: {rk}`       |
//! | `credentialProtectionPolicy` (+ `enforce…`)  | `credProtect`   | —                       |
//! | `hmacCreateSecret: true`, `prf: {}` (create) | `hmac-secret`   | `hmacCreateSecret`, `prf: {enabled}` |
//! | `largeBlob: {support}` (create)              | `largeBlobKey`  | `largeBlob: {supported}` |
//! | `largeBlob: {read \| write}` (get)           | `largeBlobKey`  | `largeBlob: {blob \| written}` |
//! | `credBlob` (create, base64url)               | `credBlob`      | `credBlob: stored?`     |
//! | `getCredBlob: true` (get)                    | `credBlob: true` | `getCredBlob` (base64url) |
//!
//! Evaluating PRF / hmac-secret salts on get is not implemented.

use ciborium::value::Value;
use latch_webauthn::b64;
use serde_json::{json, Map, Value as Json};

use super::ctap2::{Assertion, Ctap2, MadeCredential};
use super::info::Info;
use super::pin::PinUvAuthToken;
use super::{CtapDevice, Error};

/// What [`for_create`] sends and must report on.
#[derive(Debug, Default)]
pub(crate) struct Create {
    /// The authenticator extension inputs.
    pub ctap: Vec<(String, Value)>,
    cred_props: bool,
    hmac_create_secret: bool,
    prf: bool,
    large_blob: bool,
    cred_blob: bool,
}

fn invalid(what: &str) -> Error {
    Error::Invalid(format!("extension input {what}"))
}

fn bytes_input(value: &Json, what: &str) -> Result<Vec<u8>, Error> {
    value
        .as_str()
        .and_then(b64::decode)
        .ok_or_else(|| invalid(&format!("{what} is not base64url")))
}

/// Maps the create() extension inputs for a key with `info`.
pub(crate) fn for_create(info: &Info, inputs: &Map<String, Json>) -> Result<Create, Error> {
    let mut out = Create {
        cred_props: inputs.get("credProps") == Some(&Json::Bool(true)),
        ..Create::default()
    };
    if let Some(policy) = inputs.get("credentialProtectionPolicy") {
        let level = match policy.as_str() {
            Some("userVerificationOptional") => 1,
            Some("userVerificationOptionalWithCredentialIDList") => 2,
            Some("userVerificationRequired") => 3,
            _ => return Err(invalid("credentialProtectionPolicy is not a known policy")),
        };
        let enforce = inputs.get("enforceCredentialProtectionPolicy") == Some(&Json::Bool(true));
        if info.has_extension("credProtect") {
            out.ctap
                .push(("credProtect".into(), Value::Integer(level.into())));
        } else if enforce && level > 1 {
            return Err(Error::Unsupported(
                "the key cannot protect credentials (credProtect) and the RP enforces it".into(),
            ));
        }
    }
    out.hmac_create_secret = inputs.get("hmacCreateSecret") == Some(&Json::Bool(true));
    out.prf = inputs.get("prf").is_some_and(Json::is_object);
    if (out.hmac_create_secret || out.prf) && info.has_extension("hmac-secret") {
        out.ctap.push(("hmac-secret".into(), Value::Bool(true)));
    }
    if let Some(large_blob) = inputs.get("largeBlob") {
        if large_blob.get("read").is_some() || large_blob.get("write").is_some() {
            return Err(invalid(
                "largeBlob: read and write are for get(), not create()",
            ));
        }
        out.large_blob = true;
        let supported = info.option("largeBlobs") == Some(true);
        if supported {
            out.ctap.push(("largeBlobKey".into(), Value::Bool(true)));
        } else if large_blob.get("support").and_then(Json::as_str) == Some("required") {
            return Err(Error::Unsupported(
                "the key has no large-blob storage (largeBlobs) and the RP requires it".into(),
            ));
        }
    }
    if let Some(blob) = inputs.get("credBlob") {
        out.cred_blob = true;
        let blob = bytes_input(blob, "credBlob")?;
        if info.has_extension("credBlob") {
            out.ctap.push(("credBlob".into(), Value::Bytes(blob)));
        }
    }
    Ok(out)
}

fn output<'a>(outputs: &'a [(Value, Value)], name: &str) -> Option<&'a Value> {
    crate::cbor::read::get_text(outputs, name)
}

impl Create {
    /// The clientExtensionResults for a credential made with these inputs.
    pub fn results(&self, made: &MadeCredential, rk: bool) -> Result<Map<String, Json>, Error> {
        let outputs = made.extension_outputs()?;
        let flag = |name: &str| output(&outputs, name) == Some(&Value::Bool(true));
        let mut results = Map::new();
        if self.cred_props {
            results.insert("credProps".into(), json!({ "rk": rk }));
        }
        if self.hmac_create_secret {
            results.insert("hmacCreateSecret".into(), Json::Bool(flag("hmac-secret")));
        }
        if self.prf {
            results.insert("prf".into(), json!({ "enabled": flag("hmac-secret") }));
        }
        if self.large_blob {
            let supported = made.large_blob_key.is_some();
            results.insert("largeBlob".into(), json!({ "supported": supported }));
        }
        if self.cred_blob {
            results.insert("credBlob".into(), Json::Bool(flag("credBlob")));
        }
        Ok(results)
    }
}

/// What [`for_get`] sends and must do afterwards.
#[derive(Debug, Default)]
pub(crate) struct Get {
    /// The authenticator extension inputs.
    pub ctap: Vec<(String, Value)>,
    large_blob_read: bool,
    large_blob_write: Option<Vec<u8>>,
    get_cred_blob: bool,
}

/// Maps the get() extension inputs for a key with `info`.
pub(crate) fn for_get(info: &Info, inputs: &Map<String, Json>) -> Result<Get, Error> {
    let mut out = Get::default();
    if let Some(large_blob) = inputs.get("largeBlob") {
        if large_blob.get("support").is_some() {
            return Err(invalid("largeBlob: support is for create(), not get()"));
        }
        out.large_blob_read = large_blob.get("read") == Some(&Json::Bool(true));
        out.large_blob_write = large_blob
            .get("write")
            .map(|w| bytes_input(w, "largeBlob.write"))
            .transpose()?;
        if out.large_blob_read && out.large_blob_write.is_some() {
            return Err(invalid("largeBlob: read and write together"));
        }
        if (out.large_blob_read || out.large_blob_write.is_some())
            && info.option("largeBlobs") == Some(true)
        {
            out.ctap.push(("largeBlobKey".into(), Value::Bool(true)));
        }
    }
    out.get_cred_blob = inputs.get("getCredBlob") == Some(&Json::Bool(true));
    if out.get_cred_blob && info.has_extension("credBlob") {
        // CTAP 2.1 §12.2: the getAssertion input is `credBlob: true`.
        out.ctap.push(("credBlob".into(), Value::Bool(true)));
    }
    Ok(out)
}

impl Get {
    /// Reads or writes the large blob the inputs asked for, then builds the
    /// clientExtensionResults. A write needs `token` with the lbw permission.
    pub fn results<D: CtapDevice>(
        &self,
        ctap: &mut Ctap2<D>,
        assertion: &Assertion,
        token: Option<&PinUvAuthToken>,
    ) -> Result<Map<String, Json>, Error> {
        let mut results = Map::new();
        let key = assertion.large_blob_key.as_deref();
        if self.large_blob_read {
            let blob = match key {
                Some(key) => ctap.get_blob(key)?,
                None => None,
            };
            let mut result = Map::new();
            if let Some(blob) = blob {
                result.insert("blob".into(), Json::String(b64::encode(&blob)));
            }
            results.insert("largeBlob".into(), Json::Object(result));
        }
        if let Some(data) = &self.large_blob_write {
            let written = match (key, token) {
                (Some(key), Some(token)) => {
                    ctap.put_blob(token, key, Some(data))?;
                    true
                }
                (Some(_), None) => {
                    return Err(Error::Invalid(
                        "largeBlob.write needs a PIN token with the largeBlobWrite permission"
                            .into(),
                    ))
                }
                (None, _) => false,
            };
            results.insert("largeBlob".into(), json!({ "written": written }));
        }
        if self.get_cred_blob {
            let outputs = assertion.extension_outputs()?;
            let blob = match output(&outputs, "credBlob") {
                Some(Value::Bytes(blob)) => blob.clone(),
                _ => Vec::new(),
            };
            results.insert("getCredBlob".into(), Json::String(b64::encode(&blob)));
        }
        Ok(results)
    }
}
