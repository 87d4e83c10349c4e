//! Options builders: from the relying party's policy to the L3 JSON a page passes to
//! `PublicKeyCredential.parse{Creation,Request}OptionsFromJSON()`, plus the state to keep until
//! the response comes back. Randomness is injected.

use serde_json::{json, Map, Value};

use crate::b64::{self, Base64Url};
use crate::cose::alg;
use crate::wire::{
    AuthenticatorSelection, CreationOptionsJson, CredentialDescriptor, CredentialParameters,
    RequestOptionsJson, RpEntity, UserEntity,
};
use crate::{AuthenticationState, RegistrationState, RelyingParty, UserVerification};

/// A source of random bytes (challenges). Production passes [`SystemRng`]; tests a fixed one.
pub trait Rng {
    fn fill(&mut self, dest: &mut [u8]);
}

/// The operating system's CSPRNG through aws-lc-rs.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRng;

impl Rng for SystemRng {
    fn fill(&mut self, dest: &mut [u8]) {
        // aws-lc's RNG does not fail on supported platforms; a failure would leave zeros, so
        // fall back to a second attempt rather than continuing silently.
        if aws_lc_rs::rand::fill(dest).is_err() {
            let _ = aws_lc_rs::rand::fill(dest);
        }
    }
}

/// Challenge length in bytes (the spec asks for at least 16).
pub const CHALLENGE_LEN: usize = 32;

/// The default pubKeyCredParams: ES256, EdDSA, ES384, RS256, PS256.
pub const DEFAULT_ALGORITHMS: &[i64] =
    &[alg::ES256, alg::EDDSA, alg::ES384, alg::RS256, alg::PS256];

/// `ResidentKeyRequirement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResidentKey {
    Required,
    #[default]
    Preferred,
    Discouraged,
}

impl ResidentKey {
    fn as_str(self) -> &'static str {
        match self {
            ResidentKey::Required => "required",
            ResidentKey::Preferred => "preferred",
            ResidentKey::Discouraged => "discouraged",
        }
    }
}

/// CTAP credProtect levels, as WebAuthn names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredProtect {
    UserVerificationOptional,
    UserVerificationOptionalWithCredentialIdList,
    UserVerificationRequired,
}

impl CredProtect {
    fn as_str(self) -> &'static str {
        match self {
            CredProtect::UserVerificationOptional => "userVerificationOptional",
            CredProtect::UserVerificationOptionalWithCredentialIdList => {
                "userVerificationOptionalWithCredentialIDList"
            }
            CredProtect::UserVerificationRequired => "userVerificationRequired",
        }
    }
}

/// Extension inputs the relying party can ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// credProps: learn whether the credential is discoverable.
    pub cred_props: bool,
    /// prf: evaluate the PRF at these salts (first, optional second).
    pub prf: Option<(Vec<u8>, Option<Vec<u8>>)>,
    /// largeBlob at creation: "required" or "preferred".
    pub large_blob_support: Option<&'static str>,
    /// largeBlob at assertion: read the blob.
    pub large_blob_read: bool,
    /// largeBlob at assertion: write this blob.
    pub large_blob_write: Option<Vec<u8>>,
    /// credProtect policy and whether to enforce it.
    pub cred_protect: Option<(CredProtect, bool)>,
    /// minPinLength: ask for the authenticator's minimum PIN length.
    pub min_pin_length: bool,
    /// appid: the U2F AppID to also accept at assertion.
    pub appid: Option<String>,
    /// appidExclude: the U2F AppID whose credentials are excluded at creation.
    pub appid_exclude: Option<String>,
}

