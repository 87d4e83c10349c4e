//! The CTAP2 command layer: `command byte || CBOR parameters` in, `status || CBOR` out.
//!
//! A file per command. Unknown command bytes answer CTAP1_ERR_INVALID_COMMAND.

mod auth;
pub mod client_pin;
pub mod config;
pub mod credential_management;
pub mod extensions;
pub mod get_assertion;
pub mod get_info;
pub mod large_blobs;
pub mod make_credential;
pub mod reset;
pub mod selection;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

use aws_lc_rs::digest;
use ciborium::value::Value;

use crate::cbor;
use crate::credential::{KeyCache, MasterKey, PrivateKey};
use crate::env::{Env, Presence};
use crate::pin::{BuiltInUvVerified, Permissions, PinError, PinState, PinUvAuthProtocol, TokenUse};
use crate::status::StatusCode;
use crate::store::Write;

/// authenticatorMakeCredential.
pub const MAKE_CREDENTIAL: u8 = 0x01;
/// authenticatorGetAssertion.
pub const GET_ASSERTION: u8 = 0x02;
/// authenticatorGetInfo.
pub const GET_INFO: u8 = 0x04;
/// authenticatorClientPIN.
pub const CLIENT_PIN: u8 = 0x06;
/// authenticatorReset.
pub const RESET: u8 = 0x07;
/// authenticatorGetNextAssertion.
pub const GET_NEXT_ASSERTION: u8 = 0x08;
/// authenticatorCredentialManagement.
pub const CREDENTIAL_MANAGEMENT: u8 = 0x0A;
/// authenticatorSelection.
pub const SELECTION: u8 = 0x0B;
/// authenticatorLargeBlobs.
pub const LARGE_BLOBS: u8 = 0x0C;
/// authenticatorConfig.
pub const CONFIG: u8 = 0x0D;
/// authenticatorCredentialManagement as prototyped in FIDO_2_1_PRE (libfido2 and OpenSSH still
/// send it): an alias of [`CREDENTIAL_MANAGEMENT`].
pub const CREDENTIAL_MANAGEMENT_PREVIEW: u8 = 0x41;

/// authData flag: user present.
pub const FLAG_UP: u8 = 0x01;
/// authData flag: user verified.
pub const FLAG_UV: u8 = 0x04;
/// authData flag: attested credential data included.
pub const FLAG_AT: u8 = 0x40;
/// authData flag: backup eligible (BE).
pub const FLAG_BE: u8 = 0x08;
/// authData flag: backed up (BS).
pub const FLAG_BS: u8 = 0x10;
/// authData flag: extension data included.
pub const FLAG_ED: u8 = 0x80;

/// What does not change between requests.
#[derive(Debug)]
pub struct Config {
    /// The AAGUID.
    pub aaguid: [u8; 16],
    /// firmwareVersion in getInfo.
    pub firmware_version: u64,
    /// The batch attestation key and certificate chain; `None` means self attestation (and no
    /// U2F registration, which needs a certificate).
    pub attestation: Option<BatchAttestation>,
    /// Built-in user verification (a simulated biometric the operator approves), offered as
    /// the "uv" option.
    pub built_in_uv: bool,
    /// Discoverable credentials are synced passkeys (their store is a vault the person's other
    /// devices share): they are reported backup eligible and backed up (BE, BS), with a
    /// signature counter of 0, which a copy on another device cannot contradict. Credentials
    /// wrapped into their ID stay device-bound and count as before.
    pub synced_discoverable: bool,
}

/// A batch attestation key with its certificate chain, leaf first, DER.
#[derive(Debug)]
pub struct BatchAttestation {
    /// The ES256 key the leaf certificate certifies.
    pub key: PrivateKey,
    /// The leaf (carrying the AAGUID extension), then its issuers.
    pub certificates: Vec<Vec<u8>>,
}

