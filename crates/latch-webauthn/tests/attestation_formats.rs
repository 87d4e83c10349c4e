//! Attestation statement formats `none`, `packed` (x5c and self), `fido-u2f`, `apple` and
//! `compound`, and the certificate-path checks of `cert::verify_chain`: one test per check,
//! each breaking exactly that check and asserting the exact error; plus the happy paths.
//! Certificates are made with rcgen at test time (valid 2020-2040; `NOW` is October 2025).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
};
use ciborium::value::Value;
use common::*;
use latch_webauthn::attestation::AttestationError as AE;
use latch_webauthn::rp::rp_id_hash;
use latch_webauthn::{
    verify_registration, AttestationType, Error, RegistrationState, RelyingParty, TrustStatus,
    TrustStore, UnixTime, VerifiedRegistration,
};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CustomExtension, DistinguishedName, DnType,
    IsCa, KeyPair,
};

// ---- verification ---------------------------------------------------------------------------

fn verify(r: &Registration<'_>) -> Result<VerifiedRegistration, Error> {
    verify_registration(&rp(), &registration_state(), &r.response(), NOW)
}

fn verify_rp(rp: &RelyingParty, r: &Registration<'_>) -> Result<VerifiedRegistration, Error> {
    verify_registration(rp, &registration_state(), &r.response(), NOW)
}

fn verify_at(r: &Registration<'_>, now: UnixTime) -> Result<VerifiedRegistration, Error> {
    verify_registration(&rp(), &registration_state(), &r.response(), now)
}

fn att(fmt: &'static str, source: AE) -> Error {
    Error::Attestation { fmt, source }
}

fn malformed(fmt: &'static str, what: &str) -> Error {
    att(fmt, AE::StatementMalformed(what.into()))
}

/// A relying party that trusts `root` for every format.
fn rp_trusting(root: &Root) -> RelyingParty {
    let mut rp = rp();
    rp.attestation.trust.add_root(root.der());
    rp
}

// ---- keys and certificates ------------------------------------------------------------------

fn p256() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap()
}

fn p384() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap()
}

/// An ECDSA (ASN.1 DER) signature by an rcgen key, through aws-lc-rs and its PKCS#8.
fn sign_with(key: &KeyPair, msg: &[u8]) -> Vec<u8> {
    let alg = if key.algorithm() == &rcgen::PKCS_ECDSA_P384_SHA384 {
        &ECDSA_P384_SHA384_ASN1_SIGNING
    } else {
        &ECDSA_P256_SHA256_ASN1_SIGNING
    };
    let k = EcdsaKeyPair::from_pkcs8(alg, &key.serialize_der()).unwrap();
    k.sign(&SystemRandom::new(), msg).unwrap().as_ref().to_vec()
}

/// The ES256 COSE_Key of a P-256 rcgen key.
fn cose_of(key: &KeyPair) -> Vec<u8> {
    let p = key.public_key_raw();
    assert_eq!(p.len(), 65);
    cose_ec2(ES256, 1, &p[1..33], &p[33..65])
}

fn dn(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    for (t, v) in parts {
        d.push(t.clone(), *v);
    }
    d
}

/// The §8.2.1 subject: C, O, OU = "Authenticator Attestation", CN.
fn attestation_dn() -> Vec<(DnType, &'static str)> {
    vec![
        (DnType::CountryName, "US"),
        (DnType::OrganizationName, "Latch Test Vendor"),
        (DnType::OrganizationalUnitName, "Authenticator Attestation"),
        (DnType::CommonName, "Latch Test Attestation"),
    ]
}

fn params(subject: &[(DnType, &str)], is_ca: IsCa, from: i32, to: i32) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(subject);
    p.is_ca = is_ca;
    p.not_before = rcgen::date_time_ymd(from, 1, 1);
    p.not_after = rcgen::date_time_ymd(to, 1, 1);
    p
}

/// A valid packed attestation certificate's parameters (not a CA, 2020-2040).
fn leaf_params() -> CertificateParams {
    params(&attestation_dn(), IsCa::ExplicitNoCa, 2020, 2040)
}

fn ca_params(cn: &str, from: i32, to: i32) -> CertificateParams {
    params(
        &[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Latch Test Vendor"),
            (DnType::CommonName, cn),
        ],
        IsCa::Ca(BasicConstraints::Unconstrained),
        from,
        to,
    )
}

/// A certificate with its private key (roots and intermediates).
struct Root {
    cert: Certificate,
    key: KeyPair,
}

impl Root {
    fn der(&self) -> Vec<u8> {
        self.cert.der().to_vec()
    }

    /// Issues a certificate for `key` under this CA.
    fn issue(&self, p: CertificateParams, key: &KeyPair) -> Vec<u8> {
        p.signed_by(key, &self.cert, &self.key)
            .unwrap()
            .der()
            .to_vec()
    }

    /// Issues an intermediate (a CA unless `p` says otherwise).
    fn issue_ca(&self, p: CertificateParams) -> Root {
        let key = p256();
        let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
        Root { cert, key }
    }
}

fn root_valid(cn: &str, from: i32, to: i32) -> Root {
    let key = p256();
    let cert = ca_params(cn, from, to).self_signed(&key).unwrap();
    Root { cert, key }
}

fn root(cn: &str) -> Root {
    root_valid(cn, 2020, 2040)
}

fn self_signed(p: CertificateParams, key: &KeyPair) -> Vec<u8> {
    p.self_signed(key).unwrap().der().to_vec()
}

fn aaguid_extension(aaguid: &[u8; 16], critical: bool) -> CustomExtension {
    let mut content = vec![0x04, 0x10];
    content.extend_from_slice(aaguid);
    let mut ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4], content);
    ext.set_criticality(critical);
    ext
}

/// Apple's nonce extension: SEQUENCE { [1] EXPLICIT OCTET STRING nonce }.
fn nonce_extension(nonce: &[u8; 32]) -> CustomExtension {
    let mut content = vec![0x30, 0x24, 0xA1, 0x22, 0x04, 0x20];
    content.extend_from_slice(nonce);
    CustomExtension::from_oid_content(&[1, 2, 840, 113_635, 100, 8, 2], content)
}

// ---- a little DER, for certificates rcgen cannot make ----------------------------------------

/// (header length, content length) of the DER element at the start of `buf`.
fn tlv(buf: &[u8]) -> (usize, usize) {
    let b = buf[1];
    if b < 0x80 {
        return (2, usize::from(b));
    }
    let n = usize::from(b & 0x7f);
    let len = buf[2..2 + n]
        .iter()
        .fold(0usize, |acc, x| (acc << 8) | usize::from(*x));
    (2 + n, len)
}

