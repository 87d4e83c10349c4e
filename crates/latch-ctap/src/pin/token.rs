//! The pinUvAuthToken (CTAP 2.1 §6.5.2.2). Only the `pin` module mints one, and only with the
//! [`Verification`] proof that a PIN check or built-in user verification passed.

use super::protocol::{PinUvAuthProtocol, SharedSecret};
#[cfg(test)]
use super::retries::PinVerified;
use super::Verification;
use super::{PinError, Rng};

/// Length of a pinUvAuthToken (fixed at 32 bytes since CTAP 2.1).
pub const TOKEN_LEN: usize = 32;

/// The initial usage time limit for USB: a token not used within 30 s of being minted expires.
pub const USAGE_WINDOW_MS: u64 = 30_000;

/// pinUvAuthToken permissions (CTAP 2.1 §6.5.5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// No permissions.
    pub const NONE: Self = Self(0);
    /// mc: authenticatorMakeCredential.
    pub const MAKE_CREDENTIAL: Self = Self(0x01);
    /// ga: authenticatorGetAssertion.
    pub const GET_ASSERTION: Self = Self(0x02);
    /// cm: authenticatorCredentialManagement.
    pub const CREDENTIAL_MANAGEMENT: Self = Self(0x04);
    /// be: authenticatorBioEnrollment.
    pub const BIO_ENROLLMENT: Self = Self(0x08);
    /// lbw: authenticatorLargeBlobs writes.
    pub const LARGE_BLOB_WRITE: Self = Self(0x10);
    /// acfg: authenticatorConfig.
    pub const AUTHENTICATOR_CONFIG: Self = Self(0x20);
    /// pcmr: read-only credential management with a persistent token.
    pub const PERSISTENT_CREDENTIAL_MGMT_READ_ONLY: Self = Self(0x40);
    /// Every permission CTAP 2.1 defines.
    pub const ALL: Self = Self(0x7F);
    /// getPinToken's default: mc and ga.
    pub const DEFAULT: Self = Self(0x03);

    /// The `permissions` parameter, with undefined bits dropped ("Undefined permissions present
    /// in the permissions parameter are ignored").
    pub const fn from_wire(value: u64) -> Self {
        Self((value & Self::ALL.0 as u64) as u8)
    }

    /// The bitfield.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every bit of `other` is set here.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set here.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Both sets.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The bits of `self` not in `other`.
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A live pinUvAuthToken with its permissions, optional permissions RP ID, minting time and
/// the user-present / user-verified flags. It cannot be built outside the `pin` module.
pub struct PinToken {
    key: [u8; TOKEN_LEN],
    protocol: PinUvAuthProtocol,
    permissions: Permissions,
    rp_id: Option<String>,
    minted_at_ms: u64,
    user_present: bool,
    user_verified: bool,
}

impl std::fmt::Debug for PinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinToken")
            .field("protocol", &self.protocol)
            .field("permissions", &self.permissions)
            .field("rp_id", &self.rp_id)
            .field("minted_at_ms", &self.minted_at_ms)
            .field("user_present", &self.user_present)
            .field("user_verified", &self.user_verified)
            .finish_non_exhaustive()
    }
}

impl Drop for PinToken {
    fn drop(&mut self) {
        self.key.fill(0);
    }
}

impl PinToken {
    /// `resetPinUvAuthToken()` + `beginUsingPinUvAuthToken(userIsPresent: false)`: 32 fresh
    /// bytes from `rng`, user verified, user not present. `_proof` shows a PIN check passed.
    pub(super) fn mint(
        _proof: Verification,
        rng: &mut dyn Rng,
        protocol: PinUvAuthProtocol,
        permissions: Permissions,
        rp_id: Option<&str>,
        now_ms: u64,
    ) -> Self {
        let mut key = [0u8; TOKEN_LEN];
        rng.fill(&mut key);
        Self {
            key,
            protocol,
            permissions,
            rp_id: rp_id.map(str::to_owned),
            minted_at_ms: now_ms,
            user_present: false,
            user_verified: true,
        }
    }

    /// `encrypt(shared secret, pinUvAuthToken)`, the value returned to the platform.
    pub(super) fn encrypt_for(
        &self,
        shared: &SharedSecret,
        rng: &mut dyn Rng,
    ) -> Result<Vec<u8>, PinError> {
        shared.encrypt(rng, &self.key)
    }

    /// The protocol the token was issued under.
    pub const fn protocol(&self) -> PinUvAuthProtocol {
        self.protocol
    }