impl Extensions {
    fn creation_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if self.cred_props {
            m.insert("credProps".into(), Value::Bool(true));
        }
        if let Some(prf) = self.prf_json() {
            m.insert("prf".into(), prf);
        }
        if let Some(support) = self.large_blob_support {
            m.insert("largeBlob".into(), json!({ "support": support }));
        }
        if let Some((policy, enforce)) = self.cred_protect {
            m.insert("credentialProtectionPolicy".into(), policy.as_str().into());
            m.insert("enforceCredentialProtectionPolicy".into(), enforce.into());
        }
        if self.min_pin_length {
            m.insert("minPinLength".into(), Value::Bool(true));
        }
        if let Some(appid) = &self.appid_exclude {
            m.insert("appidExclude".into(), appid.clone().into());
        }
        m
    }

    fn request_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some(prf) = self.prf_json() {
            m.insert("prf".into(), prf);
        }
        if self.large_blob_read {
            m.insert("largeBlob".into(), json!({ "read": true }));
        } else if let Some(blob) = &self.large_blob_write {
            m.insert("largeBlob".into(), json!({ "write": b64::encode(blob) }));
        }
        if let Some(appid) = &self.appid {
            m.insert("appid".into(), appid.clone().into());
        }
        m
    }

    fn prf_json(&self) -> Option<Value> {
        let (first, second) = self.prf.as_ref()?;
        let mut eval = Map::new();
        eval.insert("first".into(), b64::encode(first).into());
        if let Some(second) = second {
            eval.insert("second".into(), b64::encode(second).into());
        }
        Some(json!({ "eval": eval }))
    }
}

/// What a registration asks of the authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationPolicy {
    pub user_verification: UserVerification,
    pub resident_key: ResidentKey,
    /// "platform" or "cross-platform", or none for either.
    pub authenticator_attachment: Option<String>,
    /// Attestation conveyance: "none", "indirect", "direct" or "enterprise".
    pub attestation: String,
    pub attestation_formats: Vec<String>,
    pub algorithms: Vec<i64>,
    pub timeout_ms: Option<u32>,
    /// "security-key", "client-device", "hybrid".
    pub hints: Vec<String>,
    pub extensions: Extensions,
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        RegistrationPolicy {
            user_verification: UserVerification::Preferred,
            resident_key: ResidentKey::Preferred,
            authenticator_attachment: None,
            attestation: "none".into(),
            attestation_formats: Vec::new(),
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            timeout_ms: Some(300_000),
            hints: Vec::new(),
            extensions: Extensions {
                cred_props: true,
                ..Extensions::default()
            },
        }
    }
}

/// What an authentication asks of the authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationPolicy {
    pub user_verification: UserVerification,
    pub timeout_ms: Option<u32>,
    pub hints: Vec<String>,
    pub extensions: Extensions,
}

impl Default for AuthenticationPolicy {
    fn default() -> Self {
        AuthenticationPolicy {
            user_verification: UserVerification::Preferred,
            timeout_ms: Some(300_000),
            hints: Vec::new(),
            extensions: Extensions::default(),
        }
    }
}

fn challenge(rng: &mut dyn Rng) -> Vec<u8> {
    let mut c = vec![0u8; CHALLENGE_LEN];
    rng.fill(&mut c);
    c
}

/// `create()` options for `user`, excluding the credentials they already have.
pub fn creation_options(
    rp: &RelyingParty,
    policy: &RegistrationPolicy,
    user: UserEntity,
    exclude: Vec<CredentialDescriptor>,
    rng: &mut dyn Rng,
) -> (CreationOptionsJson, RegistrationState) {
    let challenge = challenge(rng);
    let options = CreationOptionsJson {
        rp: RpEntity {
            id: Some(rp.rp_id.clone()),
            name: rp.name.clone(),
        },
        user: user.clone(),
        challenge: Base64Url(challenge.clone()),
        pub_key_cred_params: policy
            .algorithms
            .iter()
            .map(|a| CredentialParameters {
                ty: "public-key".into(),
                alg: *a,
            })
            .collect(),
        timeout: policy.timeout_ms,
        exclude_credentials: exclude,
        authenticator_selection: Some(AuthenticatorSelection {
            authenticator_attachment: policy.authenticator_attachment.clone(),
            resident_key: Some(policy.resident_key.as_str().into()),
            require_resident_key: policy.resident_key == ResidentKey::Required,
            user_verification: Some(policy.user_verification.as_str().into()),
        }),
        hints: policy.hints.clone(),
        attestation: Some(policy.attestation.clone()),
        attestation_formats: policy.attestation_formats.clone(),
        extensions: policy.extensions.creation_json(),
    };
    let state = RegistrationState {
        challenge,
        user_id: user.id.0,
        user_verification: policy.user_verification,
        allowed_algs: policy.algorithms.clone(),
        require_user_presence: true,
    };
    (options, state)
}

