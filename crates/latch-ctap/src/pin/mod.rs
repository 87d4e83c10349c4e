//! authenticatorClientPIN's PIN rules (CTAP 2.1 §6.5.5) as pure code over an injected
//! [`Rng`] and [`PinStore`]: setPIN, changePIN, getPinToken and
//! getPinUvAuthTokenUsingPinWithPermissions, the PIN policy, and the retry counters.
//!
//! - [`protocol`]: PIN/UV auth protocols one and two (key agreement, KDF, encrypt, authenticate)
//!   for both the authenticator and the platform.
//! - [`retries`]: the retry state machine; the decremented counter is persisted *before* the
//!   constant-time compare, and the types make that order the only one possible.
//! - [`token`]: the [`PinToken`], minted only here.
//! - [`platform`]: what a client sends (padded PIN, pinHashEnc, pinUvAuthParam).
//!
//! CBOR lives in the command layer: it hands these functions decoded parameters (`None` when a
//! parameter is absent) and turns [`PinError::status`] into the response byte.

mod error;
pub mod platform;
pub mod protocol;
pub mod retries;
pub mod token;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use aws_lc_rs::digest;

pub use error::{status, PinError};
pub use protocol::{encapsulate, CoseEcdhKey, KeyAgreement, PinUvAuthProtocol, SharedSecret};
pub use retries::{PinCheck, PinVerified, MAX_CONSECUTIVE_MISMATCHES, MAX_PIN_RETRIES};
pub use token::{Permissions, PinToken, TOKEN_LEN, USAGE_WINDOW_MS};

/// Length of the stored PIN check value, LEFT(SHA-256(PIN), 16).
pub const PIN_HASH_LEN: usize = 16;
/// Every PIN is padded with 0x00 to this many bytes before encryption.
pub const PADDED_PIN_LEN: usize = 64;
/// "Maximum PIN Length: 63 bytes" of UTF-8.
pub const MAX_PIN_BYTES: usize = 63;
/// Minimum PIN length in Unicode code points until authenticatorConfig raises it.
pub const DEFAULT_MIN_PIN_LENGTH: u8 = 4;

/// Randomness, injected so that a seeded source makes the authenticator deterministic. It feeds
/// key-agreement scalars, protocol 2 IVs and pinUvAuthTokens; in production it must be a CSPRNG.
pub trait Rng {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

/// Stable storage for the persistent half of the PIN state.
pub trait PinStore {
    /// Writes `state` durably. Return only once it would survive a power loss: the retry rule
    /// depends on the decremented counter being on storage before a PIN is compared.
    fn persist_pin(&mut self, state: &PersistedPin) -> Result<(), StorageError>;
}

/// The store could not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageError;

/// The part of the PIN state that survives power cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersistedPin {
    /// CurrentStoredPIN: LEFT(SHA-256(PIN), 16), or `None` if no PIN is set.
    pub pin_hash: Option<[u8; PIN_HASH_LEN]>,
    /// pinRetries.
    pub retries: u8,
    /// PINCodePointLength: the current PIN's length in code points (0 without a PIN).
    pub pin_code_points: u8,
    /// minPINLength in code points.
    pub min_pin_length: u8,
    /// forcePINChange.
    pub force_change: bool,
}

impl Default for PersistedPin {
    /// A fresh (or reset) authenticator: no PIN, 8 retries, minimum length 4.
    fn default() -> Self {
        Self {
            pin_hash: None,
            retries: MAX_PIN_RETRIES,
            pin_code_points: 0,
            min_pin_length: DEFAULT_MIN_PIN_LENGTH,
            force_change: false,
        }
    }
}

/// LEFT(SHA-256(pin), 16): the value stored for a PIN and sent (encrypted) as pinHashEnc.
pub fn pin_hash(pin: &[u8]) -> [u8; PIN_HASH_LEN] {
    let digest = digest::digest(&digest::SHA256, pin);
    let mut out = [0u8; PIN_HASH_LEN];
    out.iter_mut()
        .zip(digest.as_ref())
        .for_each(|(out, byte)| *out = *byte);
    out
}

/// What the subcommands need besides the PIN state: storage, randomness, and the key-agreement
/// key of the request's pinUvAuthProtocol (regenerated on every wrong PIN).
pub struct PinContext<'a> {
    /// Where the persistent state goes.
    pub store: &'a mut dyn PinStore,
    /// Randomness for tokens, IVs and new key-agreement keys.
    pub rng: &'a mut dyn Rng,
    /// The authenticator key-agreement key for the request's protocol.
    pub key_agreement: &'a mut KeyAgreement,
}

