//! The key's attestation identity, made once at first start: a per-installation CA and an ES256
//! batch certificate it signs, carrying the AAGUID extension (WebAuthn §8.2.1). The CA's private
//! key is dropped as soon as the batch certificate exists: nothing else is ever signed with it.

use latch_ctap::credential::PrivateKey;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

/// The Latch software key's AAGUID (one model, so one AAGUID for every installation).
pub const AAGUID: [u8; 16] = [
    0xbe, 0x54, 0x28, 0x9f, 0x26, 0xf8, 0x4a, 0x91, 0x92, 0x2f, 0x0d, 0xc5, 0x8f, 0x6e, 0xb3, 0x33,
];
/// id-ce-basicConstraints.
const BASIC_CONSTRAINTS_OID: [u64; 4] = [2, 5, 29, 19];
/// id-fido-gen-ce-aaguid.
const AAGUID_OID: [u64; 10] = [1, 3, 6, 1, 4, 1, 45724, 1, 1, 4];

/// The batch attestation key (as `PrivateKey` material) and its chain, leaf first.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// `PrivateKey::to_material` of the batch key.
    pub batch_key: Vec<u8>,
    /// The batch certificate (DER).
    pub batch_certificate: Vec<u8>,
    /// The per-installation CA certificate (DER).
    pub ca_certificate: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

/// Why the identity could not be made.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot generate the attestation certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot load the generated batch attestation key")]
    Key,
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CountryName, "US");
    name.push(DnType::OrganizationName, "Latch");
    name.push(DnType::OrganizationalUnitName, "Authenticator Attestation");
    name.push(DnType::CommonName, common_name);
    name
}

impl Identity {
    /// A new CA and batch certificate, valid from 2025 to 2050.
    pub fn generate() -> Result<Self, IdentityError> {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.distinguished_name = name("Latch Software Key Installation CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.not_before = rcgen::date_time_ymd(2025, 1, 1);
        ca.not_after = rcgen::date_time_ymd(2050, 1, 1);
        let ca_certificate = ca.self_signed(&ca_key)?;

        let batch_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut batch = CertificateParams::new(Vec::<String>::new())?;
        batch.distinguished_name = name("Latch Software Key Batch");
        // basicConstraints with cA false. rcgen's ExplicitNoCa encodes the DEFAULT FALSE, which
        // DER forbids and strict parsers (python-fido2's cryptography) refuse: an empty
        // SEQUENCE says the same thing canonically.
        batch.is_ca = IsCa::NoCa;
        batch
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &BASIC_CONSTRAINTS_OID,
                vec![0x30, 0x00],
            ));
        batch.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        batch.not_before = rcgen::date_time_ymd(2025, 1, 1);
        batch.not_after = rcgen::date_time_ymd(2050, 1, 1);
        // The extension value is an OCTET STRING holding the 16-byte AAGUID.
        let mut aaguid = vec![0x04, 0x10];
        aaguid.extend_from_slice(&AAGUID);
        batch
            .custom_extensions
            .push(CustomExtension::from_oid_content(&AAGUID_OID, aaguid));
        let batch_certificate = batch.signed_by(&batch_key, &ca_certificate, &ca_key)?;

        let material = PrivateKey::es256_from_pkcs8(&batch_key.serialize_der())
            .and_then(|key| key.to_material().ok())
            .ok_or(IdentityError::Key)?;
        Ok(Self {
            batch_key: material,
            batch_certificate: batch_certificate.der().to_vec(),
            ca_certificate: ca_certificate.der().to_vec(),
        })
    }

    /// The core's view: the batch key and the chain without its root (x5c carries the
    /// attestation certificate; relying parties pin the CA, exported as PEM).
    pub fn attestation(&self) -> Option<latch_ctap::command::BatchAttestation> {
        Some(latch_ctap::command::BatchAttestation {
            key: PrivateKey::from_material(&self.batch_key)?,
            certificates: vec![self.batch_certificate.clone()],
        })
    }

    /// The CA certificate as PEM, for relying parties that want to trust this installation.
    pub fn ca_pem(&self) -> String {
        use base64::Engine as _;
        let body = base64::engine::general_purpose::STANDARD.encode(&self.ca_certificate);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }
}