/// The authenticator: configuration, and the state of one power cycle: the PIN state (whose
/// persistent half lives in the [`crate::store::CredentialStore`]), the key-agreement keys and
/// getNextAssertion state.
#[derive(Debug)]
pub struct Authenticator {
    config: Config,
    master: MasterKey,
    pin: PinState,
    key_agreements: client_pin::KeyAgreements,
    next_assertion: Option<get_assertion::Pending>,
    /// Built-in UV attempts left before UV_BLOCKED (volatile: a power cycle restores them).
    uv_retries: u8,
    /// Recently used credential keys.
    keys: KeyCache,
    /// When this power cycle began (clock ms): authenticatorReset is refused 10 s later.
    powered_up_ms: u64,
    /// credentialManagement enumeration state, dropped by any other command.
    enumeration: Option<credential_management::Enumeration>,
    /// A largeBlobs write in progress.
    large_blob_write: Option<large_blobs::PendingWrite>,
}

/// Built-in user verification attempts before UV_BLOCKED.
pub const MAX_UV_RETRIES: u8 = 8;

impl Authenticator {
    /// An authenticator with `config`, a master secret and a PIN state. The key-agreement
    /// keys are generated on first use, and power-up counts as clock time 0 (for
    /// authenticatorReset); prefer [`Authenticator::power_up`], which takes both from storage.
    pub fn new(config: Config, master: MasterKey, pin: PinState) -> Self {
        Self {
            config,
            master,
            pin,
            key_agreements: client_pin::KeyAgreements::default(),
            next_assertion: None,
            uv_retries: MAX_UV_RETRIES,
            keys: KeyCache::default(),
            powered_up_ms: 0,
            enumeration: None,
            large_blob_write: None,
        }
    }

    /// Power-up: the master secret and PIN state restored from `env.store` (on first start a
    /// master secret is generated and persisted, and the PIN state is a fresh one), no
    /// consecutive PIN mismatches, no token, and new key-agreement keys for both protocols.
    pub fn power_up(config: Config, env: &mut Env<'_>) -> Result<Self, StatusCode> {
        let master = match env.store.state().master_secret {
            Some(secret) => MasterKey::new(secret),
            None => {
                let mut secret = [0u8; 32];
                env.rng.fill(&mut secret);
                env.store
                    .apply(&[Write::MasterSecret(secret)])
                    .map_err(|_| StatusCode::Other)?;
                MasterKey::new(secret)
            }
        };
        let pin = PinState::restore(env.store.pin().unwrap_or_default());
        Ok(Self {
            config,
            master,
            pin,
            key_agreements: client_pin::KeyAgreements::generate(env.rng)?,
            next_assertion: None,
            uv_retries: MAX_UV_RETRIES,
            keys: KeyCache::default(),
            powered_up_ms: env.clock.now_ms(),
            enumeration: None,
            large_blob_write: None,
        })
    }

    /// A power cycle: everything volatile is dropped and [`Authenticator::power_up`] runs again
    /// from what is on storage.
    pub fn power_cycle(self, env: &mut Env<'_>) -> Result<Self, StatusCode> {
        Self::power_up(self.config, env)
    }

    /// The configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The master key (CTAP1/U2F wraps and unwraps key handles with it).
    pub(crate) const fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The PIN state (for ClientPIN, which lives elsewhere for now).
    pub fn pin_mut(&mut self) -> &mut PinState {
        &mut self.pin
    }

    /// The PIN state.
    pub const fn pin(&self) -> &PinState {
        &self.pin
    }

    /// "Protected by some form of user verification": a PIN is set or built-in UV is on.
    pub const fn is_protected(&self) -> bool {
        self.pin.is_set() || self.config.built_in_uv
    }

    /// Built-in UV attempts left.
    pub const fn uv_retries(&self) -> u8 {
        self.uv_retries
    }

    /// performBuiltInUv: the operator approves (the user is verified and present) or declines
    /// (UV_INVALID; after [`MAX_UV_RETRIES`] declines in a row, UV_BLOCKED until a PIN is used
    /// or the key is power-cycled). No built-in UV → INVALID_OPTION.
    pub fn perform_built_in_uv(
        &mut self,
        env: &mut Env<'_>,
        rp_id: &str,
        what: &str,
    ) -> Result<BuiltInUvVerified, StatusCode> {
        if !self.config.built_in_uv {
            return Err(StatusCode::InvalidOption);
        }
        if self.uv_retries == 0 {
            return Err(StatusCode::UvBlocked);
        }
        match env.presence.verify(rp_id, what) {
            Presence::Approved => {
                self.uv_retries = MAX_UV_RETRIES;
                Ok(BuiltInUvVerified::new())
            }
            Presence::Denied => {
                self.uv_retries = self.uv_retries.saturating_sub(1);
                Err(if self.uv_retries == 0 {
                    StatusCode::UvBlocked
                } else {
                    StatusCode::UvInvalid
                })
            }
            Presence::Timeout => Err(StatusCode::UserActionTimeout),
        }
    }