/// setPIN (0x03) parameters, `None` when absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetPin<'a> {
    /// keyAgreement (0x03).
    pub key_agreement: Option<&'a CoseEcdhKey>,
    /// newPinEnc (0x05).
    pub new_pin_enc: Option<&'a [u8]>,
    /// pinUvAuthParam (0x04).
    pub pin_uv_auth_param: Option<&'a [u8]>,
}

/// changePIN (0x04) parameters, `None` when absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangePin<'a> {
    /// keyAgreement (0x03).
    pub key_agreement: Option<&'a CoseEcdhKey>,
    /// pinHashEnc (0x06).
    pub pin_hash_enc: Option<&'a [u8]>,
    /// newPinEnc (0x05).
    pub new_pin_enc: Option<&'a [u8]>,
    /// pinUvAuthParam (0x04).
    pub pin_uv_auth_param: Option<&'a [u8]>,
}

/// Which token subcommand is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSubcommand {
    /// getPinToken (0x05): the default permissions (mc, ga); permissions and rpId forbidden.
    GetPinToken,
    /// getPinUvAuthTokenUsingPinWithPermissions (0x09). `offered` holds the permissions this
    /// authenticator's getInfo options allow (cm needs credMgmt, lbw largeBlobs, and so on).
    WithPermissions {
        /// Permissions that may be granted.
        offered: Permissions,
    },
}

/// getPinToken / getPinUvAuthTokenUsingPinWithPermissions parameters, `None` when absent.
#[derive(Debug, Clone, Copy)]
pub struct GetToken<'a> {
    /// Which subcommand.
    pub subcommand: TokenSubcommand,
    /// keyAgreement (0x03).
    pub key_agreement: Option<&'a CoseEcdhKey>,
    /// pinHashEnc (0x06).
    pub pin_hash_enc: Option<&'a [u8]>,
    /// permissions (0x09), as received.
    pub permissions: Option<u64>,
    /// rpId (0x0A).
    pub rp_id: Option<&'a str>,
}

/// How a command wants to use the current token: its pinUvAuthParam over `message`, and the
/// permission and RP ID it acts under.
#[derive(Debug, Clone, Copy)]
pub struct TokenUse<'a> {
    /// The request's pinUvAuthProtocol.
    pub protocol: PinUvAuthProtocol,
    /// The authenticated message (e.g. clientDataHash).
    pub message: &'a [u8],
    /// pinUvAuthParam.
    pub param: &'a [u8],
    /// The permission the command needs.
    pub permission: Permissions,
    /// The RP ID the command acts on, if any.
    pub rp_id: Option<&'a str>,
}

/// The authenticator's PIN state: the persisted part, the consecutive-mismatch count of this
/// power session, and the one live pinUvAuthToken. A PIN change, setPIN, a new token or a power
/// cycle drops the old token, so no stale token survives them.
#[derive(Debug)]
pub struct PinState {
    persisted: PersistedPin,
    consecutive_mismatches: u8,
    token: Option<PinToken>,
}

impl Default for PinState {
    fn default() -> Self {
        Self::new()
    }
}

impl PinState {
    /// A fresh authenticator: no PIN, 8 retries, minimum PIN length 4.
    pub fn new() -> Self {
        Self::restore(PersistedPin::default())
    }

    /// Power-up from storage: no consecutive mismatches, no token. A stored counter above the
    /// maximum is clamped.
    pub fn restore(persisted: PersistedPin) -> Self {
        Self {
            persisted: PersistedPin {
                retries: persisted.retries.min(MAX_PIN_RETRIES),
                ..persisted
            },
            consecutive_mismatches: 0,
            token: None,
        }
    }

    /// What is (and must be) on storage.
    pub const fn persisted(&self) -> &PersistedPin {
        &self.persisted
    }

    /// A power cycle without a restart of the process: the volatile state is lost. (The
    /// caller regenerates its key-agreement keys too.)
    pub fn power_cycle(&mut self) {
        self.consecutive_mismatches = 0;
        self.token = None;
    }

    /// authenticatorReset: back to [`PinState::new`], persisted.
    pub fn reset(&mut self, store: &mut dyn PinStore) -> Result<(), PinError> {
        let fresh = PersistedPin::default();
        store.persist_pin(&fresh).map_err(|_| PinError::Storage)?;
        *self = Self::restore(fresh);
        Ok(())
    }