fn der_len(n: usize) -> Vec<u8> {
    match n {
        0..=0x7f => vec![n as u8],
        0x80..=0xff => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

fn der_seq(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

/// A genuine X.509 v1 certificate (no version field, no extensions), self-signed by `key`:
/// rcgen's v3 output with the `[0] INTEGER 2` version removed and the TBS re-signed.
fn v1_certificate(key: &KeyPair) -> Vec<u8> {
    let mut p = leaf_params();
    p.is_ca = IsCa::NoCa; // no basicConstraints: rcgen then writes no extensions at all
    let der = self_signed(p, key);
    let (h, _) = tlv(&der);
    let body = &der[h..];
    let (th, tl) = tlv(body);
    let tbs_content = &body[th..th + tl];
    assert_eq!(&tbs_content[..5], &[0xA0, 0x03, 0x02, 0x01, 0x02]);
    let tbs = der_seq(&tbs_content[5..]);
    let rest = &body[th + tl..];
    let (sh, sl) = tlv(rest);
    let sig_alg = &rest[..sh + sl];
    let sig = sign_with(key, &tbs);
    let mut bits = vec![0x03];
    bits.extend(der_len(sig.len() + 1));
    bits.push(0x00);
    bits.extend(sig);
    der_seq(&[tbs, sig_alg.to_vec(), bits].concat())
}

/// `der` with its one occurrence of `from` replaced by `to` (same length).
fn patch(der: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let hits: Vec<usize> = der
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "pattern must occur exactly once");
    let mut out = der.to_vec();
    out[hits[0]..hits[0] + to.len()].copy_from_slice(to);
    out
}

const P256_OID: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// 1.2.840.10045.3.1.8: not a curve anyone uses.
const UNKNOWN_CURVE_OID: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x08];

// ---- statements -----------------------------------------------------------------------------

fn x5c(certs: Vec<Vec<u8>>) -> Value {
    Value::Array(certs.into_iter().map(Value::Bytes).collect())
}

fn map(members: Vec<(&str, Value)>) -> Value {
    Value::Map(members.into_iter().map(|(k, v)| (text(k), v)).collect())
}

/// A packed full-attestation registration: `signer` signs authData || clientDataHash (ES256).
fn packed_full<'a>(
    cred: &'a TestCredential,
    signer: &KeyPair,
    certs: Vec<Vec<u8>>,
) -> Registration<'a> {
    let mut r = cred.register().packed();
    let sig = sign_with(signer, &r.signed_data());
    r.att_stmt = Some(map(vec![
        ("alg", int(ES256)),
        ("sig", Value::Bytes(sig)),
        ("x5c", x5c(certs)),
    ]));
    r
}

/// A packed registration with a fresh leaf of `p` self-signed (so only the leaf checks matter).
fn packed_with_leaf<'a>(cred: &'a TestCredential, p: CertificateParams) -> Registration<'a> {
    let key = p256();
    let leaf = self_signed(p, &key);
    packed_full(cred, &key, vec![leaf])
}

/// A fido-u2f registration whose credential key is `cred_key` and whose statement is signed
/// by `att_key` over 0x00 || rpIdHash || clientDataHash || credentialId || publicKeyU2F.
fn u2f<'a>(
    cred: &'a TestCredential,
    cred_key: &KeyPair,
    att_key: &KeyPair,
    certs: Vec<Vec<u8>>,
) -> Registration<'a> {
    let mut r = cred.register();
    r.fmt = "fido-u2f".into();
    r.auth_data.attested.as_mut().unwrap().cose_key = cose_of(cred_key);
    let mut data = vec![0x00];
    data.extend_from_slice(&rp_id_hash(RP_ID));
    data.extend_from_slice(&sha256(&r.client_data_json()));
    data.extend_from_slice(&cred.id);
    data.extend_from_slice(cred_key.public_key_raw());
    let sig = sign_with(att_key, &data);
    r.att_stmt = Some(map(vec![("sig", Value::Bytes(sig)), ("x5c", x5c(certs))]));
    r
}

/// An apple registration whose credential public key is `cred_key` (statement not yet set).
fn apple_reg<'a>(cred: &'a TestCredential, cred_key: &KeyPair) -> Registration<'a> {
    let mut r = cred.register();
    r.fmt = "apple".into();
    r.auth_data.attested.as_mut().unwrap().cose_key = cose_of(cred_key);
    r
}

fn apple_leaf_params(nonce: Option<&[u8; 32]>) -> CertificateParams {
    let mut p = params(
        &[
            (DnType::CommonName, "Latch Test Credential"),
            (DnType::OrganizationName, "Latch Test Vendor"),
        ],
        IsCa::ExplicitNoCa,
        2020,
        2040,
    );
    p.custom_extensions = nonce.map(nonce_extension).into_iter().collect();
    p
}

/// A valid apple registration: credential certificate for `cred_key` with the right nonce,
/// issued by `ca`; x5c = [credCert, ca].
fn apple_full<'a>(cred: &'a TestCredential, cred_key: &KeyPair, ca: &Root) -> Registration<'a> {
    let mut r = apple_reg(cred, cred_key);
    let nonce = sha256(&r.signed_data());
    let leaf = ca.issue(apple_leaf_params(Some(&nonce)), cred_key);
    r.att_stmt = Some(map(vec![("x5c", x5c(vec![leaf, ca.der()]))]));
    r
}

fn compound(stmts: Vec<(&str, Value)>) -> Value {
    Value::Array(
        stmts
            .into_iter()
            .map(|(fmt, s)| map(vec![("fmt", text(fmt)), ("attStmt", s)]))
            .collect(),
    )
}

// ==== none ===================================================================================

#[test]
fn none_accepts_an_empty_statement() {
    let cred = TestCredential::es256();
    let v = verify(&cred.register()).unwrap();
    assert_eq!(v.fmt(), "none");
    assert_eq!(v.attestation_type(), AttestationType::None);
    assert_eq!(v.attestation.trust, TrustStatus::NotApplicable);
}

#[test]
fn none_rejects_a_non_empty_statement() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.att_stmt = Some(map(vec![("alg", int(ES256))]));
    assert_eq!(err(verify(&r)), att("none", AE::NoneStatementNotEmpty));
}

#[test]
fn none_rejects_a_statement_that_is_not_a_map() {
    let cred = TestCredential::es256();
    let mut r = cred.register();
    r.att_stmt = Some(Value::Array(Vec::new()));
    assert_eq!(err(verify(&r)), malformed("none", "attStmt is not a map"));
}

// ==== packed: statement members =============================================================

#[test]
fn packed_rejects_a_statement_that_is_not_a_map() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    r.att_stmt = Some(Value::Array(vec![int(ES256)]));
    assert_eq!(err(verify(&r)), malformed("packed", "attStmt is not a map"));
}

