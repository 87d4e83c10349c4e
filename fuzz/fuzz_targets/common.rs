//! Fixed relying-party setup shared by the fuzz targets. The targets that run a whole ceremony
//! take what the RP would otherwise know in advance (challenge, origin, RP ID hash, credential
//! id) from the input itself, so that mutated inputs get past the cheap early checks and reach
//! the attestation formats and the signature checks.
#![allow(dead_code)]

use std::sync::OnceLock;

use latch_webauthn::client_data::CollectedClientData;
use latch_webauthn::{RelyingParty, UnixTime, UserVerification};

/// 2024-01-02T00:00:00Z: inside the validity of the W3C L3 test-vector certificates.
pub const NOW: UnixTime = UnixTime(1_704_153_600);

/// The W3C L3 test vectors' attestation CA (shared/conformance packed-full cases' trustRoots).
const W3C_TEST_ROOT_B64: &str = "MIICBzCCAa2gAwIBAgIRAO1/kF2L0LQU0XhJExcKkLYwCgYIKoZIzj0EAwIwYjEeMBwGA1UEAwwVV2ViQXV0aG4gdGVzdCB2ZWN0b3JzMQwwCgYDVQQKDANXM0MxJTAjBgNVBAsMHEF1dGhlbnRpY2F0b3IgQXR0ZXN0YXRpb24gQ0ExCzAJBgNVBAYTAkFBMCAXDTI0MDEwMTAwMDAwMFoYDzMwMjQwMTAxMDAwMDAwWjBiMR4wHAYDVQQDDBVXZWJBdXRobiB0ZXN0IHZlY3RvcnMxDDAKBgNVBAoMA1czQzElMCMGA1UECwwcQXV0aGVudGljYXRvciBBdHRlc3RhdGlvbiBDQTELMAkGA1UEBhMCQUEwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQyaTAOX/e2mQFfcM+AqHY79wW8LirwwbOc/3GLfDWIDKMPMZB42RsDOJoAb9/IodzYTt+gfTCqE0dKJIoNq1uqo0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQURa/3FbDdeGdB/umW68FlR6OTGx4wCgYIKoZIzj0EAwIDSAAwRQIgSDBjtrsI3Mg9ozoCwR0vQiAxdok1VNE4xhSjaQhyTMgCIQD17yyRLUUAs+L1tZHQYiSR6fIg39H5c07EhLt+kIh2Yw==";

/// The fixed RP: rpId example.org, origin https://example.org, conformance-mode policy
/// (RS1 allowed, test TPM vendors, the W3C test root trusted for every format).
pub fn base_rp() -> &'static RelyingParty {
    static RP: OnceLock<RelyingParty> = OnceLock::new();
    RP.get_or_init(|| {
        let mut rp = RelyingParty::new("example.org", ["https://example.org"]);
        rp.attestation.formats.allow_sha1 = true;
        rp.attestation.formats.tpm_extra_vendors = vec![0xFFFF_F1D0, 0x0000_0000];
        if let Some(der) = latch_webauthn::b64::decode(W3C_TEST_ROOT_B64) {
            rp.attestation.trust.add_root(der);
        }
        rp
    })
}

/// The fixed RP adapted to one input: its RP ID hash, and the origin (and cross-origin
/// permission) the client data claims.
pub fn rp_for(rp_id_hash: [u8; 32], client_data: Option<&CollectedClientData<'_>>) -> RelyingParty {
    let mut rp = base_rp().clone();
    rp.rp_id_hash = rp_id_hash;
    if let Some(c) = client_data {
        rp.origins.exact.push(c.origin.to_string());
        rp.allow_cross_origin = true;
    }
    rp
}

/// The challenge the client data carries, decoded (empty if it is not base64url).
pub fn challenge_of(client_data: Option<&CollectedClientData<'_>>) -> Vec<u8> {
    client_data
        .and_then(|c| latch_webauthn::b64::decode(&c.challenge))
        .unwrap_or_default()
}

/// Optional hints a JSON seed may carry beside the response's own members (the response types
/// ignore unknown members, so the production parse is unchanged): `"latchFuzz": {"now": <unix
/// seconds>, "trustRoots": [<base64 DER>], "credentialPublicKey": <b64url COSE>,
/// "storedSignCount": n}`. `seed.sh` copies them from the conformance case, so that seeds
/// with expired certificates or their own roots still verify and mutations start from there.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hints {
    #[serde(default)]
    pub now: Option<i64>,
    #[serde(default)]
    pub trust_roots: Vec<String>,
    #[serde(default)]
    pub credential_public_key: Option<String>,
    #[serde(default)]
    pub stored_sign_count: Option<u32>,
}

#[derive(Default, serde::Deserialize)]
struct WithHints {
    #[serde(default, rename = "latchFuzz")]
    hints: Option<Hints>,
}

/// The hints in `data`, if it is JSON that has them.
pub fn hints(data: &[u8]) -> Hints {
    serde_json::from_slice::<WithHints>(data)
        .ok()
        .and_then(|w| w.hints)
        .unwrap_or_default()
}

impl Hints {
    pub fn now(&self) -> UnixTime {
        self.now.map_or(NOW, UnixTime)
    }

    /// Adds the hinted trust roots to `rp`.
    pub fn apply(&self, rp: &mut RelyingParty) {
        for root in &self.trust_roots {
            if let Some(der) = latch_webauthn::b64::decode(root) {
                rp.attestation.trust.add_root(der);
            }
        }
    }
}

pub const PREFERRED: UserVerification = UserVerification::Preferred;