/// `get()` options. An empty `allow` list asks for a discoverable credential (and suits
/// conditional mediation); `user_id` is the user identified beforehand, if any.
pub fn request_options(
    rp: &RelyingParty,
    policy: &AuthenticationPolicy,
    allow: Vec<CredentialDescriptor>,
    user_id: Option<Vec<u8>>,
    rng: &mut dyn Rng,
) -> (RequestOptionsJson, AuthenticationState) {
    let challenge = challenge(rng);
    let state = AuthenticationState {
        challenge: challenge.clone(),
        user_verification: policy.user_verification,
        allow_credentials: allow.iter().map(|d| d.id.0.clone()).collect(),
        user_id,
        appid: policy.extensions.appid.clone(),
    };
    let options = RequestOptionsJson {
        challenge: Base64Url(challenge),
        timeout: policy.timeout_ms,
        rp_id: Some(rp.rp_id.clone()),
        allow_credentials: allow,
        user_verification: Some(policy.user_verification.as_str().into()),
        hints: policy.hints.clone(),
        extensions: policy.extensions.request_json(),
    };
    (options, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u8);
    impl Rng for Counter {
        fn fill(&mut self, dest: &mut [u8]) {
            for b in dest {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
    }

    fn user() -> UserEntity {
        UserEntity {
            id: Base64Url(vec![1, 2, 3]),
            name: "ada".into(),
            display_name: "Ada".into(),
        }
    }

    #[test]
    fn creation_options_carry_policy_and_match_the_state() {
        let rp = RelyingParty::new("example.com", ["https://example.com"]);
        let mut policy = RegistrationPolicy::default();
        policy.extensions.prf = Some((vec![9; 32], None));
        policy.extensions.cred_protect = Some((CredProtect::UserVerificationRequired, true));
        policy.hints = vec!["security-key".into()];
        let exclude = vec![CredentialDescriptor::public_key(
            vec![7; 16],
            vec!["usb".into()],
        )];
        let (options, state) = creation_options(&rp, &policy, user(), exclude, &mut Counter(0));
        let json = serde_json::to_value(&options).unwrap();
        assert_eq!(
            json["rp"],
            json!({"id": "example.com", "name": "example.com"})
        );
        assert_eq!(json["user"]["id"], "AQID");
        assert_eq!(state.challenge.len(), 32);
        assert_eq!(json["challenge"], b64::encode(&state.challenge));
        let algs: Vec<i64> = options.pub_key_cred_params.iter().map(|p| p.alg).collect();
        assert_eq!(algs, vec![-7, -8, -35, -257, -37]);
        assert_eq!(state.allowed_algs, algs);
        assert_eq!(json["excludeCredentials"][0]["transports"], json!(["usb"]));
        assert_eq!(json["authenticatorSelection"]["residentKey"], "preferred");
        assert_eq!(json["extensions"]["credProps"], true);
        assert_eq!(
            json["extensions"]["prf"]["eval"]["first"],
            b64::encode([9; 32])
        );
        assert_eq!(
            json["extensions"]["credentialProtectionPolicy"],
            "userVerificationRequired"
        );
        assert_eq!(json["hints"], json!(["security-key"]));
    }

    #[test]
    fn request_options_without_allow_list_are_discoverable() {
        let rp = RelyingParty::new("example.com", ["https://example.com"]);
        let mut policy = AuthenticationPolicy::default();
        policy.extensions.appid = Some("https://example.com/appid.json".into());
        policy.extensions.large_blob_read = true;
        let (options, state) = request_options(&rp, &policy, vec![], None, &mut Counter(0));
        let json = serde_json::to_value(&options).unwrap();
        assert_eq!(json["allowCredentials"], json!([]));
        assert_eq!(json["rpId"], "example.com");
        assert_eq!(
            json["extensions"]["appid"],
            "https://example.com/appid.json"
        );
        assert_eq!(json["extensions"]["largeBlob"], json!({"read": true}));
        assert_eq!(
            state.appid.as_deref(),
            Some("https://example.com/appid.json")
        );
        assert!(state.allow_credentials.is_empty());
        let (_, second) = request_options(&rp, &policy, vec![], None, &mut Counter(100));
        assert_ne!(second.challenge, state.challenge);
    }
}