#[test]
fn packed_rejects_a_missing_alg() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    let sig = cred.key.sign(&r.signed_data());
    r.att_stmt = Some(map(vec![("sig", Value::Bytes(sig))]));
    assert_eq!(err(verify(&r)), malformed("packed", "alg is missing"));
}

#[test]
fn packed_rejects_an_alg_that_is_not_an_integer() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    let sig = cred.key.sign(&r.signed_data());
    r.att_stmt = Some(map(vec![
        ("alg", text("ES256")),
        ("sig", Value::Bytes(sig)),
    ]));
    assert_eq!(
        err(verify(&r)),
        malformed("packed", "alg is not an integer")
    );
}

#[test]
fn packed_rejects_a_missing_sig() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    r.att_stmt = Some(map(vec![("alg", int(ES256))]));
    assert_eq!(err(verify(&r)), malformed("packed", "sig is missing"));
}

#[test]
fn packed_rejects_a_sig_that_is_not_bytes() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    r.att_stmt = Some(map(vec![("alg", int(ES256)), ("sig", text("signature"))]));
    assert_eq!(
        err(verify(&r)),
        malformed("packed", "sig is not a byte string")
    );
}

#[test]
fn packed_rejects_x5c_that_is_not_an_array() {
    let cred = TestCredential::es256();
    let key = p256();
    let mut r = packed_full(&cred, &key, Vec::new());
    let leaf = self_signed(leaf_params(), &key);
    let sig = sign_with(&key, &r.signed_data());
    r.att_stmt = Some(map(vec![
        ("alg", int(ES256)),
        ("sig", Value::Bytes(sig)),
        ("x5c", Value::Bytes(leaf)),
    ]));
    assert_eq!(
        err(verify(&r)),
        malformed("packed", "x5c is not a non-empty array")
    );
}

#[test]
fn packed_rejects_an_empty_x5c() {
    let cred = TestCredential::es256();
    let r = packed_full(&cred, &p256(), Vec::new());
    assert_eq!(
        err(verify(&r)),
        malformed("packed", "x5c is not a non-empty array")
    );
}

#[test]
fn packed_rejects_an_x5c_item_that_is_not_bytes() {
    let cred = TestCredential::es256();
    let key = p256();
    let mut r = cred.register().packed();
    let sig = sign_with(&key, &r.signed_data());
    r.att_stmt = Some(map(vec![
        ("alg", int(ES256)),
        ("sig", Value::Bytes(sig)),
        ("x5c", Value::Array(vec![text("MIIB...")])),
    ]));
    assert_eq!(
        err(verify(&r)),
        malformed("packed", "x5c item is not bytes")
    );
}

// ==== packed: self attestation ===============================================================

#[test]
fn packed_self_attestation_verifies() {
    let cred = TestCredential::es256();
    let v = verify(&cred.register().packed()).unwrap();
    assert_eq!(v.fmt(), "packed");
    assert_eq!(v.attestation_type(), AttestationType::SelfAttestation);
    assert_eq!(v.attestation.trust, TrustStatus::NotApplicable);
    assert!(v.attestation.trust_path.is_empty());
}

#[test]
fn packed_self_attestation_eddsa_verifies() {
    let cred = TestCredential::eddsa();
    let v = verify(&cred.register().packed()).unwrap();
    assert_eq!(v.attestation_type(), AttestationType::SelfAttestation);
}

#[test]
fn packed_self_rejects_an_alg_other_than_the_credential_keys() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    r.packed_alg = Some(ES384);
    assert_eq!(
        err(verify(&r)),
        att(
            "packed",
            AE::AlgMismatch {
                stmt: ES384,
                key: ES256
            }
        )
    );
}

#[test]
fn packed_self_rejects_a_bad_signature() {
    let cred = TestCredential::es256();
    let mut r = cred.register().packed();
    r.packed_sig = Some(cred.key.sign(b"something else entirely"));
    assert_eq!(err(verify(&r)), att("packed", AE::SignatureInvalid));
}

#[test]
fn packed_self_rejects_a_signature_by_another_key() {
    let cred = TestCredential::es256();
    let other = TestKey::es256();
    let mut r = cred.register().packed();
    r.packed_sig = Some(other.sign(&r.signed_data()));
    assert_eq!(err(verify(&r)), att("packed", AE::SignatureInvalid));
}

// ==== packed: full (x5c) attestation =========================================================

#[test]
fn packed_x5c_without_anchors_is_basic_unverified() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let key = p256();
    let leaf = ca.issue(leaf_params(), &key);
    let v = verify(&packed_full(&cred, &key, vec![leaf.clone()])).unwrap();
    assert_eq!(v.fmt(), "packed");
    assert_eq!(v.attestation_type(), AttestationType::Basic);
    assert_eq!(v.attestation.trust, TrustStatus::Unverified);
    assert_eq!(v.attestation.trust_path, vec![leaf]);
}

#[test]
fn packed_x5c_with_the_root_added_is_trusted() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let key = p256();
    let leaf = ca.issue(leaf_params(), &key);
    let v = verify_rp(&rp_trusting(&ca), &packed_full(&cred, &key, vec![leaf])).unwrap();
    assert_eq!(v.attestation_type(), AttestationType::Basic);
    assert_eq!(v.attestation.trust, TrustStatus::Trusted);
}

#[test]
fn packed_x5c_ending_at_the_anchor_itself_is_trusted() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let inter = ca.issue_ca(ca_params("Latch Test Intermediate", 2020, 2040));
    let key = p256();
    let leaf = inter.issue(leaf_params(), &key);
    let r = packed_full(&cred, &key, vec![leaf, inter.der(), ca.der()]);
    let v = verify_rp(&rp_trusting(&ca), &r).unwrap();
    assert_eq!(v.attestation.trust, TrustStatus::Trusted);
}

#[test]
fn packed_x5c_trusted_through_an_intermediate() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let inter = ca.issue_ca(ca_params("Latch Test Intermediate", 2020, 2040));
    let key = p256();
    let leaf = inter.issue(leaf_params(), &key);
    let r = packed_full(&cred, &key, vec![leaf, inter.der()]);
    let v = verify_rp(&rp_trusting(&ca), &r).unwrap();
    assert_eq!(v.attestation.trust, TrustStatus::Trusted);
}

#[test]
fn packed_x5c_trusted_by_an_aaguid_root() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let key = p256();
    let leaf = ca.issue(leaf_params(), &key);
    let mut rp = rp();
    rp.attestation.trust.add_root_for_aaguid(AAGUID, ca.der());
    let v = verify_rp(&rp, &packed_full(&cred, &key, vec![leaf])).unwrap();
    assert_eq!(v.attestation.trust, TrustStatus::Trusted);
}