    /// Handles one CTAPHID_CBOR message: a status byte, then the CBOR response if it is 0x00.
    pub fn handle(&mut self, env: &mut Env<'_>, message: &[u8]) -> Vec<u8> {
        match self.process(env, message) {
            Ok(body) => {
                let mut out = Vec::with_capacity(1 + body.len());
                out.push(StatusCode::Ok.byte());
                out.extend_from_slice(&body);
                out
            }
            Err(code) => vec![code.byte()],
        }
    }

    fn process(&mut self, env: &mut Env<'_>, message: &[u8]) -> Result<Vec<u8>, StatusCode> {
        let (command, parameters) = message.split_first().ok_or(StatusCode::InvalidLength)?;
        if *command != GET_NEXT_ASSERTION {
            self.next_assertion = None;
        }
        // Only a credentialManagement GetNext subcommand may continue an enumeration.
        let enumeration = self.enumeration.take();
        let response = match *command {
            MAKE_CREDENTIAL => {
                let request = make_credential::Request::parse(&cbor::decode_map(parameters)?)?;
                make_credential::handle(self, env, &request)?
            }
            GET_ASSERTION => {
                let request = get_assertion::Request::parse(&cbor::decode_map(parameters)?)?;
                get_assertion::handle(self, env, &request)?
            }
            GET_INFO => get_info::response(self, env),
            CLIENT_PIN => {
                let request = client_pin::Request::parse(&cbor::decode_map(parameters)?)?;
                match client_pin::handle(self, env, &request)? {
                    Some(response) => response,
                    None => return Ok(Vec::new()),
                }
            }
            GET_NEXT_ASSERTION => get_assertion::next(self, env)?,
            RESET => return reset::handle(self, env).map(|()| Vec::new()),
            CREDENTIAL_MANAGEMENT | CREDENTIAL_MANAGEMENT_PREVIEW => {
                let request =
                    credential_management::Request::parse(&cbor::decode_map(parameters)?)?;
                match credential_management::handle(self, env, &request, enumeration)? {
                    Some(response) => response,
                    None => return Ok(Vec::new()),
                }
            }
            SELECTION => return selection::handle(env).map(|()| Vec::new()),
            LARGE_BLOBS => {
                let request = large_blobs::Request::parse(&cbor::decode_map(parameters)?)?;
                match large_blobs::handle(self, env, &request)? {
                    Some(response) => response,
                    None => return Ok(Vec::new()),
                }
            }
            CONFIG => {
                let request = config::Request::parse(&cbor::decode_map(parameters)?)?;
                config::handle(self, env, &request)?;
                return Ok(Vec::new());
            }
            _ => return Err(StatusCode::InvalidCommand),
        };
        cbor::encode(&response).map_err(|_| StatusCode::Other)
    }
}

/// SHA-256 of an RP ID.
pub fn rp_id_hash(rp_id: &str) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, rp_id.as_bytes());
    let mut out = [0u8; 32];
    out.iter_mut()
        .zip(digest.as_ref())
        .for_each(|(out, byte)| *out = *byte);
    out
}

/// A PIN module error as its status byte.
pub fn pin_status(error: &PinError) -> StatusCode {
    StatusCode::from(error.status())
}

/// Asks for user presence: Denied → OPERATION_DENIED, Timeout → USER_ACTION_TIMEOUT.
pub fn require_presence(env: &mut Env<'_>, rp_id: &str, what: &str) -> Result<(), StatusCode> {
    match env.presence.request(rp_id, what) {
        Presence::Approved => Ok(()),
        Presence::Denied => Err(StatusCode::OperationDenied),
        Presence::Timeout => Err(StatusCode::UserActionTimeout),
    }
}