    /// The granted permissions.
    pub const fn permissions(&self) -> Permissions {
        self.permissions
    }

    /// The permissions RP ID, if one is bound.
    pub fn rp_id(&self) -> Option<&str> {
        self.rp_id.as_deref()
    }

    /// When the token was minted (the caller's clock, in ms).
    pub const fn minted_at_ms(&self) -> u64 {
        self.minted_at_ms
    }

    /// The userPresent flag (false for PIN-issued tokens until a presence check sets it).
    pub const fn user_present(&self) -> bool {
        self.user_present
    }

    /// The userVerified flag.
    pub const fn user_verified(&self) -> bool {
        self.user_verified
    }

    /// Whether the usage window has passed at `now_ms`.
    pub const fn is_expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.minted_at_ms) >= USAGE_WINDOW_MS
    }

    /// `verify(pinUvAuthToken, message, pinUvAuthParam)` under `protocol`. A param made under
    /// another protocol than the token's, or with the wrong key, is
    /// [`PinError::PinAuthParamInvalid`].
    pub fn verify_param(
        &self,
        protocol: PinUvAuthProtocol,
        message: &[u8],
        param: &[u8],
    ) -> Result<(), PinError> {
        if protocol != self.protocol {
            return Err(PinError::PinAuthParamInvalid);
        }
        protocol.verify(&self.key, message, param)
    }

    /// May the token be used at `now_ms` for `permission` on `rp_id`? Expired →
    /// [`PinError::TokenExpired`]; a missing permission → [`PinError::PermissionMissing`]; an
    /// RP ID other than the bound one → [`PinError::RpIdMismatch`]. An unbound token, or a
    /// command without an RP ID, passes the RP ID check.
    pub fn check(
        &self,
        now_ms: u64,
        permission: Permissions,
        rp_id: Option<&str>,
    ) -> Result<(), PinError> {
        if self.is_expired(now_ms) {
            return Err(PinError::TokenExpired);
        }
        if !self.permissions.contains(permission) {
            return Err(PinError::PermissionMissing {
                needed: permission.difference(self.permissions).bits(),
            });
        }
        if let (Some(bound), Some(asked)) = (self.rp_id.as_deref(), rp_id) {
            if bound != asked {
                return Err(PinError::RpIdMismatch);
            }
        }
        Ok(())
    }

    /// "If the pinUvAuthToken does not have a permissions RP ID associated, associate the
    /// request's RP ID with it" (makeCredential / getAssertion). A bound RP ID is kept.
    pub fn bind_rp_id(&mut self, rp_id: &str) {
        if self.rp_id.is_none() {
            self.rp_id = Some(rp_id.to_owned());
        }
    }

    /// `setUserPresentFlag`/`clearUserPresentFlag`.
    pub fn set_user_present(&mut self, present: bool) {
        self.user_present = present;
    }

    /// `clearUserVerifiedFlag()`.
    pub fn clear_user_verified(&mut self) {
        self.user_verified = false;
    }

    /// `clearPinUvAuthTokenPermissionsExceptLbw()`.
    pub fn clear_permissions_except_lbw(&mut self) {
        self.permissions = Permissions(self.permissions.0 & Permissions::LARGE_BLOB_WRITE.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pin::testing::TestRng;

    fn token(permissions: Permissions, rp_id: Option<&str>) -> PinToken {
        PinToken::mint(
            Verification::Pin(PinVerified::for_tests()),
            &mut TestRng::new(1),
            PinUvAuthProtocol::Two,
            permissions,
            rp_id,
            1_000,
        )
    }

    #[test]
    fn minted_token_is_verified_not_present() {
        let t = token(Permissions::DEFAULT, None);
        assert!(t.user_verified());
        assert!(!t.user_present());
        assert_eq!(t.minted_at_ms(), 1_000);
        assert_eq!(t.key, {
            let mut expected = [0u8; 32];
            TestRng::new(1).fill(&mut expected);
            expected
        });
    }

    #[test]
    fn permission_missing_is_unauthorized_permission() {
        let t = token(Permissions::GET_ASSERTION, Some("example.com"));
        let err = t
            .check(1_000, Permissions::MAKE_CREDENTIAL, Some("example.com"))
            .unwrap_err();
        assert_eq!(err, PinError::PermissionMissing { needed: 0x01 });
        assert_eq!(err.status(), 0x40);
        assert_eq!(
            t.check(1_000, Permissions::CREDENTIAL_MANAGEMENT, None),
            Err(PinError::PermissionMissing { needed: 0x04 })
        );
        assert_eq!(
            t.check(1_000, Permissions::GET_ASSERTION, Some("example.com")),
            Ok(())
        );
    }

    #[test]
    fn rp_id_bound_and_different_is_pin_auth_invalid() {
        let t = token(Permissions::DEFAULT, Some("example.com"));
        let err = t
            .check(1_000, Permissions::GET_ASSERTION, Some("evil.example"))
            .unwrap_err();
        assert_eq!(err, PinError::RpIdMismatch);
        assert_eq!(err.status(), 0x33);
        // A command without an RP ID does not compare.
        assert_eq!(t.check(1_000, Permissions::GET_ASSERTION, None), Ok(()));
    }

    #[test]
    fn unbound_token_binds_on_first_use_and_keeps_it() {
        let mut t = token(Permissions::DEFAULT, None);
        assert_eq!(
            t.check(1_000, Permissions::MAKE_CREDENTIAL, Some("a.example")),
            Ok(())
        );
        t.bind_rp_id("a.example");
        t.bind_rp_id("b.example");
        assert_eq!(t.rp_id(), Some("a.example"));
        assert_eq!(
            t.check(1_000, Permissions::MAKE_CREDENTIAL, Some("b.example")),
            Err(PinError::RpIdMismatch)
        );
    }

    #[test]
    fn token_expires_thirty_seconds_after_minting() {
        let t = token(Permissions::DEFAULT, Some("example.com"));
        assert_eq!(
            t.check(
                1_000 + 29_999,
                Permissions::MAKE_CREDENTIAL,
                Some("example.com")
            ),
            Ok(())
        );
        let err = t
            .check(
                1_000 + 30_000,
                Permissions::MAKE_CREDENTIAL,
                Some("example.com"),
            )
            .unwrap_err();
        assert_eq!(err, PinError::TokenExpired);
        assert_eq!(err.status(), 0x33);
        // Expiry is checked before the permission, so an expired token never reveals them.
        assert_eq!(
            t.check(1_000 + 30_000, Permissions::AUTHENTICATOR_CONFIG, None),
            Err(PinError::TokenExpired)
        );
    }

    #[test]
    fn verify_param_needs_the_token_key_and_protocol() {
        let t = token(Permissions::DEFAULT, None);
        let message = [0x42u8; 32];
        let param = PinUvAuthProtocol::Two.authenticate(&t.key, &message);
        assert_eq!(param.len(), 32);
        assert_eq!(
            t.verify_param(PinUvAuthProtocol::Two, &message, &param),
            Ok(())
        );
        let err = t
            .verify_param(
                PinUvAuthProtocol::One,
                &message,
                param.get(..16).unwrap_or_default(),
            )
            .unwrap_err();
        assert_eq!(err, PinError::PinAuthParamInvalid);
        assert_eq!(err.status(), 0x33);
        let mut forged = param.clone();
        forged[31] ^= 1;
        assert_eq!(
            t.verify_param(PinUvAuthProtocol::Two, &message, &forged),
            Err(PinError::PinAuthParamInvalid)
        );
        // Truncated to protocol 1's length: refused under protocol 2.
        assert_eq!(
            t.verify_param(PinUvAuthProtocol::Two, &message, &param[..16]),
            Err(PinError::PinAuthParamInvalid)
        );
    }

    #[test]
    fn protocol_one_token_authenticates_with_sixteen_bytes() {
        let t = PinToken::mint(
            Verification::Pin(PinVerified::for_tests()),
            &mut TestRng::new(2),
            PinUvAuthProtocol::One,
            Permissions::DEFAULT,
            None,
            0,
        );
        let param = PinUvAuthProtocol::One.authenticate(&t.key, b"cdh");
        assert_eq!(param.len(), 16);
        assert_eq!(
            t.verify_param(PinUvAuthProtocol::One, b"cdh", &param),
            Ok(())
        );
    }

    #[test]
    fn clearing_permissions_keeps_only_lbw() {
        let mut t = token(Permissions::ALL, None);
        t.clear_permissions_except_lbw();
        assert_eq!(t.permissions(), Permissions::LARGE_BLOB_WRITE);
        t.clear_user_verified();
        assert!(!t.user_verified());
        t.set_user_present(true);
        assert!(t.user_present());
    }

    #[test]
    fn permissions_from_wire_ignores_undefined_bits() {
        assert_eq!(Permissions::from_wire(0xFF), Permissions::ALL);
        assert_eq!(Permissions::from_wire(0x100), Permissions::NONE);
        assert_eq!(Permissions::from_wire(0x81).bits(), 0x01);
    }
}