#[test]
fn packed_x5c_roots_of_other_formats_and_aaguids_do_not_apply() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let key = p256();
    let leaf = ca.issue(leaf_params(), &key);
    let mut rp = rp();
    rp.attestation
        .trust
        .add_root_for_aaguid(OTHER_AAGUID, ca.der());
    rp.attestation
        .trust
        .add_root_for_format("fido-u2f", ca.der());
    let v = verify_rp(&rp, &packed_full(&cred, &key, vec![leaf])).unwrap();
    assert_eq!(v.attestation.trust, TrustStatus::Unverified);
}

#[test]
fn packed_x5c_with_a_matching_aaguid_extension_verifies() {
    let cred = TestCredential::es256();
    let mut p = leaf_params();
    p.custom_extensions = vec![aaguid_extension(&AAGUID, false)];
    let v = verify(&packed_with_leaf(&cred, p)).unwrap();
    assert_eq!(v.attestation_type(), AttestationType::Basic);
}

#[test]
fn packed_x5c_rejects_a_bad_signature() {
    let cred = TestCredential::es256();
    let key = p256();
    let leaf = self_signed(leaf_params(), &key);
    let mut r = packed_full(&cred, &key, vec![leaf.clone()]);
    r.att_stmt = Some(map(vec![
        ("alg", int(ES256)),
        ("sig", Value::Bytes(sign_with(&key, b"not the signed data"))),
        ("x5c", x5c(vec![leaf])),
    ]));
    assert_eq!(err(verify(&r)), att("packed", AE::SignatureInvalid));
}

#[test]
fn packed_x5c_rejects_a_signature_by_the_credential_key() {
    // A self-attestation signature with an x5c attached: the leaf's key did not sign.
    let cred = TestCredential::es256();
    let key = p256();
    let leaf = self_signed(leaf_params(), &key);
    let mut r = cred.register().packed();
    let sig = cred.key.sign(&r.signed_data());
    r.att_stmt = Some(map(vec![
        ("alg", int(ES256)),
        ("sig", Value::Bytes(sig)),
        ("x5c", x5c(vec![leaf])),
    ]));
    assert_eq!(err(verify(&r)), att("packed", AE::SignatureInvalid));
}

#[test]
fn packed_x5c_rejects_an_alg_the_certificate_key_cannot_use() {
    let cred = TestCredential::es256();
    let key = p256();
    let leaf = self_signed(leaf_params(), &key);
    let mut r = cred.register().packed();
    let sig = sign_with(&key, &r.signed_data());
    r.att_stmt = Some(map(vec![
        ("alg", int(EDDSA)),
        ("sig", Value::Bytes(sig)),
        ("x5c", x5c(vec![leaf])),
    ]));
    assert_eq!(
        err(verify(&r)),
        att("packed", AE::UnsupportedAlgorithm(EDDSA))
    );
}

#[test]
fn packed_x5c_rejects_an_unknown_alg() {
    let cred = TestCredential::es256();
    let key = p256();
    let leaf = self_signed(leaf_params(), &key);
    let mut r = cred.register().packed();
    let sig = sign_with(&key, &r.signed_data());
    r.att_stmt = Some(map(vec![
        ("alg", int(-999)),
        ("sig", Value::Bytes(sig)),
        ("x5c", x5c(vec![leaf])),
    ]));
    assert_eq!(
        err(verify(&r)),
        att("packed", AE::UnsupportedAlgorithm(-999))
    );
}

#[test]
fn packed_x5c_rejects_trailing_bytes_after_a_certificate() {
    let cred = TestCredential::es256();
    let key = p256();
    let mut leaf = self_signed(leaf_params(), &key);
    leaf.push(0x00);
    let r = packed_full(&cred, &key, vec![leaf]);
    assert_eq!(
        err(verify(&r)),
        att(
            "packed",
            AE::CertificateMalformed("1 bytes after the certificate".into())
        )
    );
}

#[test]
fn packed_x5c_rejects_a_certificate_that_is_not_der() {
    let cred = TestCredential::es256();
    let key = p256();
    let r = packed_full(&cred, &key, vec![b"not a certificate".to_vec()]);
    match err(verify(&r)) {
        Error::Attestation {
            fmt: "packed",
            source: AE::CertificateMalformed(_),
        } => {}
        e => panic!("expected CertificateMalformed, got {e:?}"),
    }
}

#[test]
fn packed_x5c_rejects_a_malformed_certificate_later_in_the_chain() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let key = p256();
    let leaf = ca.issue(leaf_params(), &key);
    let mut bad_root = ca.der();
    bad_root.extend_from_slice(&[0x00, 0x00]);
    let r = packed_full(&cred, &key, vec![leaf, bad_root]);
    assert_eq!(
        err(verify(&r)),
        att(
            "packed",
            AE::CertificateMalformed("2 bytes after the certificate".into())
        )
    );
}

#[test]
fn packed_x5c_rejects_a_certificate_key_on_an_unknown_curve() {
    let cred = TestCredential::es256();
    let key = p256();
    let leaf = patch(
        &self_signed(leaf_params(), &key),
        P256_OID,
        UNKNOWN_CURVE_OID,
    );
    let r = packed_full(&cred, &key, vec![leaf]);
    assert_eq!(
        err(verify(&r)),
        att(
            "packed",
            AE::CertificateKeyUnsupported("1.2.840.10045.3.1.8".into())
        )
    );
}

#[test]
fn packed_x5c_rejects_a_v1_certificate() {
    let cred = TestCredential::es256();
    let key = p256();
    let r = packed_full(&cred, &key, vec![v1_certificate(&key)]);
    assert_eq!(err(verify(&r)), att("packed", AE::CertificateVersion));
}

fn subject_without(t: &DnType) -> Vec<(DnType, &'static str)> {
    attestation_dn()
        .into_iter()
        .filter(|(k, _)| k != t)
        .collect()
}

fn subject_with(t: &DnType, v: &'static str) -> Vec<(DnType, &'static str)> {
    attestation_dn()
        .into_iter()
        .map(|(k, old)| if &k == t { (k, v) } else { (k, old) })
        .collect()
}

fn packed_subject_error(subject: &[(DnType, &str)]) -> Error {
    let cred = TestCredential::es256();
    err(verify(&packed_with_leaf(
        &cred,
        params(subject, IsCa::ExplicitNoCa, 2020, 2040),
    )))
}

#[test]
fn packed_x5c_rejects_a_subject_without_country() {
    assert_eq!(
        packed_subject_error(&subject_without(&DnType::CountryName)),
        att("packed", AE::CertificateSubject("C (country)"))
    );
}

#[test]
fn packed_x5c_rejects_a_country_that_is_not_two_letters() {
    assert_eq!(
        packed_subject_error(&subject_with(&DnType::CountryName, "USA")),
        att("packed", AE::CertificateSubject("C (country)"))
    );
}

