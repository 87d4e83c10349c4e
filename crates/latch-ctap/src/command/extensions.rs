//! Authenticator extensions (CTAP 2.1 §12): hmac-secret, credProtect, credBlob, largeBlobKey
//! and minPinLength. Unknown extensions are ignored; a known one with a value of the wrong
//! type is CBOR_UNEXPECTED_TYPE.

use aws_lc_rs::hmac;
use ciborium::value::Value;

use super::client_pin::cose_key;
use super::pin_status;
use crate::cbor::{read, text_key};
use crate::credential::MasterKey;
use crate::pin::{CoseEcdhKey, PinUvAuthProtocol, Rng};
use crate::status::StatusCode;
use crate::store::{CredProtect, CredRandom, CredentialOptions, MAX_CRED_BLOB_LEN};

/// The extension identifiers getInfo lists.
pub const SUPPORTED: [&str; 5] = [
    "credBlob",
    "credProtect",
    "hmac-secret",
    "largeBlobKey",
    "minPinLength",
];

/// MakeCredential extension inputs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Registration {
    /// hmac-secret: true.
    pub hmac_secret: bool,
    /// credProtect level (an unknown level is ignored).
    pub cred_protect: Option<CredProtect>,
    /// credBlob bytes.
    pub cred_blob: Option<Vec<u8>>,
    /// largeBlobKey (present: its value).
    pub large_blob_key: Option<bool>,
    /// minPinLength: true.
    pub min_pin_length: bool,
}

impl Registration {
    /// Parses the extensions map (0x06).
    pub fn parse(map: Option<&[(Value, Value)]>) -> Result<Self, StatusCode> {
        let Some(map) = map else {
            return Ok(Self::default());
        };
        let flag = |key| {
            read::get_text(map, key)
                .map(read::boolean)
                .transpose()
                .map(|v| v.unwrap_or(false))
        };
        Ok(Self {
            hmac_secret: flag("hmac-secret")?,
            cred_protect: read::get_text(map, "credProtect")
                .map(read::int)
                .transpose()?
                .and_then(CredProtect::from_level),
            cred_blob: read::get_text(map, "credBlob")
                .map(|v| read::bytes(v).map(<[u8]>::to_vec))
                .transpose()?,
            large_blob_key: read::get_text(map, "largeBlobKey")
                .map(read::boolean)
                .transpose()?,
            min_pin_length: flag("minPinLength")?,
        })
    }

    /// The options the new credential keeps, and whether its credBlob was stored.
    pub fn credential_options(&self) -> (CredentialOptions, Option<bool>) {
        let blob_fits = self
            .cred_blob
            .as_ref()
            .map(|blob| blob.len() <= MAX_CRED_BLOB_LEN);
        (
            CredentialOptions {
                cred_protect: self.cred_protect.unwrap_or_default(),
                hmac_secret: self.hmac_secret,
                large_blob_key: self.large_blob_key == Some(true),
                cred_blob: self.cred_blob.clone().filter(|_| blob_fits == Some(true)),
                cred_random: None,
            },
            blob_fits,
        )
    }

    /// The authenticator extension outputs (authData): only for extensions that were asked
    /// for and acted on.
    pub fn outputs(
        &self,
        options: &CredentialOptions,
        cred_blob_stored: Option<bool>,
        min_pin_length: Option<u8>,
    ) -> Vec<(Value, Value)> {
        let mut out = Vec::new();
        if let Some(stored) = cred_blob_stored {
            out.push(text_key("credBlob", Value::Bool(stored)));
        }
        if self.cred_protect.is_some() {
            out.push(text_key(
                "credProtect",
                Value::Integer(options.cred_protect.level().into()),
            ));
        }
        if self.hmac_secret {
            out.push(text_key("hmac-secret", Value::Bool(true)));
        }
        if let Some(length) = min_pin_length.filter(|_| self.min_pin_length) {
            out.push(text_key("minPinLength", Value::Integer(length.into())));
        }
        out
    }
}