    /// Whether a PIN is set (getInfo `clientPin`).
    pub const fn is_set(&self) -> bool {
        self.persisted.pin_hash.is_some()
    }

    /// pinRetries (getPINRetries).
    pub const fn retries(&self) -> u8 {
        self.persisted.retries
    }

    /// Mismatches in a row in this power session.
    pub const fn consecutive_mismatches(&self) -> u8 {
        self.consecutive_mismatches
    }

    /// powerCycleState (getPINRetries 0x04): a power cycle is needed before the next attempt.
    pub const fn power_cycle_state(&self) -> bool {
        self.consecutive_mismatches >= MAX_CONSECUTIVE_MISMATCHES
    }

    /// minPINLength.
    pub const fn min_pin_length(&self) -> u8 {
        self.persisted.min_pin_length
    }

    /// forcePINChange.
    pub const fn force_change(&self) -> bool {
        self.persisted.force_change
    }

    /// The live pinUvAuthToken, if any.
    pub const fn token(&self) -> Option<&PinToken> {
        self.token.as_ref()
    }

    /// The live pinUvAuthToken, to bind an RP ID or clear flags after use.
    pub fn token_mut(&mut self) -> Option<&mut PinToken> {
        self.token.as_mut()
    }

    /// Checks a command's pinUvAuthParam against the live token, then the token's window,
    /// permission and RP ID: no token → PIN_AUTH_INVALID; bad param → PIN_AUTH_INVALID;
    /// expired → PIN_AUTH_INVALID; permission missing → UNAUTHORIZED_PERMISSION; bound to
    /// another RP ID → PIN_AUTH_INVALID.
    pub fn authorize(
        &mut self,
        now_ms: u64,
        request: &TokenUse<'_>,
    ) -> Result<&mut PinToken, PinError> {
        let token = self.token.as_mut().ok_or(PinError::NoToken)?;
        token.verify_param(request.protocol, request.message, request.param)?;
        token.check(now_ms, request.permission, request.rp_id)?;
        Ok(token)
    }

    /// authenticatorConfig setMinPINLength: the minimum can only go up. A current PIN shorter
    /// than the new minimum, or `force_change`, sets forcePINChange.
    pub fn set_min_pin_length(
        &mut self,
        store: &mut dyn PinStore,
        min_pin_length: u8,
        force_change: bool,
    ) -> Result<(), PinError> {
        if min_pin_length < self.persisted.min_pin_length {
            return Err(PinError::MinPinLengthDecrease {
                current: self.persisted.min_pin_length,
                requested: min_pin_length,
            });
        }
        let too_short = self.is_set() && self.persisted.pin_code_points < min_pin_length;
        let updated = PersistedPin {
            min_pin_length,
            force_change: self.is_set()
                && (force_change || too_short || self.persisted.force_change),
            ..self.persisted
        };
        store.persist_pin(&updated).map_err(|_| PinError::Storage)?;
        self.persisted = updated;
        Ok(())
    }

    /// setPIN (§6.5.5.5).
    pub fn set_pin(
        &mut self,
        ctx: &mut PinContext<'_>,
        request: &SetPin<'_>,
    ) -> Result<(), PinError> {
        // 1. "If the authenticator does not receive mandatory parameters for this command, it
        //    returns CTAP2_ERR_MISSING_PARAMETER error."
        let platform_key = required(request.key_agreement, "keyAgreement")?;
        let new_pin_enc = required(request.new_pin_enc, "newPinEnc")?;
        let param = required(request.pin_uv_auth_param, "pinUvAuthParam")?;
        // 2. (pinUvAuthProtocol support is checked by the caller when it picks `ctx.key_agreement`.)
        // 3. "If a PIN has already been set, authenticator returns CTAP2_ERR_PIN_AUTH_INVALID."
        if self.is_set() {
            return Err(PinError::PinAlreadySet);
        }
        // 4. "The authenticator calls decapsulate on the provided platform key-agreement key to
        //    obtain the shared secret. If an error results, it returns CTAP1_ERR_INVALID_PARAMETER."
        let shared = ctx.key_agreement.decapsulate(platform_key)?;
        // 5. "The authenticator calls verify(shared secret, newPinEnc, pinUvAuthParam). If an
        //    error results, it returns CTAP2_ERR_PIN_AUTH_INVALID."
        shared.verify(new_pin_enc, param)?;
        // 6.-10. Decrypt, check the 64-byte padding, unpad, apply the PIN policy.
        let (hash, code_points) = self.decrypt_new_pin(&shared, new_pin_enc)?;
        // 11.-12. "The authenticator remembers newPin length internally as PINCodePointLength",
        //    "stores LEFT(SHA-256(newPin), 16) internally as CurrentStoredPIN, sets the
        //    pinRetries counter to maximum count".
        self.store_new_pin(ctx.store, hash, code_points)
    }