#[test]
fn packed_x5c_rejects_a_subject_without_organization() {
    assert_eq!(
        packed_subject_error(&subject_without(&DnType::OrganizationName)),
        att("packed", AE::CertificateSubject("O (organization)"))
    );
}

#[test]
fn packed_x5c_rejects_a_wrong_organizational_unit() {
    assert_eq!(
        packed_subject_error(&subject_with(
            &DnType::OrganizationalUnitName,
            "Authenticator"
        )),
        att(
            "packed",
            AE::CertificateSubject("OU = \"Authenticator Attestation\"")
        )
    );
}

#[test]
fn packed_x5c_rejects_a_subject_without_organizational_unit() {
    assert_eq!(
        packed_subject_error(&subject_without(&DnType::OrganizationalUnitName)),
        att(
            "packed",
            AE::CertificateSubject("OU = \"Authenticator Attestation\"")
        )
    );
}

#[test]
fn packed_x5c_rejects_a_subject_without_common_name() {
    assert_eq!(
        packed_subject_error(&subject_without(&DnType::CommonName)),
        att("packed", AE::CertificateSubject("CN (common name)"))
    );
}

#[test]
fn packed_x5c_rejects_a_ca_leaf() {
    let cred = TestCredential::es256();
    let mut p = leaf_params();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    assert_eq!(
        err(verify(&packed_with_leaf(&cred, p))),
        att("packed", AE::CertificateIsCa)
    );
}

#[test]
fn packed_x5c_rejects_a_critical_aaguid_extension() {
    let cred = TestCredential::es256();
    let mut p = leaf_params();
    p.custom_extensions = vec![aaguid_extension(&AAGUID, true)];
    assert_eq!(
        err(verify(&packed_with_leaf(&cred, p))),
        att("packed", AE::AaguidExtensionCritical)
    );
}

#[test]
fn packed_x5c_rejects_an_aaguid_extension_for_another_authenticator() {
    let cred = TestCredential::es256();
    let mut p = leaf_params();
    p.custom_extensions = vec![aaguid_extension(&OTHER_AAGUID, false)];
    assert_eq!(
        err(verify(&packed_with_leaf(&cred, p))),
        att("packed", AE::AaguidExtensionMismatch)
    );
}

// ==== certificate path (cert::verify_chain), through packed ==================================

#[test]
fn chain_rejects_an_expired_leaf() {
    let cred = TestCredential::es256();
    let p = params(&attestation_dn(), IsCa::ExplicitNoCa, 2010, 2020);
    assert_eq!(
        err(verify(&packed_with_leaf(&cred, p))),
        att("packed", AE::CertificateNotValidAtTime { index: 0 })
    );
}

#[test]
fn chain_rejects_a_leaf_not_yet_valid() {
    let cred = TestCredential::es256();
    let r = packed_with_leaf(&cred, leaf_params());
    // 2019-01-01, before the leaf's notBefore of 2020-01-01.
    assert_eq!(
        err(verify_at(&r, UnixTime(1_546_300_800))),
        att("packed", AE::CertificateNotValidAtTime { index: 0 })
    );
}

#[test]
fn chain_rejects_an_expired_intermediate() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let inter = ca.issue_ca(ca_params("Latch Test Intermediate", 2010, 2020));
    let key = p256();
    let leaf = inter.issue(leaf_params(), &key);
    let r = packed_full(&cred, &key, vec![leaf, inter.der()]);
    assert_eq!(
        err(verify(&r)),
        att("packed", AE::CertificateNotValidAtTime { index: 1 })
    );
}

#[test]
fn chain_rejects_an_issuer_that_is_not_a_ca() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let not_ca = ca.issue_ca(params(
        &[(DnType::CommonName, "Latch Test Not A CA")],
        IsCa::ExplicitNoCa,
        2020,
        2040,
    ));
    let key = p256();
    let leaf = not_ca.issue(leaf_params(), &key);
    let r = packed_full(&cred, &key, vec![leaf, not_ca.der()]);
    assert_eq!(
        err(verify_rp(&rp_trusting(&ca), &r)),
        att("packed", AE::IssuerNotCa { index: 1 })
    );
}

/// An issuer with no basicConstraints extension at all is not a CA either (RFC 5280 §4.2.1.9:
/// CA certificates MUST carry it with cA = TRUE). `verify_chain` only rejects an issuer whose
/// extension says cA = FALSE, so this chain currently verifies as Trusted.
#[test]
fn chain_rejects_an_issuer_without_basic_constraints() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let no_bc = ca.issue_ca(params(
        &[(DnType::CommonName, "Latch Test No Basic Constraints")],
        IsCa::NoCa,
        2020,
        2040,
    ));
    let key = p256();
    let leaf = no_bc.issue(leaf_params(), &key);
    let r = packed_full(&cred, &key, vec![leaf, no_bc.der()]);
    assert_eq!(
        err(verify_rp(&rp_trusting(&ca), &r)),
        att("packed", AE::IssuerNotCa { index: 1 })
    );
}

#[test]
fn chain_rejects_a_leaf_not_signed_by_the_next_certificate() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let other = root("Latch Test Root");
    let key = p256();
    let leaf = ca.issue(leaf_params(), &key);
    let r = packed_full(&cred, &key, vec![leaf, other.der()]);
    assert_eq!(err(verify(&r)), att("packed", AE::ChainBroken { index: 0 }));
}

#[test]
fn chain_rejects_an_intermediate_not_signed_by_the_next_certificate() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let other = root("Latch Test Root");
    let inter = ca.issue_ca(ca_params("Latch Test Intermediate", 2020, 2040));
    let key = p256();
    let leaf = inter.issue(leaf_params(), &key);
    let r = packed_full(&cred, &key, vec![leaf, inter.der(), other.der()]);
    assert_eq!(err(verify(&r)), att("packed", AE::ChainBroken { index: 1 }));
}

#[test]
fn chain_rejects_a_path_to_a_root_that_is_not_an_anchor() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let anchor = root("Latch Test Root"); // same name, other key
    let key = p256();
    let leaf = ca.issue(leaf_params(), &key);
    let r = packed_full(&cred, &key, vec![leaf]);
    assert_eq!(
        err(verify_rp(&rp_trusting(&anchor), &r)),
        att("packed", AE::UntrustedRoot)
    );
}

#[test]
fn chain_rejects_a_self_signed_root_that_is_not_an_anchor() {
    let cred = TestCredential::es256();
    let ca = root("Latch Test Root");
    let anchor = root("Latch Other Root");
    let key = p256();
    let leaf = ca.issue(leaf_params(), &key);
    let r = packed_full(&cred, &key, vec![leaf, ca.der()]);
    assert_eq!(
        err(verify_rp(&rp_trusting(&anchor), &r)),
        att("packed", AE::UntrustedRoot)
    );
}