/// Verifies a command's pinUvAuthParam over clientDataHash against the live token, for
/// `permission` and `rp_id` (binding the token to the RP ID on first use); returns whether the
/// token carries user verification. No param means no verification.
pub fn authorize_token(
    pin: &mut PinState,
    now_ms: u64,
    protocol: Option<PinUvAuthProtocol>,
    auth: Option<&PinUvAuth>,
    client_data_hash: &[u8],
    permission: Permissions,
    rp_id: &str,
) -> Result<bool, StatusCode> {
    let (Some(protocol), Some(auth)) = (protocol, auth) else {
        return Ok(false);
    };
    let token = pin
        .authorize(
            now_ms,
            &TokenUse {
                protocol,
                message: client_data_hash,
                param: &auth.param,
                permission,
                rp_id: Some(rp_id),
            },
        )
        .map_err(|error| pin_status(&error))?;
    if token.rp_id().is_none() {
        token.bind_rp_id(rp_id);
    }
    Ok(token.user_verified())
}

/// After user presence in a command that used a pinUvAuthToken (§6.1.2 step 14, §6.2.2 step 9):
/// `clearUserPresentFlag()`, `clearUserVerifiedFlag()`,
/// `clearPinUvAuthTokenPermissionsExceptLbw()`, so one token authorizes one mc or ga.
pub fn spend_token(pin: &mut PinState) {
    if let Some(token) = pin.token_mut() {
        token.set_user_present(false);
        token.clear_user_verified();
        token.clear_permissions_except_lbw();
    }
}

/// The pinUvAuthParam / pinUvAuthProtocol pair of MakeCredential and GetAssertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinUvAuth {
    /// pinUvAuthParam.
    pub param: Vec<u8>,
    /// pinUvAuthProtocol, if sent (and valid).
    pub protocol: Option<u64>,
}

/// §6.1.2 steps 1-2 / §6.2.2 steps 1-2: the zero-length pinUvAuthParam probe, then
/// pinUvAuthProtocol checks. Returns the protocol when a non-empty param is to be verified.
pub fn check_pin_uv_auth(
    pin: &PinState,
    env: &mut Env<'_>,
    rp_id: &str,
    auth: Option<&PinUvAuth>,
) -> Result<Option<PinUvAuthProtocol>, StatusCode> {
    let Some(auth) = auth else {
        return Ok(None);
    };
    if auth.param.is_empty() {
        // "If the authenticator supports either pinUvAuthToken or clientPin features and the
        //  platform sends a zero length pinUvAuthParam": collect user presence, then
        //  PIN_INVALID if a PIN is set, PIN_NOT_SET otherwise.
        require_presence(env, rp_id, "select")?;
        return Err(if pin.is_set() {
            StatusCode::PinInvalid
        } else {
            StatusCode::PinNotSet
        });
    }
    let protocol = auth.protocol.ok_or(StatusCode::MissingParameter)?;
    PinUvAuthProtocol::from_wire(protocol)
        .map(Some)
        .map_err(|error| pin_status(&error))
}

/// Parses a PublicKeyCredentialDescriptor's id (type must be text; other types are skipped by
/// the callers).
pub fn descriptor_id(value: &Value) -> Result<Option<Vec<u8>>, StatusCode> {
    let map = cbor::read::map(value)?;
    let id = cbor::read::get_text(map, "id").ok_or(StatusCode::MissingParameter)?;
    let ty = cbor::read::get_text(map, "type").ok_or(StatusCode::MissingParameter)?;
    let id = cbor::read::bytes(id)?;
    if cbor::read::text(ty)? != "public-key" {
        return Ok(None);
    }
    Ok(Some(id.to_vec()))
}

/// Parses a pinUvAuthParam / pinUvAuthProtocol pair from request keys.
pub fn parse_pin_uv_auth(
    map: &[(Value, Value)],
    param_key: i64,
    protocol_key: i64,
) -> Result<Option<PinUvAuth>, StatusCode> {
    let protocol = cbor::read::get(map, protocol_key)
        .map(|value| {
            cbor::read::int(value)
                .and_then(|int| u64::try_from(int).map_err(|_| StatusCode::InvalidParameter))
        })
        .transpose()?;
    let Some(param) = cbor::read::get(map, param_key) else {
        return Ok(None);
    };
    Ok(Some(PinUvAuth {
        param: cbor::read::bytes(param)?.to_vec(),
        protocol,
    }))
}