    /// changePIN (§6.5.5.6).
    pub fn change_pin(
        &mut self,
        ctx: &mut PinContext<'_>,
        request: &ChangePin<'_>,
    ) -> Result<(), PinError> {
        // 1. Mandatory parameters.
        let platform_key = required(request.key_agreement, "keyAgreement")?;
        let pin_hash_enc = required(request.pin_hash_enc, "pinHashEnc")?;
        let new_pin_enc = required(request.new_pin_enc, "newPinEnc")?;
        let param = required(request.pin_uv_auth_param, "pinUvAuthParam")?;
        // 3. "If the pinRetries counter is 0, return CTAP2_ERR_PIN_BLOCKED error." (Also: no
        //    PIN → PIN_NOT_SET; auth-blocked power session → PIN_AUTH_BLOCKED.)
        self.attempt_allowed()?;
        // 4. decapsulate → CTAP1_ERR_INVALID_PARAMETER.
        let shared = ctx.key_agreement.decapsulate(platform_key)?;
        // 5. "verify(shared secret, newPinEnc || pinHashEnc, pinUvAuthParam)" →
        //    CTAP2_ERR_PIN_AUTH_INVALID.
        let mut message = Vec::with_capacity(new_pin_enc.len() + pin_hash_enc.len());
        message.extend_from_slice(new_pin_enc);
        message.extend_from_slice(pin_hash_enc);
        shared.verify(&message, param)?;
        // 6. "The authenticator decrements the pinRetries counter by 1." (persisted)
        let check = self.begin_pin_check(ctx.store)?;
        // 7. "decrypts pinHashEnc ... and verifies against its internal stored
        //    LEFT(SHA-256(curPin), 16)"; 8. on success the counter goes back to maximum.
        let presented = shared.decrypt(pin_hash_enc).ok();
        let _verified: PinVerified = check.compare(
            self,
            ctx.store,
            ctx.key_agreement,
            ctx.rng,
            presented.as_deref(),
        )?;
        // 9.-12., 14. Decrypt, check the padding, unpad, apply the PIN policy.
        let (hash, code_points) = self.decrypt_new_pin(&shared, new_pin_enc)?;
        // 13. "If the forcePINChange member ... is true and LEFT(SHA-256(newPin), 16) is equal
        //     to its internal stored LEFT(SHA-256(curPin), 16) then authenticator returns
        //     CTAP2_ERR_PIN_POLICY_VIOLATION."
        if self.persisted.force_change && self.persisted.pin_hash == Some(hash) {
            return Err(PinError::PinUnchanged);
        }
        // 15.-18. Remember the length, clear forcePINChange, store the hash, retries to max.
        // 19. "calls resetPinUvAuthToken() for all pinUvAuthProtocols" (done by store_new_pin).
        self.store_new_pin(ctx.store, hash, code_points)
    }