#[test]
fn chain_rejects_an_anchor_that_has_expired() {
    let cred = TestCredential::es256();
    let ca = root_valid("Latch Test Root", 2010, 2020);
    let key = p256();
    let leaf = ca.issue(leaf_params(), &key);
    let r = packed_full(&cred, &key, vec![leaf]);
    assert_eq!(
        err(verify_rp(&rp_trusting(&ca), &r)),
        att("packed", AE::UntrustedRoot)
    );
}

// ==== fido-u2f ===============================================================================

#[test]
fn u2f_verifies_as_basic_unverified() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let ca = root("Latch U2F Root");
    let leaf = ca.issue(leaf_params(), &att_key);
    let v = verify(&u2f(&cred, &cred_key, &att_key, vec![leaf.clone()])).unwrap();
    assert_eq!(v.fmt(), "fido-u2f");
    assert_eq!(v.attestation_type(), AttestationType::Basic);
    assert_eq!(v.attestation.trust, TrustStatus::Unverified);
    assert_eq!(v.attestation.trust_path, vec![leaf]);
}

#[test]
fn u2f_with_a_root_for_the_format_is_trusted() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let ca = root("Latch U2F Root");
    // U2F attestation certificates carry no packed-style subject: a bare CN is fine.
    let leaf = ca.issue(
        params(
            &[(DnType::CommonName, "U2F Device")],
            IsCa::NoCa,
            2020,
            2040,
        ),
        &att_key,
    );
    let mut rp = rp();
    rp.attestation
        .trust
        .add_root_for_format("fido-u2f", ca.der());
    let v = verify_rp(&rp, &u2f(&cred, &cred_key, &att_key, vec![leaf])).unwrap();
    assert_eq!(v.attestation.trust, TrustStatus::Trusted);
}

#[test]
fn u2f_rejects_a_missing_sig() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let leaf = self_signed(leaf_params(), &att_key);
    let mut r = u2f(&cred, &cred_key, &att_key, vec![leaf.clone()]);
    r.att_stmt = Some(map(vec![("x5c", x5c(vec![leaf]))]));
    assert_eq!(err(verify(&r)), malformed("fido-u2f", "sig is missing"));
}

#[test]
fn u2f_rejects_a_missing_x5c() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let mut r = u2f(&cred, &cred_key, &att_key, Vec::new());
    r.att_stmt = Some(map(vec![("sig", Value::Bytes(vec![0x30, 0x00]))]));
    assert_eq!(err(verify(&r)), malformed("fido-u2f", "x5c is missing"));
}

#[test]
fn u2f_rejects_an_empty_x5c() {
    // The empty array fails in the x5c reader, before U2fCertificateCount(0) could.
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let r = u2f(&cred, &cred_key, &att_key, Vec::new());
    assert_eq!(
        err(verify(&r)),
        malformed("fido-u2f", "x5c is not a non-empty array")
    );
}

#[test]
fn u2f_rejects_two_certificates() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let ca = root("Latch U2F Root");
    let leaf = ca.issue(leaf_params(), &att_key);
    let r = u2f(&cred, &cred_key, &att_key, vec![leaf, ca.der()]);
    assert_eq!(err(verify(&r)), att("fido-u2f", AE::U2fCertificateCount(2)));
}

#[test]
fn u2f_rejects_a_malformed_certificate() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let mut leaf = self_signed(leaf_params(), &att_key);
    leaf.push(0xff);
    let r = u2f(&cred, &cred_key, &att_key, vec![leaf]);
    assert_eq!(
        err(verify(&r)),
        att(
            "fido-u2f",
            AE::CertificateMalformed("1 bytes after the certificate".into())
        )
    );
}

#[test]
fn u2f_rejects_a_certificate_key_on_an_unknown_curve() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let leaf = patch(
        &self_signed(leaf_params(), &att_key),
        P256_OID,
        UNKNOWN_CURVE_OID,
    );
    let r = u2f(&cred, &cred_key, &att_key, vec![leaf]);
    assert_eq!(
        err(verify(&r)),
        att(
            "fido-u2f",
            AE::CertificateKeyUnsupported("1.2.840.10045.3.1.8".into())
        )
    );
}

#[test]
fn u2f_rejects_a_p384_attestation_certificate() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p384());
    let leaf = self_signed(leaf_params(), &att_key);
    let r = u2f(&cred, &cred_key, &att_key, vec![leaf]);
    assert_eq!(err(verify(&r)), att("fido-u2f", AE::U2fCertificateNotP256));
}

#[test]
fn u2f_rejects_an_eddsa_credential() {
    let cred = TestCredential::eddsa();
    let att_key = p256();
    let leaf = self_signed(leaf_params(), &att_key);
    let mut r = cred.register();
    r.fmt = "fido-u2f".into();
    let sig = sign_with(&att_key, b"irrelevant: the key check comes first");
    r.att_stmt = Some(map(vec![
        ("sig", Value::Bytes(sig)),
        ("x5c", x5c(vec![leaf])),
    ]));
    assert_eq!(err(verify(&r)), att("fido-u2f", AE::U2fKeyNotP256));
}

#[test]
fn u2f_rejects_a_p256_credential_whose_alg_is_not_es256() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let leaf = self_signed(leaf_params(), &att_key);
    let mut r = u2f(&cred, &cred_key, &att_key, vec![leaf]);
    let p = cred_key.public_key_raw();
    // ESP256 (-9): the same curve, but not the ES256 key U2F defines.
    r.auth_data.attested.as_mut().unwrap().cose_key = cose_ec2(-9, 1, &p[1..33], &p[33..65]);
    let state = RegistrationState {
        allowed_algs: vec![ES256, -9],
        ..registration_state()
    };
    assert_eq!(
        err(verify_registration(&rp(), &state, &r.response(), NOW)),
        att("fido-u2f", AE::U2fKeyNotP256)
    );
}

#[test]
fn u2f_rejects_a_bad_signature() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let leaf = self_signed(leaf_params(), &att_key);
    let mut r = u2f(&cred, &cred_key, &att_key, vec![leaf.clone()]);
    // A packed-style signature (authData || clientDataHash) is not what U2F signs.
    let sig = sign_with(&att_key, &r.signed_data());
    r.att_stmt = Some(map(vec![
        ("sig", Value::Bytes(sig)),
        ("x5c", x5c(vec![leaf])),
    ]));
    assert_eq!(err(verify(&r)), att("fido-u2f", AE::SignatureInvalid));
}

#[test]
fn u2f_rejects_an_expired_certificate() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let leaf = self_signed(
        params(&attestation_dn(), IsCa::ExplicitNoCa, 2010, 2020),
        &att_key,
    );
    let r = u2f(&cred, &cred_key, &att_key, vec![leaf]);
    assert_eq!(
        err(verify(&r)),
        att("fido-u2f", AE::CertificateNotValidAtTime { index: 0 })
    );
}

