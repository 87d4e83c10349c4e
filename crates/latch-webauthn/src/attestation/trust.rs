//! Trust anchors: bundled vendor roots per format, plus roots the relying party adds for a
//! format, for an AAGUID (from metadata), or for every format.

use std::collections::HashMap;

const APPLE_ROOTS: &[&[u8]] = &[include_bytes!("../../roots/apple_webauthn_root_ca.der")];
const GOOGLE_ROOTS: &[&[u8]] = &[
    include_bytes!("../../roots/google_hardware_attestation_root_1.der"),
    include_bytes!("../../roots/google_hardware_attestation_root_2.der"),
    include_bytes!("../../roots/google_hardware_attestation_root_3.der"),
    include_bytes!("../../roots/google_hardware_attestation_root_4.der"),
    include_bytes!("../../roots/google_key_attestation_ca1_p384.der"),
];
// GlobalSign Root CA - R2 is left out on purpose: it expired in December 2021, so it can
// anchor no current response, and a revoked 2019 chain ending there must not verify offline.
const GLOBALSIGN_ROOTS: &[&[u8]] = &[include_bytes!("../../roots/globalsign_root_ca.der")];

/// Where attestation certificate paths may end.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    by_format: HashMap<String, Vec<Vec<u8>>>,
    by_aaguid: HashMap<[u8; 16], Vec<Vec<u8>>>,
    all_formats: Vec<Vec<u8>>,
}

impl TrustStore {
    /// No anchors at all: every path is only checked for internal consistency.
    pub fn empty() -> Self {
        TrustStore::default()
    }

    /// The vendor roots that apple, android-key and android-safetynet statements must chain to.
    pub fn with_bundled_roots() -> Self {
        let mut t = TrustStore::default();
        for (fmt, roots) in [
            ("apple", APPLE_ROOTS),
            ("android-key", GOOGLE_ROOTS),
            ("android-safetynet", GLOBALSIGN_ROOTS),
        ] {
            for r in roots {
                t.add_root_for_format(fmt, r.to_vec());
            }
        }
        t
    }

    /// Trusts `der` for statements of format `fmt`.
    pub fn add_root_for_format(&mut self, fmt: &str, der: Vec<u8>) {
        self.by_format.entry(fmt.to_owned()).or_default().push(der);
    }

    /// Trusts `der` for authenticators with this AAGUID (what metadata statements provide).
    pub fn add_root_for_aaguid(&mut self, aaguid: [u8; 16], der: Vec<u8>) {
        self.by_aaguid.entry(aaguid).or_default().push(der);
    }

    /// Trusts `der` for every format and authenticator.
    pub fn add_root(&mut self, der: Vec<u8>) {
        self.all_formats.push(der);
    }

    /// The anchors that apply to a statement of `fmt` from an authenticator with `aaguid`.
    pub fn anchors_for(&self, fmt: &str, aaguid: &[u8; 16]) -> Vec<&[u8]> {
        self.by_format
            .get(fmt)
            .into_iter()
            .flatten()
            .chain(self.by_aaguid.get(aaguid).into_iter().flatten())
            .chain(self.all_formats.iter())
            .map(Vec::as_slice)
            .collect()
    }
}