    /// getPinToken (§6.5.5.7.1) and getPinUvAuthTokenUsingPinWithPermissions (§6.5.5.7.2).
    /// Returns encrypt(shared secret, pinUvAuthToken), the pinUvAuthToken (0x02) response.
    pub fn get_token(
        &mut self,
        ctx: &mut PinContext<'_>,
        request: &GetToken<'_>,
        now_ms: u64,
    ) -> Result<Vec<u8>, PinError> {
        // 1. Mandatory parameters.
        let platform_key = required(request.key_agreement, "keyAgreement")?;
        let pin_hash_enc = required(request.pin_hash_enc, "pinHashEnc")?;
        let (permissions, rp_id) = match request.subcommand {
            TokenSubcommand::GetPinToken => {
                // 3.-4. "If authenticatorClientPIN's permissions / rpId parameter is present in
                //    the getPinToken (0x05) subcommand, return CTAP1_ERR_INVALID_PARAMETER."
                if request.permissions.is_some() {
                    return Err(PinError::UnexpectedParameter {
                        name: "permissions",
                    });
                }
                if request.rp_id.is_some() {
                    return Err(PinError::UnexpectedParameter { name: "rpId" });
                }
                // 14. the default permissions.
                (Permissions::DEFAULT, None)
            }
            TokenSubcommand::WithPermissions { offered } => {
                let raw = required(request.permissions, "permissions")?;
                (
                    check_permissions(raw, offered, request.rp_id)?,
                    request.rp_id,
                )
            }
        };
        // 5. "If the pinRetries counter is 0, return CTAP2_ERR_PIN_BLOCKED error." (Also: no
        //    PIN → PIN_NOT_SET; auth-blocked power session → PIN_AUTH_BLOCKED.)
        self.attempt_allowed()?;
        // 6. decapsulate → CTAP1_ERR_INVALID_PARAMETER.
        let shared = ctx.key_agreement.decapsulate(platform_key)?;
        // 8. "The authenticator decrements the pinRetries counter by 1." (persisted)
        let check = self.begin_pin_check(ctx.store)?;
        // 9. "decrypts pinHashEnc using decrypt and verifies against its internally stored
        //    CurrentStoredPIN"; 10. on success the counter goes back to maximum.
        let presented = shared.decrypt(pin_hash_enc).ok();
        let verified = check.compare(
            self,
            ctx.store,
            ctx.key_agreement,
            ctx.rng,
            presented.as_deref(),
        )?;
        // 11. "If the value of the forcePINChange member of the authenticatorGetInfo response is
        //     true, authenticator returns CTAP2_ERR_PIN_INVALID error."
        if self.persisted.force_change {
            return Err(PinError::ForcePinChange);
        }
        // 12.-16. A new token (the old one is gone), begun with userIsPresent false, with the
        //     permissions and permissions RP ID.
        let token = PinToken::mint(
            Verification::Pin(verified),
            ctx.rng,
            shared.protocol(),
            permissions,
            rp_id,
            now_ms,
        );
        // 17. "returns the encrypted pinUvAuthToken ... encrypt(shared secret, pinUvAuthToken)".
        let encrypted = token.encrypt_for(&shared, ctx.rng)?;
        self.token = Some(token);
        Ok(encrypted)
    }

    /// getPinUvAuthTokenUsingUvWithPermissions (§6.5.5.7.3) after built-in user verification
    /// passed: a new token with `permissions` (and `rp_id`), encrypted for the platform.
    pub fn get_uv_token(
        &mut self,
        ctx: &mut PinContext<'_>,
        request: &GetUvToken<'_>,
        _proof: BuiltInUvVerified,
        now_ms: u64,
    ) -> Result<Vec<u8>, PinError> {
        let platform_key = required(request.key_agreement, "keyAgreement")?;
        let raw = required(request.permissions, "permissions")?;
        let permissions = check_permissions(raw, request.offered, request.rp_id)?;
        let shared = ctx.key_agreement.decapsulate(platform_key)?;
        let token = PinToken::mint(
            Verification::BuiltIn(_proof),
            ctx.rng,
            shared.protocol(),
            permissions,
            request.rp_id,
            now_ms,
        );
        let encrypted = token.encrypt_for(&shared, ctx.rng)?;
        self.token = Some(token);
        Ok(encrypted)
    }

    /// setPIN steps 6-10 / changePIN steps 9-12 and 14: decrypt newPinEnc, require 64 bytes,
    /// unpad, apply the PIN policy. Returns LEFT(SHA-256(newPin), 16) and the code points.
    fn decrypt_new_pin(
        &self,
        shared: &SharedSecret,
        new_pin_enc: &[u8],
    ) -> Result<([u8; PIN_HASH_LEN], u8), PinError> {
        // "calls decrypt(shared secret, newPinEnc) to produce paddedNewPin. If an error
        //  results, it returns CTAP2_ERR_PIN_AUTH_INVALID."
        let mut padded = shared
            .decrypt(new_pin_enc)
            .map_err(|_| PinError::NewPinUndecryptable)?;
        let checked = check_padded_pin(&padded, self.persisted.min_pin_length);
        padded.fill(0);
        checked
    }

    /// Stores a new PIN with full retries and no forced change, and drops the live token.
    fn store_new_pin(
        &mut self,
        store: &mut dyn PinStore,
        hash: [u8; PIN_HASH_LEN],
        code_points: u8,
    ) -> Result<(), PinError> {
        let updated = PersistedPin {
            pin_hash: Some(hash),
            retries: MAX_PIN_RETRIES,
            pin_code_points: code_points,
            force_change: false,
            ..self.persisted
        };
        store.persist_pin(&updated).map_err(|_| PinError::Storage)?;
        self.persisted = updated;
        self.token = None;
        Ok(())
    }
}