#[test]
fn u2f_rejects_a_certificate_not_from_the_formats_root() {
    let cred = TestCredential::es256();
    let (cred_key, att_key) = (p256(), p256());
    let ca = root("Latch U2F Root");
    let anchor = root("Latch Other Root");
    let leaf = ca.issue(leaf_params(), &att_key);
    let mut rp = rp();
    rp.attestation
        .trust
        .add_root_for_format("fido-u2f", anchor.der());
    let r = u2f(&cred, &cred_key, &att_key, vec![leaf]);
    assert_eq!(err(verify_rp(&rp, &r)), att("fido-u2f", AE::UntrustedRoot));
}

// ==== apple ==================================================================================

#[test]
fn apple_with_a_test_root_for_the_format_is_anonca_trusted() {
    let cred = TestCredential::es256();
    let cred_key = p256();
    let ca = root("Latch Apple Test Root");
    let inter = ca.issue_ca(ca_params("Latch Apple Test CA 1", 2020, 2040));
    let r = apple_full(&cred, &cred_key, &inter);
    let mut rp = rp();
    rp.attestation.trust.add_root_for_format("apple", ca.der());
    let v = verify_rp(&rp, &r).unwrap();
    assert_eq!(v.fmt(), "apple");
    assert_eq!(v.attestation_type(), AttestationType::AnonCa);
    assert_eq!(v.attestation.trust, TrustStatus::Trusted);
    assert_eq!(v.attestation.trust_path.len(), 2);
}

#[test]
fn apple_with_only_the_bundled_root_rejects_a_test_chain() {
    let cred = TestCredential::es256();
    let cred_key = p256();
    let ca = root("Latch Apple Test Root");
    let r = apple_full(&cred, &cred_key, &ca);
    assert_eq!(err(verify(&r)), att("apple", AE::UntrustedRoot));
}

#[test]
fn apple_without_any_anchor_is_unverified() {
    let cred = TestCredential::es256();
    let cred_key = p256();
    let ca = root("Latch Apple Test Root");
    let r = apple_full(&cred, &cred_key, &ca);
    let mut rp = rp();
    rp.attestation.trust = TrustStore::empty();
    let v = verify_rp(&rp, &r).unwrap();
    assert_eq!(v.attestation.trust, TrustStatus::Unverified);
}

#[test]
fn apple_rejects_a_missing_x5c() {
    let cred = TestCredential::es256();
    let cred_key = p256();
    let mut r = apple_reg(&cred, &cred_key);
    r.att_stmt = Some(Value::Map(Vec::new()));
    assert_eq!(err(verify(&r)), malformed("apple", "x5c is missing"));
}

#[test]
fn apple_rejects_a_malformed_certificate() {
    let cred = TestCredential::es256();
    let cred_key = p256();
    let ca = root("Latch Apple Test Root");
    let mut r = apple_reg(&cred, &cred_key);
    let nonce = sha256(&r.signed_data());
    let mut leaf = ca.issue(apple_leaf_params(Some(&nonce)), &cred_key);
    leaf.push(0x00);
    r.att_stmt = Some(map(vec![("x5c", x5c(vec![leaf]))]));
    assert_eq!(
        err(verify(&r)),
        att(
            "apple",
            AE::CertificateMalformed("1 bytes after the certificate".into())
        )
    );
}

#[test]
fn apple_rejects_a_certificate_without_the_nonce_extension() {
    let cred = TestCredential::es256();
    let cred_key = p256();
    let ca = root("Latch Apple Test Root");
    let mut r = apple_reg(&cred, &cred_key);
    let leaf = ca.issue(apple_leaf_params(None), &cred_key);
    r.att_stmt = Some(map(vec![("x5c", x5c(vec![leaf, ca.der()]))]));
    assert_eq!(err(verify(&r)), att("apple", AE::AppleNonceMissing));
}

#[test]
fn apple_rejects_a_malformed_nonce_extension() {
    let cred = TestCredential::es256();
    let cred_key = p256();
    let ca = root("Latch Apple Test Root");
    let mut r = apple_reg(&cred, &cred_key);
    let nonce = sha256(&r.signed_data());
    let mut p = apple_leaf_params(None);
    // A bare OCTET STRING instead of SEQUENCE { [1] OCTET STRING }.
    let mut content = vec![0x04, 0x20];
    content.extend_from_slice(&nonce);
    p.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 2, 840, 113_635, 100, 8, 2],
        content,
    )];
    let leaf = ca.issue(p, &cred_key);
    r.att_stmt = Some(map(vec![("x5c", x5c(vec![leaf, ca.der()]))]));
    assert_eq!(err(verify(&r)), att("apple", AE::AppleNonceMissing));
}

#[test]
fn apple_rejects_a_nonce_for_other_data() {
    let cred = TestCredential::es256();
    let cred_key = p256();
    let ca = root("Latch Apple Test Root");
    let mut r = apple_reg(&cred, &cred_key);
    let leaf = ca.issue(
        apple_leaf_params(Some(&sha256(b"another ceremony"))),
        &cred_key,
    );
    r.att_stmt = Some(map(vec![("x5c", x5c(vec![leaf, ca.der()]))]));
    assert_eq!(err(verify(&r)), att("apple", AE::AppleNonceMismatch));
}

#[test]
fn apple_rejects_a_certificate_for_another_key() {
    let cred = TestCredential::es256();
    let (cred_key, cert_key) = (p256(), p256());
    let ca = root("Latch Apple Test Root");
    let mut r = apple_reg(&cred, &cred_key);
    let nonce = sha256(&r.signed_data());
    let leaf = ca.issue(apple_leaf_params(Some(&nonce)), &cert_key);
    r.att_stmt = Some(map(vec![("x5c", x5c(vec![leaf, ca.der()]))]));
    assert_eq!(err(verify(&r)), att("apple", AE::CredentialKeyMismatch));
}

#[test]
fn apple_rejects_an_expired_credential_certificate() {
    let cred = TestCredential::es256();
    let cred_key = p256();
    let ca = root("Latch Apple Test Root");
    let mut r = apple_reg(&cred, &cred_key);
    let nonce = sha256(&r.signed_data());
    let mut p = apple_leaf_params(Some(&nonce));
    p.not_before = rcgen::date_time_ymd(2010, 1, 1);
    p.not_after = rcgen::date_time_ymd(2020, 1, 1);
    let leaf = ca.issue(p, &cred_key);
    r.att_stmt = Some(map(vec![("x5c", x5c(vec![leaf, ca.der()]))]));
    let mut rp = rp();
    rp.attestation.trust.add_root_for_format("apple", ca.der());
    assert_eq!(
        err(verify_rp(&rp, &r)),
        att("apple", AE::CertificateNotValidAtTime { index: 0 })
    );
}