/// hmac-secret GetAssertion input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacSecretInput {
    /// keyAgreement (0x01): the platform's key.
    pub key_agreement: CoseEcdhKey,
    /// saltEnc (0x02).
    pub salt_enc: Vec<u8>,
    /// saltAuth (0x03).
    pub salt_auth: Vec<u8>,
    /// pinUvAuthProtocol (0x04), 1 when absent.
    pub protocol: PinUvAuthProtocol,
}

/// GetAssertion extension inputs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assertion {
    /// hmac-secret.
    pub hmac_secret: Option<HmacSecretInput>,
    /// credBlob: true.
    pub cred_blob: bool,
    /// largeBlobKey (present: its value).
    pub large_blob_key: Option<bool>,
}

impl Assertion {
    /// Parses the extensions map (0x04).
    pub fn parse(map: Option<&[(Value, Value)]>) -> Result<Self, StatusCode> {
        let Some(map) = map else {
            return Ok(Self::default());
        };
        let hmac_secret = read::get_text(map, "hmac-secret")
            .map(|value| {
                let input = read::map(value)?;
                let field = |key| read::get(input, key).ok_or(StatusCode::MissingParameter);
                let protocol = read::get(input, 0x04)
                    .map(|v| {
                        let wire = u64::try_from(read::int(v)?)
                            .map_err(|_| StatusCode::InvalidParameter)?;
                        PinUvAuthProtocol::from_wire(wire).map_err(|e| pin_status(&e))
                    })
                    .transpose()?
                    .unwrap_or(PinUvAuthProtocol::One);
                Ok::<_, StatusCode>(HmacSecretInput {
                    key_agreement: cose_key(field(0x01)?)?,
                    salt_enc: read::bytes(field(0x02)?)?.to_vec(),
                    salt_auth: read::bytes(field(0x03)?)?.to_vec(),
                    protocol,
                })
            })
            .transpose()?;
        Ok(Self {
            hmac_secret,
            cred_blob: read::get_text(map, "credBlob")
                .map(read::boolean)
                .transpose()?
                .unwrap_or(false),
            large_blob_key: read::get_text(map, "largeBlobKey")
                .map(read::boolean)
                .transpose()?,
        })
    }
}

/// The hmac-secret output (§12.5): decrypt the salts, HMAC them with the credential's
/// CredRandom for this UV state, and encrypt the result for the platform. `shared` comes from
/// the authenticator's key agreement with `input.key_agreement`.
pub fn hmac_secret_output(
    shared: &crate::pin::SharedSecret,
    input: &HmacSecretInput,
    master: &MasterKey,
    credential_id: &[u8],
    stored: Option<&CredRandom>,
    user_verified: bool,
    rng: &mut dyn Rng,
) -> Result<Vec<u8>, StatusCode> {
    // "verify(shared secret, saltEnc, saltAuth)": a wrong saltAuth → PIN_AUTH_INVALID.
    shared
        .verify(&input.salt_enc, &input.salt_auth)
        .map_err(|_| StatusCode::PinAuthInvalid)?;
    let salts = shared
        .decrypt(&input.salt_enc)
        .map_err(|_| StatusCode::InvalidLength)?;
    if salts.len() != 32 && salts.len() != 64 {
        return Err(StatusCode::InvalidLength);
    }
    // A synced passkey brings its own CredRandom, so its PRF outputs match on every device.
    let mut cred_random = match stored {
        Some(r) if user_verified => r.with_uv,
        Some(r) => r.without_uv,
        None => master.cred_random(credential_id, user_verified),
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, &cred_random);
    cred_random.fill(0);
    let mut output = Vec::with_capacity(salts.len());
    for salt in salts.chunks(32) {
        output.extend_from_slice(hmac::sign(&key, salt).as_ref());
    }
    let encrypted = shared.encrypt(rng, &output).map_err(|e| pin_status(&e));
    output.fill(0);
    encrypted
}

#[cfg(test)]
mod tests;