/// getPinUvAuthTokenUsingPinWithPermissions steps 3-4 (and the same for UV): permissions not
/// zero, all offered, pcmr alone, and an RP ID with mc or ga.
pub(crate) fn check_permissions(
    raw: u64,
    offered: Permissions,
    rp_id: Option<&str>,
) -> Result<Permissions, PinError> {
    // 3. "If the authenticator receives a permissions parameter with value 0, return
    //    CTAP1_ERR_INVALID_PARAMETER."
    if raw == 0 {
        return Err(PinError::PermissionsZero);
    }
    let permissions = Permissions::from_wire(raw);
    // 4. A permission this authenticator does not offer → CTAP2_ERR_UNAUTHORIZED_PERMISSION;
    //    pcmr only on its own.
    let not_offered = permissions.difference(offered);
    if !not_offered.is_empty() {
        return Err(PinError::PermissionNotOffered {
            bits: not_offered.bits(),
        });
    }
    let pcmr = Permissions::PERSISTENT_CREDENTIAL_MGMT_READ_ONLY;
    if permissions.contains(pcmr) && permissions != pcmr {
        return Err(PinError::PermissionNotOffered { bits: pcmr.bits() });
    }
    // mc and ga tokens are bound to an RP ID, so it must be sent with them.
    let mc_ga = Permissions::MAKE_CREDENTIAL.union(Permissions::GET_ASSERTION);
    if permissions.intersects(mc_ga) && rp_id.is_none() {
        return Err(PinError::MissingParameter { name: "rpId" });
    }
    Ok(permissions)
}

/// A getPinUvAuthTokenUsingUvWithPermissions request.
#[derive(Debug, Clone, Copy)]
pub struct GetUvToken<'a> {
    /// keyAgreement.
    pub key_agreement: Option<&'a CoseEcdhKey>,
    /// permissions.
    pub permissions: Option<u64>,
    /// rpId.
    pub rp_id: Option<&'a str>,
    /// The permissions this authenticator offers.
    pub offered: Permissions,
}

/// Proof that built-in user verification passed (the operator approved).
#[derive(Debug)]
pub struct BuiltInUvVerified {
    _private: (),
}

impl BuiltInUvVerified {
    /// Only the command layer mints it, right after `UserPresence::verify` approved.
    pub(crate) const fn new() -> Self {
        Self { _private: () }
    }
}

/// How the user was verified before a token was minted.
#[derive(Debug)]
pub enum Verification {
    /// A PIN check passed.
    Pin(PinVerified),
    /// Built-in user verification passed.
    BuiltIn(BuiltInUvVerified),
}

/// A mandatory parameter, or CTAP2_ERR_MISSING_PARAMETER naming it.
fn required<T>(value: Option<T>, name: &'static str) -> Result<T, PinError> {
    value.ok_or(PinError::MissingParameter { name })
}

/// The PIN policy on a decrypted paddedNewPin:
/// - "If paddedNewPin is NOT 64 bytes long, it returns CTAP1_ERR_INVALID_PARAMETER."
/// - newPin is the bytes before the first 0x00 (all 64 if there is none);
/// - it must be UTF-8, have at least `min_pin_length` code points and at most 63 bytes, else
///   CTAP2_ERR_PIN_POLICY_VIOLATION.
///
/// Returns LEFT(SHA-256(newPin), 16) and the code-point length.
pub fn check_padded_pin(
    padded: &[u8],
    min_pin_length: u8,
) -> Result<([u8; PIN_HASH_LEN], u8), PinError> {
    if padded.len() != PADDED_PIN_LEN {
        return Err(PinError::PaddedPinLength { len: padded.len() });
    }
    let pin = padded.split(|&byte| byte == 0).next().unwrap_or_default();
    let text = std::str::from_utf8(pin).map_err(|_| PinError::PinNotUtf8)?;
    let code_points = text.chars().count();
    if code_points < usize::from(min_pin_length) {
        return Err(PinError::PinTooShort {
            code_points,
            min: min_pin_length,
        });
    }
    if pin.len() > MAX_PIN_BYTES {
        return Err(PinError::PinTooLong { bytes: pin.len() });
    }
    // At most 63 bytes, so at most 63 code points.
    let code_points =
        u8::try_from(code_points).map_err(|_| PinError::PinTooLong { bytes: pin.len() })?;
    Ok((pin_hash(pin), code_points))
}