// ==== compound ===============================================================================

/// The packed self-attestation statement of `r` (as the builder would make it).
fn packed_self_stmt(r: &Registration<'_>) -> Value {
    let mut p = cred_reg_clone_fmt(r, "packed");
    p.att_stmt = None;
    p.att_stmt()
}

fn cred_reg_clone_fmt<'a>(r: &Registration<'a>, fmt: &str) -> Registration<'a> {
    let mut c = r.cred.register();
    c.fmt = fmt.into();
    c.auth_data = r.auth_data.clone();
    c.client_data = r.client_data.clone();
    c
}

fn compound_reg(cred: &TestCredential) -> Registration<'_> {
    let mut r = cred.register();
    r.fmt = "compound".into();
    r
}

#[test]
fn compound_of_self_and_none_verifies() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    r.att_stmt = Some(compound(vec![
        ("packed", packed_self_stmt(&r)),
        ("none", Value::Map(Vec::new())),
    ]));
    let v = verify(&r).unwrap();
    assert_eq!(v.fmt(), "compound");
    assert_eq!(v.attestation_type(), AttestationType::Compound);
    assert_eq!(v.attestation.trust, TrustStatus::NotApplicable);
    let subs: Vec<_> = v
        .attestation
        .sub
        .iter()
        .map(|s| (s.fmt, s.attestation_type))
        .collect();
    assert_eq!(
        subs,
        vec![
            ("packed", AttestationType::SelfAttestation),
            ("none", AttestationType::None)
        ]
    );
}

#[test]
fn compound_of_trusted_packed_and_apple_is_trusted() {
    let cred = TestCredential::es256();
    let cred_key = p256();
    let ca = root("Latch Test Root");
    // The apple statement fixes the credential key; the packed one signs the same data.
    let apple = apple_full(&cred, &cred_key, &ca);
    let apple_stmt = apple.att_stmt();
    let att_key = p256();
    let leaf = ca.issue(leaf_params(), &att_key);
    let sig = sign_with(&att_key, &apple.signed_data());
    let mut r = cred_reg_clone_fmt(&apple, "compound");
    r.att_stmt = Some(compound(vec![
        (
            "packed",
            map(vec![
                ("alg", int(ES256)),
                ("sig", Value::Bytes(sig)),
                ("x5c", x5c(vec![leaf])),
            ]),
        ),
        ("apple", apple_stmt),
    ]));
    let v = verify_rp(&rp_trusting(&ca), &r).unwrap();
    assert_eq!(v.attestation_type(), AttestationType::Compound);
    assert_eq!(v.attestation.trust, TrustStatus::Trusted);
    assert_eq!(v.attestation.sub.len(), 2);
}

#[test]
fn compound_rejects_a_statement_that_is_not_an_array() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    r.att_stmt = Some(map(vec![("fmt", text("none"))]));
    assert_eq!(
        err(verify(&r)),
        malformed("compound", "compound attStmt is not an array")
    );
}

#[test]
fn compound_rejects_a_single_statement() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    r.att_stmt = Some(compound(vec![("packed", packed_self_stmt(&r))]));
    assert_eq!(err(verify(&r)), att("compound", AE::CompoundCount(1)));
}

#[test]
fn compound_rejects_an_empty_array() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    r.att_stmt = Some(Value::Array(Vec::new()));
    assert_eq!(err(verify(&r)), att("compound", AE::CompoundCount(0)));
}

#[test]
fn compound_rejects_a_nested_compound() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    let inner = compound(vec![
        ("packed", packed_self_stmt(&r)),
        ("none", Value::Map(Vec::new())),
    ]);
    r.att_stmt = Some(compound(vec![
        ("packed", packed_self_stmt(&r)),
        ("compound", inner),
    ]));
    assert_eq!(err(verify(&r)), att("compound", AE::CompoundNested(1)));
}

#[test]
fn compound_wraps_a_failing_sub_statement() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    let bad = map(vec![
        ("alg", int(ES256)),
        ("sig", Value::Bytes(cred.key.sign(b"not the signed data"))),
    ]);
    r.att_stmt = Some(compound(vec![
        ("packed", packed_self_stmt(&r)),
        ("packed", bad),
    ]));
    assert_eq!(
        err(verify(&r)),
        att(
            "compound",
            AE::CompoundSubStatement {
                index: 1,
                fmt: "packed".into(),
                source: Box::new(AE::SignatureInvalid),
            }
        )
    );
}

#[test]
fn compound_wraps_a_failing_none_sub_statement() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    r.att_stmt = Some(compound(vec![
        ("none", map(vec![("x", int(1))])),
        ("packed", packed_self_stmt(&r)),
    ]));
    assert_eq!(
        err(verify(&r)),
        att(
            "compound",
            AE::CompoundSubStatement {
                index: 0,
                fmt: "none".into(),
                source: Box::new(AE::NoneStatementNotEmpty),
            }
        )
    );
}

#[test]
fn compound_wraps_an_unknown_sub_statement_format() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    r.att_stmt = Some(compound(vec![
        ("packed", packed_self_stmt(&r)),
        ("bogus", Value::Map(Vec::new())),
    ]));
    assert_eq!(
        err(verify(&r)),
        att(
            "compound",
            AE::CompoundSubStatement {
                index: 1,
                fmt: "bogus".into(),
                source: Box::new(AE::StatementMalformed(
                    "unknown sub-statement format \"bogus\"".into()
                )),
            }
        )
    );
}

#[test]
fn compound_rejects_a_sub_statement_without_fmt() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    r.att_stmt = Some(Value::Array(vec![
        map(vec![("attStmt", Value::Map(Vec::new()))]),
        map(vec![
            ("fmt", text("packed")),
            ("attStmt", packed_self_stmt(&r)),
        ]),
    ]));
    assert_eq!(
        err(verify(&r)),
        malformed("compound", "sub-statement 0 has no fmt")
    );
}

#[test]
fn compound_rejects_a_sub_statement_without_att_stmt() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    r.att_stmt = Some(Value::Array(vec![
        map(vec![
            ("fmt", text("packed")),
            ("attStmt", packed_self_stmt(&r)),
        ]),
        map(vec![("fmt", text("none"))]),
    ]));
    assert_eq!(
        err(verify(&r)),
        malformed("compound", "sub-statement 1 has no attStmt")
    );
}

#[test]
fn compound_rejects_a_sub_statement_that_is_not_a_map() {
    let cred = TestCredential::es256();
    let mut r = compound_reg(&cred);
    r.att_stmt = Some(Value::Array(vec![
        text("none"),
        map(vec![
            ("fmt", text("packed")),
            ("attStmt", packed_self_stmt(&r)),
        ]),
    ]));
    assert_eq!(
        err(verify(&r)),
        malformed("compound", "attStmt is not a map")
    );
}
