//! `tpm` attestation (§8.3): an AIK certificate (AttCA) vouches for a TPM-resident credential key.
//!
//! The statement carries the key's `pubArea` (TPMT_PUBLIC), a `certInfo` (TPMS_ATTEST produced by
//! TPM2_Certify) and the AIK's signature over `certInfo`. Checks run in the order of the
//! verification procedure of §8.3, each with its own error variant:
//!
//! 1. statement syntax: `ver` is "2.0", no ECDAA, `x5c`, `alg` (with a known hash), `sig`,
//!    `certInfo`, `pubArea`;
//! 2. the key in `pubArea` (`parameters` and `unique`) is the credential public key;
//! 3. `attToBeSigned` = authenticatorData || clientDataHash;
//! 4. the AIK certificate meets §8.3.1 (version 3, empty subject, TCG SAN with a registered
//!    manufacturer, EKU tcg-kp-AIKCertificate, not a CA) and its AAGUID extension, if any,
//!    matches; `sig` verifies over `certInfo` with the AIK key and `alg`;
//! 5. `certInfo`: magic, type, `extraData` = hash_alg(attToBeSigned), and the certified name
//!    is the Name of `pubArea`;
//! 6. the x5c path is validated at the verification time (against anchors when configured).
//!
//! All TPM structures are big-endian and parsed with bounds checks; sized buffers (TPM2B_*) are a
//! u16 length followed by that many bytes.

use aws_lc_rs::digest;
use ciborium::value::Value;
use thiserror::Error;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_SUBJECT_ALT_NAME};

use super::packed::check_aaguid_extension;
use super::{
    check_path, stmt_bytes, stmt_get, stmt_int, stmt_x5c, AttestationError, AttestationInput,
    AttestationOutcome, AttestationType,
};
use crate::cert;
use crate::cose::{self, alg, Curve, KeyMaterial};

// ---- TPM 2.0 constants (TPM 2.0 Part 2) ------------------------------------------------------

/// TPM_GENERATED_VALUE: every TPMS_ATTEST the TPM signs starts with it.
const TPM_GENERATED_VALUE: u32 = 0xff54_4347;
/// TPM_ST_ATTEST_CERTIFY: the structure tag of TPM2_Certify output.
const TPM_ST_ATTEST_CERTIFY: u16 = 0x8017;

/// TPM_ALG_ID values used here.
const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_SHA1: u16 = 0x0004;
const TPM_ALG_SHA256: u16 = 0x000b;
const TPM_ALG_SHA384: u16 = 0x000c;
const TPM_ALG_SHA512: u16 = 0x000d;
const TPM_ALG_NULL: u16 = 0x0010;
const TPM_ALG_RSAES: u16 = 0x0015;
const TPM_ALG_ECDAA: u16 = 0x001a;
const TPM_ALG_ECC: u16 = 0x0023;

/// TPM_ECC_CURVE values for the NIST curves.
const TPM_ECC_NIST_P256: u16 = 0x0003;
const TPM_ECC_NIST_P384: u16 = 0x0004;
const TPM_ECC_NIST_P521: u16 = 0x0005;

/// TPMS_CLOCK_INFO: clock (u64), resetCount (u32), restartCount (u32), safe (u8).
const CLOCK_INFO_LEN: usize = 17;
/// firmwareVersion (u64).
const FIRMWARE_VERSION_LEN: usize = 8;

// ---- AIK certificate OIDs (TCG EK Credential Profile, WebAuthn §8.3.1) -------------------------

const OID_TCPA_TPM_MANUFACTURER: &str = "2.23.133.2.1";
const OID_TCPA_TPM_MODEL: &str = "2.23.133.2.2";
const OID_TCPA_TPM_VERSION: &str = "2.23.133.2.3";
const OID_TCG_KP_AIK_CERTIFICATE: &str = "2.23.133.8.3";

/// The TCG TPM Vendor ID Registry: (vendor id, vendor). The id is the four ASCII bytes of the
/// vendor's capability string, written in the SAN as `id:` and eight hex digits.
pub const TCG_VENDOR_IDS: &[(u32, &str)] = &[
    (0x414D_4400, "AMD"),
    (0x414E_5400, "Ant Group"),
    (0x4154_4D4C, "Atmel"),
    (0x4252_434D, "Broadcom"),
    (0x4353_434F, "Cisco"),
    (0x464C_5953, "Flyslice Technologies"),
    (0x524F_4343, "Fuzhou Rockchip"),
    (0x474F_4F47, "Google"),
    (0x4850_4900, "HPI"),
    (0x4850_4500, "HPE"),
    (0x4849_5349, "Huawei (HiSilicon)"),
    (0x4942_4D00, "IBM"),
    (0x4946_5800, "Infineon"),
    (0x494E_5443, "Intel"),
    (0x4C45_4E00, "Lenovo"),
    (0x4D53_4654, "Microsoft"),
    (0x4E53_4D20, "National Semiconductor"),
    (0x4E54_5A00, "Nationz"),
    (0x4E53_4700, "NSING"),
    (0x4E54_4300, "Nuvoton Technology"),
    (0x5143_4F4D, "Qualcomm"),
    (0x534D_534E, "Samsung"),
    (0x5345_4345, "SecEdge"),
    (0x534E_5300, "Sinosun"),
    (0x534D_5343, "SMSC"),
    (0x5354_4D20, "STMicroelectronics"),
    (0x5458_4E00, "Texas Instruments"),
    (0x5745_4300, "Winbond"),
    (0x5345_414C, "Wisekey"),
];

/// A failed tpm check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TpmError {
    // ---- statement syntax ----
    #[error("ver must be \"2.0\", got {0}")]
    VersionUnsupported(String),
    #[error(
        "ECDAA (ecdaaKeyId) is not part of WebAuthn Level 3; an x5c AIK certificate is required"
    )]
    EcdaaNotSupported,
    #[error("x5c (the AIK certificate and its chain) is missing")]
    X5cMissing,
    #[error("statement alg {0} has no hash algorithm usable for TPM attestation")]
    AlgorithmUnsupported(i64),

    // ---- pubArea (TPMT_PUBLIC) ----
    #[error("pubArea is not a valid TPMT_PUBLIC: {0}")]
    PubAreaMalformed(String),
    #[error("pubArea type {0:#06x} is neither TPM_ALG_RSA nor TPM_ALG_ECC")]
    PubAreaTypeUnsupported(u16),
    #[error("pubArea nameAlg {0:#06x} is not SHA-1, SHA-256, SHA-384 or SHA-512")]
    NameAlgUnsupported(u16),
    #[error("pubArea curveID {0:#06x} is not NIST P-256, P-384 or P-521")]
    CurveUnsupported(u16),
    #[error("pubArea holds an {pub_area} key but the credential public key is {credential}")]
    PubAreaKeyTypeMismatch {
        pub_area: &'static str,
        credential: &'static str,
    },
    #[error("pubArea curve differs from the credential public key's curve")]
    PubAreaCurveMismatch,
    #[error("pubArea RSA modulus (unique) differs from the credential public key's n")]
    PubAreaModulusMismatch,
    #[error("pubArea RSA exponent differs from the credential public key's e")]
    PubAreaExponentMismatch,
    #[error("pubArea ECC point (unique) differs from the credential public key's x and y")]
    PubAreaPointMismatch,

    // ---- AIK certificate (§8.3.1) ----
    #[error("the AIK certificate must be X.509 version 3, got version {0}")]
    AikCertVersion(u32),
    #[error("the AIK certificate subject must be empty")]
    AikCertSubjectNotEmpty,
    #[error("the AIK certificate has no subjectAlternativeName extension")]
    AikCertSanMissing,
    #[error("the AIK certificate's {0} extension is malformed or duplicated")]
    AikCertExtensionMalformed(&'static str),
    #[error("the AIK certificate's subjectAlternativeName lacks {0}")]
    AikCertSanAttributeMissing(&'static str),
    #[error("the AIK certificate's subjectAlternativeName holds {0} more than once")]
    AikCertSanAttributeDuplicate(&'static str),
    #[error("TPM manufacturer {0:?} is not in the TCG vendor ID registry nor accepted by policy")]
    AikCertManufacturerUnknown(String),
    #[error("the AIK certificate has no extendedKeyUsage extension")]
    AikCertEkuMissing,
    #[error("the AIK certificate's extendedKeyUsage lacks tcg-kp-AIKCertificate (2.23.133.8.3)")]
    AikCertEkuNotAik,
    #[error("the AIK certificate has no basicConstraints extension")]
    AikCertBasicConstraintsMissing,
    #[error("the AIK certificate must not be a CA (basicConstraints CA is true)")]
    AikCertIsCa,

    // ---- signature over certInfo ----
    #[error("statement alg {0} does not fit the AIK certificate's key type")]
    AikKeyAlgorithmMismatch(i64),
    #[error("statement alg RS1 (SHA-1) is refused unless the policy allows SHA-1")]
    Sha1NotAllowed,
    #[error("sig does not verify over certInfo with the AIK certificate's key")]
    SignatureInvalid,

    // ---- certInfo (TPMS_ATTEST) ----
    #[error("certInfo is not a valid TPMS_ATTEST: {0}")]
    CertInfoMalformed(String),
    #[error("certInfo magic is {0:#010x}, expected TPM_GENERATED_VALUE 0xff544347")]
    CertInfoMagic(u32),
    #[error("certInfo type is {0:#06x}, expected TPM_ST_ATTEST_CERTIFY 0x8017")]
    CertInfoType(u16),
    #[error("certInfo extraData is not the hash of authenticatorData || clientDataHash under alg")]
    ExtraDataMismatch,
    #[error("certInfo attested name is not the Name (nameAlg || hash) of pubArea")]
    AttestedNameMismatch,
}

impl TpmError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        use TpmError as E;
        match self {
            E::VersionUnsupported(_) => "tpm_version_unsupported",
            E::EcdaaNotSupported => "tpm_ecdaa_not_supported",
            E::X5cMissing => "tpm_x5c_missing",
            E::AlgorithmUnsupported(_) => "tpm_alg_unsupported",
            E::PubAreaMalformed(_) => "tpm_pub_area_malformed",
            E::PubAreaTypeUnsupported(_) => "tpm_pub_area_type_unsupported",
            E::NameAlgUnsupported(_) => "tpm_name_alg_unsupported",
            E::CurveUnsupported(_) => "tpm_curve_unsupported",
            E::PubAreaKeyTypeMismatch { .. } => "tpm_pub_area_key_type_mismatch",
            E::PubAreaCurveMismatch => "tpm_pub_area_curve_mismatch",
            E::PubAreaModulusMismatch => "tpm_pub_area_modulus_mismatch",
            E::PubAreaExponentMismatch => "tpm_pub_area_exponent_mismatch",
            E::PubAreaPointMismatch => "tpm_pub_area_point_mismatch",
            E::AikCertVersion(_) => "tpm_aik_cert_version",
            E::AikCertSubjectNotEmpty => "tpm_aik_cert_subject_not_empty",
            E::AikCertSanMissing => "tpm_aik_cert_san_missing",
            E::AikCertExtensionMalformed(_) => "tpm_aik_cert_extension_malformed",
            E::AikCertSanAttributeMissing(_) => "tpm_aik_cert_san_attribute_missing",
            E::AikCertSanAttributeDuplicate(_) => "tpm_aik_cert_san_attribute_duplicate",
            E::AikCertManufacturerUnknown(_) => "tpm_aik_cert_manufacturer_unknown",
            E::AikCertEkuMissing => "tpm_aik_cert_eku_missing",
            E::AikCertEkuNotAik => "tpm_aik_cert_eku_not_aik",
            E::AikCertBasicConstraintsMissing => "tpm_aik_cert_basic_constraints_missing",
            E::AikCertIsCa => "tpm_aik_cert_is_ca",
            E::AikKeyAlgorithmMismatch(_) => "tpm_aik_key_alg_mismatch",
            E::Sha1NotAllowed => "tpm_sha1_not_allowed",
            E::SignatureInvalid => "tpm_signature_invalid",
            E::CertInfoMalformed(_) => "tpm_cert_info_malformed",
            E::CertInfoMagic(_) => "tpm_cert_info_magic",
            E::CertInfoType(_) => "tpm_cert_info_type",
            E::ExtraDataMismatch => "tpm_extra_data_mismatch",
            E::AttestedNameMismatch => "tpm_attested_name_mismatch",
        }
    }
}

/// §8.3 verification procedure.
pub fn verify(input: &AttestationInput<'_>) -> Result<AttestationOutcome, AttestationError> {
    // attStmt is CBOR conforming to tpmStmtFormat.
    let stmt = Statement::parse(input.att_stmt)?;

    // The public key in pubArea's parameters and unique is the credential public key.
    let pub_area = PubArea::parse(stmt.pub_area)?;
    pub_area.check_matches(&input.credential.public_key.key)?;

    // attToBeSigned = authenticatorData || clientDataHash.
    let att_to_be_signed = input.signed_data();

    // Integrity of certInfo: the AIK certificate's requirements, its AAGUID, then sig.
    let chain = cert::parse_all(&stmt.x5c)?;
    let aik = chain.first().ok_or(TpmError::X5cMissing)?;
    check_aik_certificate(aik, &input.policy.tpm_extra_vendors)?;
    check_aaguid_extension(aik, &input.credential.aaguid)?;
    let aik_key = cert::spki_key(aik.public_key())?;
    cose::verify_with(
        &aik_key,
        stmt.alg,
        stmt.cert_info,
        stmt.sig,
        input.policy.allow_sha1,
    )
    .map_err(|e| signature_error(e, stmt.alg))?;

    // Validity of certInfo: magic, type, extraData and the certified Name.
    let cert_info = CertInfo::parse(stmt.cert_info)?;
    if cert_info.extra_data != digest::digest(stmt.hash, &att_to_be_signed).as_ref() {
        return Err(TpmError::ExtraDataMismatch.into());
    }
    if cert_info.name != pub_area.name(stmt.pub_area).as_slice() {
        return Err(TpmError::AttestedNameMismatch.into());
    }

    // The trust path is x5c; validate it at the verification time.
    let trust = check_path(input, "tpm", &chain)?;
    Ok(AttestationOutcome {
        fmt: "tpm",
        attestation_type: AttestationType::AttCa,
        trust_path: stmt.x5c,
        trust,
        sub: Vec::new(),
    })
}

/// Maps a crypto-layer error of the certInfo signature check to its tpm error.
fn signature_error(e: crate::Error, alg: i64) -> TpmError {
    match e {
        crate::Error::BadSignature => TpmError::SignatureInvalid,
        crate::Error::Sha1NotAllowed => TpmError::Sha1NotAllowed,
        crate::Error::KeyAlgorithmMismatch { .. } => TpmError::AikKeyAlgorithmMismatch(alg),
        _ => TpmError::AlgorithmUnsupported(alg),
    }
}

/// The hash algorithm "employed in" a COSE signature algorithm (what extraData must use).
fn alg_hash(alg: i64) -> Option<&'static digest::Algorithm> {
    match alg {
        alg::RS1 => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        alg::RS256 | alg::ES256 | alg::PS256 | alg::ESP256 => Some(&digest::SHA256),
        alg::RS384 | alg::ES384 | alg::PS384 | alg::ESP384 => Some(&digest::SHA384),
        alg::RS512 | alg::ES512 | alg::PS512 | alg::ESP512 => Some(&digest::SHA512),
        _ => None,
    }
}

/// A TPM_ALG_ID hash algorithm (pubArea nameAlg).
fn name_alg_hash(name_alg: u16) -> Option<&'static digest::Algorithm> {
    match name_alg {
        TPM_ALG_SHA1 => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        TPM_ALG_SHA256 => Some(&digest::SHA256),
        TPM_ALG_SHA384 => Some(&digest::SHA384),
        TPM_ALG_SHA512 => Some(&digest::SHA512),
        _ => None,
    }
}

// ---- the statement ---------------------------------------------------------------------------

/// The members of a tpmStmtFormat map.
struct Statement<'a> {
    alg: i64,
    hash: &'static digest::Algorithm,
    x5c: Vec<Vec<u8>>,
    sig: &'a [u8],
    cert_info: &'a [u8],
    pub_area: &'a [u8],
}

impl<'a> Statement<'a> {
    fn parse(stmt: &'a Value) -> Result<Statement<'a>, AttestationError> {
        match stmt_get(stmt, "ver")? {
            Some(Value::Text(t)) if t == "2.0" => {}
            Some(Value::Text(t)) => {
                return Err(TpmError::VersionUnsupported(format!("{t:?}")).into())
            }
            Some(_) => return Err(TpmError::VersionUnsupported("a non-text value".into()).into()),
            None => {
                return Err(TpmError::VersionUnsupported("nothing (ver is missing)".into()).into())
            }
        }
        if stmt_get(stmt, "ecdaaKeyId")?.is_some() {
            return Err(TpmError::EcdaaNotSupported.into());
        }
        let x5c = stmt_x5c(stmt)?.ok_or(TpmError::X5cMissing)?;
        let alg = stmt_int(stmt, "alg")?;
        let hash = alg_hash(alg).ok_or(TpmError::AlgorithmUnsupported(alg))?;
        Ok(Statement {
            alg,
            hash,
            x5c,
            sig: stmt_bytes(stmt, "sig")?,
            cert_info: stmt_bytes(stmt, "certInfo")?,
            pub_area: stmt_bytes(stmt, "pubArea")?,
        })
    }
}

// ---- a bounds-checked big-endian reader ------------------------------------------------------

struct Reader<'a> {
    rest: &'a [u8],
    malformed: fn(String) -> TpmError,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], malformed: fn(String) -> TpmError) -> Self {
        Reader {
            rest: bytes,
            malformed,
        }
    }

    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], TpmError> {
        let Some((head, rest)) = self.rest.split_at_checked(n) else {
            return Err((self.malformed)(format!(
                "truncated in {field}: {n} bytes needed, {} left",
                self.rest.len()
            )));
        };
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N], TpmError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u16(&mut self, field: &str) -> Result<u16, TpmError> {
        self.array(field).map(u16::from_be_bytes)
    }

    fn u32(&mut self, field: &str) -> Result<u32, TpmError> {
        self.array(field).map(u32::from_be_bytes)
    }

    /// A TPM2B_*: u16 size, then that many bytes.
    fn sized(&mut self, field: &str) -> Result<&'a [u8], TpmError> {
        let len = self.u16(field)?;
        self.take(usize::from(len), field)
    }

    fn finish(&self) -> Result<(), TpmError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err((self.malformed)(format!(
                "{} trailing bytes",
                self.rest.len()
            )))
        }
    }
}

// ---- pubArea (TPMT_PUBLIC, TPM 2.0 Part 2 §12.2.4) -------------------------------------------

/// The key a TPMT_PUBLIC describes.
enum PublicKey<'a> {
    Rsa {
        exponent: u32,
        modulus: &'a [u8],
    },
    Ecc {
        curve: Curve,
        x: &'a [u8],
        y: &'a [u8],
    },
}

struct PubArea<'a> {
    name_alg: &'static digest::Algorithm,
    name_alg_id: u16,
    key: PublicKey<'a>,
}

impl<'a> PubArea<'a> {
    fn parse(bytes: &'a [u8]) -> Result<PubArea<'a>, TpmError> {
        let mut r = Reader::new(bytes, TpmError::PubAreaMalformed);
        let ty = r.u16("type")?;
        if ty != TPM_ALG_RSA && ty != TPM_ALG_ECC {
            return Err(TpmError::PubAreaTypeUnsupported(ty));
        }
        let name_alg_id = r.u16("nameAlg")?;
        let name_alg =
            name_alg_hash(name_alg_id).ok_or(TpmError::NameAlgUnsupported(name_alg_id))?;
        let _object_attributes = r.u32("objectAttributes")?;
        let _auth_policy = r.sized("authPolicy")?;
        // parameters: TPMS_RSA_PARMS or TPMS_ECC_PARMS; both start with the symmetric
        // definition and the asymmetric scheme.
        skip_sym_def_object(&mut r)?;
        skip_scheme(&mut r, "scheme")?;
        let key = if ty == TPM_ALG_RSA {
            let _key_bits = r.u16("keyBits")?;
            let exponent = r.u32("exponent")?;
            // unique: TPM2B_PUBLIC_KEY_RSA.
            let modulus = r.sized("unique (RSA modulus)")?;
            PublicKey::Rsa { exponent, modulus }
        } else {
            let curve_id = r.u16("curveID")?;
            let curve = match curve_id {
                TPM_ECC_NIST_P256 => Curve::P256,
                TPM_ECC_NIST_P384 => Curve::P384,
                TPM_ECC_NIST_P521 => Curve::P521,
                other => return Err(TpmError::CurveUnsupported(other)),
            };
            skip_scheme(&mut r, "kdf")?;
            // unique: TPMS_ECC_POINT { x: TPM2B_ECC_PARAMETER, y: TPM2B_ECC_PARAMETER }.
            let x = r.sized("unique.x")?;
            let y = r.sized("unique.y")?;
            PublicKey::Ecc { curve, x, y }
        };
        r.finish()?;
        Ok(PubArea {
            name_alg,
            name_alg_id,
            key,
        })
    }

    /// Is this the credential public key from authenticator data?
    fn check_matches(&self, credential: &KeyMaterial) -> Result<(), TpmError> {
        match (&self.key, credential) {
            (PublicKey::Rsa { exponent, modulus }, KeyMaterial::Rsa { n, e }) => {
                if strip_leading_zeros(modulus) != n.as_slice() {
                    return Err(TpmError::PubAreaModulusMismatch);
                }
                // An exponent of zero stands for the default, 2^16 + 1.
                let exponent = if *exponent == 0 { 65_537 } else { *exponent };
                if strip_leading_zeros(&exponent.to_be_bytes()) != e.as_slice() {
                    return Err(TpmError::PubAreaExponentMismatch);
                }
                Ok(())
            }
            (
                PublicKey::Ecc { curve, x, y },
                KeyMaterial::Ec {
                    curve: cred_curve,
                    point,
                },
            ) => {
                if curve != cred_curve {
                    return Err(TpmError::PubAreaCurveMismatch);
                }
                let len = match curve {
                    Curve::P256 => 32,
                    Curve::P384 => 48,
                    _ => 66,
                };
                let (Some(x), Some(y)) = (left_pad(x, len), left_pad(y, len)) else {
                    return Err(TpmError::PubAreaPointMismatch);
                };
                let mut expected = Vec::with_capacity(1 + 2 * len);
                expected.push(0x04);
                expected.extend_from_slice(&x);
                expected.extend_from_slice(&y);
                if expected != *point {
                    return Err(TpmError::PubAreaPointMismatch);
                }
                Ok(())
            }
            (key, credential) => Err(TpmError::PubAreaKeyTypeMismatch {
                pub_area: match key {
                    PublicKey::Rsa { .. } => "RSA",
                    PublicKey::Ecc { .. } => "ECC",
                },
                credential: match credential {
                    KeyMaterial::Rsa { .. } => "RSA",
                    KeyMaterial::Ec { .. } => "EC2",
                    KeyMaterial::Ed25519(_) => "Ed25519",
                    KeyMaterial::MlDsa(_) => "ML-DSA",
                },
            }),
        }
    }

    /// The object's Name (TPM 2.0 Part 1 §16): nameAlg || H_nameAlg(TPMT_PUBLIC).
    fn name(&self, bytes: &[u8]) -> Vec<u8> {
        let mut name = self.name_alg_id.to_be_bytes().to_vec();
        name.extend_from_slice(digest::digest(self.name_alg, bytes).as_ref());
        name
    }
}

/// TPMT_SYM_DEF_OBJECT: algorithm, then keyBits and mode unless the algorithm is TPM_ALG_NULL.
fn skip_sym_def_object(r: &mut Reader<'_>) -> Result<(), TpmError> {
    if r.u16("symmetric.algorithm")? != TPM_ALG_NULL {
        r.take(4, "symmetric.keyBits/mode")?;
    }
    Ok(())
}

/// TPMT_RSA_SCHEME, TPMT_ECC_SCHEME or TPMT_KDF_SCHEME: the scheme, then its details — none
/// for TPM_ALG_NULL and RSAES, hashAlg and count for ECDAA, a hashAlg for every other scheme.
fn skip_scheme(r: &mut Reader<'_>, field: &str) -> Result<(), TpmError> {
    match r.u16(field)? {
        TPM_ALG_NULL | TPM_ALG_RSAES => {}
        TPM_ALG_ECDAA => {
            r.take(4, field)?;
        }
        _ => {
            r.take(2, field)?;
        }
    }
    Ok(())
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default()
}

/// `b` left-padded with zeros to `len` bytes; `None` if its significant bytes are longer.
fn left_pad(b: &[u8], len: usize) -> Option<Vec<u8>> {
    let b = strip_leading_zeros(b);
    let pad = len.checked_sub(b.len())?;
    let mut out = vec![0u8; pad];
    out.extend_from_slice(b);
    Some(out)
}

// ---- certInfo (TPMS_ATTEST, TPM 2.0 Part 2 §10.12.12) ----------------------------------------

struct CertInfo<'a> {
    extra_data: &'a [u8],
    /// attested.certify.name (TPMS_CERTIFY_INFO).
    name: &'a [u8],
}

impl<'a> CertInfo<'a> {
    /// Parses certInfo, checking magic and type as they are read.
    fn parse(bytes: &'a [u8]) -> Result<CertInfo<'a>, TpmError> {
        let mut r = Reader::new(bytes, TpmError::CertInfoMalformed);
        let magic = r.u32("magic")?;
        if magic != TPM_GENERATED_VALUE {
            return Err(TpmError::CertInfoMagic(magic));
        }
        let ty = r.u16("type")?;
        if ty != TPM_ST_ATTEST_CERTIFY {
            return Err(TpmError::CertInfoType(ty));
        }
        // qualifiedSigner, clockInfo and firmwareVersion are not used (they may be obfuscated).
        let _qualified_signer = r.sized("qualifiedSigner")?;
        let extra_data = r.sized("extraData")?;
        r.take(CLOCK_INFO_LEN, "clockInfo")?;
        r.take(FIRMWARE_VERSION_LEN, "firmwareVersion")?;
        let name = r.sized("attested.name")?;
        let _qualified_name = r.sized("attested.qualifiedName")?;
        r.finish()?;
        Ok(CertInfo { extra_data, name })
    }
}

// ---- the AIK certificate (§8.3.1) ------------------------------------------------------------

/// Version 3, empty subject, TCG SAN, EKU tcg-kp-AIKCertificate, basicConstraints CA false.
fn check_aik_certificate(aik: &X509Certificate<'_>, extra_vendors: &[u32]) -> Result<(), TpmError> {
    if aik.version().0 != 2 {
        return Err(TpmError::AikCertVersion(aik.version().0.saturating_add(1)));
    }
    if aik.subject().iter().next().is_some() {
        return Err(TpmError::AikCertSubjectNotEmpty);
    }
    check_san(aik, extra_vendors)?;
    check_eku(aik)?;
    check_basic_constraints(aik)
}

/// The SAN (critical or not) must name the TPM: manufacturer, model and version, as attributes
/// of a directoryName. The attributes may share one multi-valued RDN or sit in separate RDNs.
fn check_san(aik: &X509Certificate<'_>, extra_vendors: &[u32]) -> Result<(), TpmError> {
    const SAN: &str = "subjectAlternativeName";
    let ext = aik
        .get_extension_unique(&OID_X509_EXT_SUBJECT_ALT_NAME)
        .map_err(|_| TpmError::AikCertExtensionMalformed(SAN))?
        .ok_or(TpmError::AikCertSanMissing)?;
    let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() else {
        return Err(TpmError::AikCertExtensionMalformed(SAN));
    };
    let mut manufacturer = None;
    let mut model = None;
    let mut version = None;
    let directory_names = san.general_names.iter().filter_map(|g| match g {
        GeneralName::DirectoryName(name) => Some(name),
        _ => None,
    });
    for name in directory_names {
        for attr in name.iter_attributes() {
            let (slot, what) = match attr.attr_type().to_id_string().as_str() {
                OID_TCPA_TPM_MANUFACTURER => (&mut manufacturer, "tcpaTpmManufacturer"),
                OID_TCPA_TPM_MODEL => (&mut model, "tcpaTpmModel"),
                OID_TCPA_TPM_VERSION => (&mut version, "tcpaTpmVersion"),
                _ => continue,
            };
            let value = attr
                .as_str()
                .map_err(|_| TpmError::AikCertExtensionMalformed(SAN))?;
            if slot.replace(value).is_some() {
                return Err(TpmError::AikCertSanAttributeDuplicate(what));
            }
        }
    }
    let manufacturer =
        manufacturer.ok_or(TpmError::AikCertSanAttributeMissing("tcpaTpmManufacturer"))?;
    model.ok_or(TpmError::AikCertSanAttributeMissing("tcpaTpmModel"))?;
    version.ok_or(TpmError::AikCertSanAttributeMissing("tcpaTpmVersion"))?;
    let known = parse_vendor_id(manufacturer).is_some_and(|id| {
        TCG_VENDOR_IDS.iter().any(|(v, _)| *v == id) || extra_vendors.contains(&id)
    });
    if !known {
        return Err(TpmError::AikCertManufacturerUnknown(
            manufacturer.to_owned(),
        ));
    }
    Ok(())
}

/// `id:` followed by eight hex digits (either case), as the TCG EK profile writes vendor ids.
fn parse_vendor_id(text: &str) -> Option<u32> {
    let (prefix, hex) = text.split_at_checked(3)?;
    if !prefix.eq_ignore_ascii_case("id:")
        || hex.len() != 8
        || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

fn check_eku(aik: &X509Certificate<'_>) -> Result<(), TpmError> {
    let eku = aik
        .extended_key_usage()
        .map_err(|_| TpmError::AikCertExtensionMalformed("extendedKeyUsage"))?
        .ok_or(TpmError::AikCertEkuMissing)?;
    if eku
        .value
        .other
        .iter()
        .any(|oid| oid.to_id_string() == OID_TCG_KP_AIK_CERTIFICATE)
    {
        Ok(())
    } else {
        Err(TpmError::AikCertEkuNotAik)
    }
}

fn check_basic_constraints(aik: &X509Certificate<'_>) -> Result<(), TpmError> {
    const BC: &str = "basicConstraints";
    let ext = aik
        .get_extension_unique(&OID_X509_EXT_BASIC_CONSTRAINTS)
        .map_err(|_| TpmError::AikCertExtensionMalformed(BC))?
        .ok_or(TpmError::AikCertBasicConstraintsMissing)?;
    let ParsedExtension::BasicConstraints(bc) = ext.parsed_extension() else {
        return Err(TpmError::AikCertExtensionMalformed(BC));
    };
    if bc.ca {
        return Err(TpmError::AikCertIsCa);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    use ciborium::value::Value;
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    use super::*;
    use crate::attestation::{FormatPolicy, TrustStatus, TrustStore};
    use crate::auth_data::AuthenticatorData;
    use crate::registration::AttestationObject;
    use crate::wire::RegistrationResponseJson;
    use crate::{b64, RegistrationState, RelyingParty, UnixTime, UserVerification};

    const CORPUS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/registration/"
    );

    /// The conformance registrations this format must accept.
    const TPM_CASES: &[&str] = &[
        "w3c-l3-tpm-es256",
        "yubico-windows-hello-tpm",
        "yubico-thinkpad-tpm",
        "pywebauthn-tpm-dell-xps-13",
        "pywebauthn-tpm-lenovo-x1-carbon",
        "pywebauthn-tpm-surface-pro-4",
        "pywebauthn-tpm-ecc",
        "swa-tpm-rsa",
        "swa-tpm-rsa-sha1-fido2-net-lib",
        "swa-tpm-rsa-sha256-fido2-net-lib",
        "swa-tpm-san-spec-compliant",
        "swa-tpm-san-non-spec-compliant",
        "swa-tpm-rsa-sha256",
        "swa-tpm-rsa-sha1",
    ];

    fn case_json(name: &str) -> serde_json::Value {
        let path = format!("{CORPUS}{name}.json");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_slice(&bytes).unwrap()
    }

    fn verify_at(case: &serde_json::Value) -> UnixTime {
        let text = case["verifyAt"].as_str().unwrap();
        UnixTime(
            OffsetDateTime::parse(text, &Rfc3339)
                .unwrap()
                .unix_timestamp(),
        )
    }

    /// Policy that the corpus needs: the FIDO-conformance and W3C test vendors, and SHA-1.
    fn corpus_policy() -> FormatPolicy {
        FormatPolicy {
            tpm_extra_vendors: vec![0xFFFF_F1D0, 0],
            allow_sha1: true,
            ..FormatPolicy::default()
        }
    }

    // ---- every listed conformance registration verifies end to end --------------------------

    fn run_registration(name: &str) -> Result<(), String> {
        let case = case_json(name);
        let mut rp = RelyingParty::new(
            case["rpId"].as_str().unwrap(),
            case["origins"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap().to_owned()),
        );
        rp.attestation.formats = corpus_policy();
        let roots: Vec<Vec<u8>> = case["expect"]["trustRoots"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|d| b64::decode(d.as_str().unwrap()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        for root in &roots {
            rp.attestation.trust.add_root(root.clone());
        }
        let state = RegistrationState {
            challenge: b64::decode(case["challenge"].as_str().unwrap()).unwrap(),
            user_id: Vec::new(),
            user_verification: UserVerification::parse(
                case["userVerification"].as_str().unwrap_or("preferred"),
            ),
            allowed_algs: crate::cose::ALL_ALGORITHMS.to_vec(),
            require_user_presence: true,
        };
        let response: RegistrationResponseJson =
            serde_json::from_value(case["response"].clone()).unwrap();
        let v = crate::verify_registration(&rp, &state, &response, verify_at(&case))
            .map_err(|e| format!("{} ({e})", e.code()))?;
        let expect = &case["expect"];
        let mut problems = Vec::new();
        if v.fmt() != "tpm" {
            problems.push(format!("fmt {}", v.fmt()));
        }
        if v.attestation_type() != AttestationType::AttCa {
            problems.push(format!("type {:?}", v.attestation_type()));
        }
        if Some(v.aaguid_string().as_str()) != expect["aaguid"].as_str() {
            problems.push(format!("aaguid {}", v.aaguid_string()));
        }
        if Some(v.alg) != expect["alg"].as_i64() {
            problems.push(format!("alg {}", v.alg));
        }
        let wanted_trust = if roots.is_empty() {
            TrustStatus::Unverified
        } else {
            TrustStatus::Trusted
        };
        if v.attestation.trust != wanted_trust {
            problems.push(format!(
                "trust {:?}, expected {wanted_trust:?}",
                v.attestation.trust
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join(", "))
        }
    }

    #[test]
    fn conformance_tpm_registrations_verify() {
        let failures: Vec<String> = TPM_CASES
            .iter()
            .filter_map(|name| run_registration(name).err().map(|e| format!("{name}: {e}")))
            .collect();
        assert!(
            failures.is_empty(),
            "failing tpm cases:\n{}",
            failures.join("\n")
        );
    }

    // ---- real statements, mutated -----------------------------------------------------------

    /// A corpus case decoded down to what `verify` takes.
    struct Real {
        att_stmt: Value,
        auth_data_raw: Vec<u8>,
        auth_data: AuthenticatorData,
        client_data_hash: [u8; 32],
        now: UnixTime,
    }

    impl Real {
        fn load(name: &str) -> Real {
            let case = case_json(name);
            let response: RegistrationResponseJson =
                serde_json::from_value(case["response"].clone()).unwrap();
            let obj =
                AttestationObject::parse(response.response.attestation_object.as_ref()).unwrap();
            assert_eq!(obj.fmt, "tpm");
            let auth_data = AuthenticatorData::parse(&obj.auth_data).unwrap();
            Real {
                att_stmt: obj.att_stmt,
                auth_data_raw: obj.auth_data,
                auth_data,
                client_data_hash: crate::registration::sha256(
                    response.response.client_data_json.as_ref(),
                ),
                now: verify_at(&case),
            }
        }

        fn verify_with(
            &self,
            policy: &FormatPolicy,
        ) -> Result<AttestationOutcome, AttestationError> {
            let trust = TrustStore::empty();
            let input = AttestationInput {
                att_stmt: &self.att_stmt,
                auth_data_raw: &self.auth_data_raw,
                auth_data: &self.auth_data,
                credential: self.auth_data.attested.as_ref().unwrap(),
                client_data_hash: &self.client_data_hash,
                now: self.now,
                trust: &trust,
                policy,
            };
            verify(&input)
        }

        fn verify(&self) -> Result<AttestationOutcome, AttestationError> {
            self.verify_with(&corpus_policy())
        }

        fn set(&mut self, key: &str, value: Value) {
            let Value::Map(m) = &mut self.att_stmt else {
                panic!("attStmt is not a map")
            };
            match m.iter_mut().find(|(k, _)| k.as_text() == Some(key)) {
                Some((_, v)) => *v = value,
                None => m.push((Value::Text(key.into()), value)),
            }
        }

        fn remove(&mut self, key: &str) {
            let Value::Map(m) = &mut self.att_stmt else {
                panic!("attStmt is not a map")
            };
            m.retain(|(k, _)| k.as_text() != Some(key));
        }

        fn bytes(&self, key: &str) -> Vec<u8> {
            stmt_bytes(&self.att_stmt, key).unwrap().to_vec()
        }

        /// Applies `f` to the byte string `key`.
        fn edit(&mut self, key: &str, f: impl FnOnce(&mut Vec<u8>)) {
            let mut b = self.bytes(key);
            f(&mut b);
            self.set(key, Value::Bytes(b));
        }
    }

    fn tpm_err(r: Result<AttestationOutcome, AttestationError>) -> TpmError {
        match r {
            Err(AttestationError::Tpm(e)) => e,
            other => panic!("expected a tpm error, got {other:?}"),
        }
    }

    #[test]
    fn real_statements_verify_directly() {
        for name in TPM_CASES {
            let out = Real::load(name)
                .verify()
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(out.fmt, "tpm");
            assert_eq!(out.attestation_type, AttestationType::AttCa);
            assert_eq!(
                out.trust,
                TrustStatus::Unverified,
                "{name}: no anchors were given"
            );
            assert!(!out.trust_path.is_empty());
        }
    }

    #[test]
    fn ver_other_than_2_0_is_refused() {
        let mut real = Real::load("w3c-l3-tpm-es256");
        real.set("ver", Value::Text("1.2".into()));
        assert_eq!(
            tpm_err(real.verify()),
            TpmError::VersionUnsupported("\"1.2\"".into())
        );
        real.set("ver", Value::Integer(2.into()));
        assert!(matches!(
            tpm_err(real.verify()),
            TpmError::VersionUnsupported(_)
        ));
        real.remove("ver");
        assert!(matches!(
            tpm_err(real.verify()),
            TpmError::VersionUnsupported(_)
        ));
    }

    #[test]
    fn ecdaa_statement_is_refused() {
        let mut real = Real::load("w3c-l3-tpm-es256");
        real.remove("x5c");
        real.set("ecdaaKeyId", Value::Bytes(vec![1; 32]));
        assert_eq!(tpm_err(real.verify()), TpmError::EcdaaNotSupported);
    }

    #[test]
    fn missing_x5c_is_refused() {
        let mut real = Real::load("w3c-l3-tpm-es256");
        real.remove("x5c");
        assert_eq!(tpm_err(real.verify()), TpmError::X5cMissing);
    }

    #[test]
    fn alg_without_a_hash_is_refused() {
        let mut real = Real::load("w3c-l3-tpm-es256");
        real.set("alg", Value::Integer(cose::alg::EDDSA.into()));
        assert_eq!(
            tpm_err(real.verify()),
            TpmError::AlgorithmUnsupported(cose::alg::EDDSA)
        );
    }

    #[test]
    fn missing_members_are_malformed_statements() {
        for key in ["alg", "sig", "certInfo", "pubArea"] {
            let mut real = Real::load("w3c-l3-tpm-es256");
            real.remove(key);
            assert!(
                matches!(real.verify(), Err(AttestationError::StatementMalformed(_))),
                "{key} removed"
            );
        }
    }

    // pubArea of w3c-l3-tpm-es256 (ECC): type 0..2, nameAlg 2..4, objectAttributes 4..8,
    // authPolicy size 8..10 (empty), symmetric 10..12, scheme 12..14, curveID 14..16,
    // kdf 16..18, x size 18..20, x 20..52, y size 52..54, y 54..86.
    fn ecc_real() -> Real {
        let real = Real::load("w3c-l3-tpm-es256");
        assert_eq!(
            real.bytes("pubArea").get(14..16),
            Some(&[0x00, 0x03][..]),
            "layout changed"
        );
        real
    }

    #[test]
    fn truncated_pub_area_is_malformed() {
        let mut real = ecc_real();
        real.edit("pubArea", |p| p.truncate(p.len() - 1));
        assert!(matches!(
            tpm_err(real.verify()),
            TpmError::PubAreaMalformed(_)
        ));
        let mut real = ecc_real();
        real.edit("pubArea", |p| p.push(0));
        assert!(matches!(
            tpm_err(real.verify()),
            TpmError::PubAreaMalformed(_)
        ));
        let mut real = ecc_real();
        real.set("pubArea", Value::Bytes(vec![0x00, 0x23, 0x00]));
        assert!(matches!(
            tpm_err(real.verify()),
            TpmError::PubAreaMalformed(_)
        ));
    }

    #[test]
    fn pub_area_type_other_than_rsa_or_ecc_is_refused() {
        let mut real = ecc_real();
        real.edit("pubArea", |p| p[1] = 0x08); // TPM_ALG_KEYEDHASH
        assert_eq!(
            tpm_err(real.verify()),
            TpmError::PubAreaTypeUnsupported(0x0008)
        );
    }

    #[test]
    fn unknown_name_alg_is_refused() {
        let mut real = ecc_real();
        real.edit("pubArea", |p| p[3] = 0x12); // TPM_ALG_SM3_256
        assert_eq!(tpm_err(real.verify()), TpmError::NameAlgUnsupported(0x0012));
    }

    #[test]
    fn unknown_curve_is_refused() {
        let mut real = ecc_real();
        real.edit("pubArea", |p| p[15] = 0x10); // TPM_ECC_BN_P256
        assert_eq!(tpm_err(real.verify()), TpmError::CurveUnsupported(0x0010));
    }

    #[test]
    fn rsa_pub_area_for_an_ec_credential_is_refused() {
        let rsa = Real::load("swa-tpm-rsa").bytes("pubArea");
        let mut real = ecc_real();
        real.set("pubArea", Value::Bytes(rsa));
        assert_eq!(
            tpm_err(real.verify()),
            TpmError::PubAreaKeyTypeMismatch {
                pub_area: "RSA",
                credential: "EC2"
            }
        );
    }

    #[test]
    fn pub_area_curve_must_be_the_credentials() {
        let mut real = ecc_real();
        real.edit("pubArea", |p| p[15] = 0x04); // NIST P-384
        assert_eq!(tpm_err(real.verify()), TpmError::PubAreaCurveMismatch);
    }

    #[test]
    fn pub_area_point_must_be_the_credentials() {
        let mut real = ecc_real();
        real.edit("pubArea", |p| p[30] ^= 1); // inside x
        assert_eq!(tpm_err(real.verify()), TpmError::PubAreaPointMismatch);
        let mut real = ecc_real();
        real.edit("pubArea", |p| p[85] ^= 1); // last byte of y
        assert_eq!(tpm_err(real.verify()), TpmError::PubAreaPointMismatch);
    }

    // pubArea of swa-tpm-rsa: type, nameAlg, objectAttributes, authPolicy (2 + 32), symmetric
    // 42..44, scheme 44..46, keyBits 46..48, exponent 48..52, modulus size 52..54, n 54..310.
    fn rsa_real() -> Real {
        let real = Real::load("swa-tpm-rsa");
        assert_eq!(
            real.bytes("pubArea").get(48..54),
            Some(&[0, 0, 0, 0, 0x01, 0x00][..]),
            "layout changed"
        );
        real
    }

    #[test]
    fn pub_area_modulus_must_be_the_credentials() {
        let mut real = rsa_real();
        real.edit("pubArea", |p| p[100] ^= 1);
        assert_eq!(tpm_err(real.verify()), TpmError::PubAreaModulusMismatch);
    }

    #[test]
    fn pub_area_exponent_must_be_the_credentials() {
        let mut real = rsa_real();
        real.edit("pubArea", |p| p[51] = 3);
        assert_eq!(tpm_err(real.verify()), TpmError::PubAreaExponentMismatch);
        // 65537 written out is the same key as the default (0).
        let mut real = rsa_real();
        real.edit("pubArea", |p| p.splice(48..52, [0, 1, 0, 1]).for_each(drop));
        // ...but the Name now differs from what the TPM certified.
        assert_eq!(tpm_err(real.verify()), TpmError::AttestedNameMismatch);
    }

    #[test]
    fn rsa_pub_area_for_an_ec_credential_reports_both_types() {
        let ecc = Real::load("w3c-l3-tpm-es256").bytes("pubArea");
        let mut real = rsa_real();
        real.set("pubArea", Value::Bytes(ecc));
        assert_eq!(
            tpm_err(real.verify()),
            TpmError::PubAreaKeyTypeMismatch {
                pub_area: "ECC",
                credential: "RSA"
            }
        );
    }

    #[test]
    fn sig_must_verify_over_cert_info() {
        let mut real = ecc_real();
        real.edit("sig", |s| {
            let last = s.len() - 1;
            s[last] ^= 1;
        });
        assert_eq!(tpm_err(real.verify()), TpmError::SignatureInvalid);
        // certInfo is what is signed: changing it breaks the signature first.
        let mut real = rsa_real();
        real.edit("certInfo", |c| c[40] ^= 1);
        assert_eq!(tpm_err(real.verify()), TpmError::SignatureInvalid);
    }

    #[test]
    fn rs1_needs_the_sha1_opt_in() {
        let real = Real::load("swa-tpm-rsa-sha1");
        let policy = FormatPolicy {
            allow_sha1: false,
            ..corpus_policy()
        };
        assert_eq!(tpm_err(real.verify_with(&policy)), TpmError::Sha1NotAllowed);
    }

    #[test]
    fn alg_must_fit_the_aik_key() {
        let mut real = rsa_real();
        real.set("alg", Value::Integer(cose::alg::ES256.into()));
        assert_eq!(
            tpm_err(real.verify()),
            TpmError::AikKeyAlgorithmMismatch(cose::alg::ES256)
        );
        let mut real = rsa_real();
        real.set("alg", Value::Integer(cose::alg::RS384.into()));
        assert_eq!(tpm_err(real.verify()), TpmError::SignatureInvalid);
    }

    #[test]
    fn unregistered_manufacturer_is_refused_by_default() {
        // The FIDO conformance vendor FFFFF1D0 is accepted only through the policy.
        let real = Real::load("swa-tpm-rsa");
        let policy = FormatPolicy {
            tpm_extra_vendors: Vec::new(),
            ..corpus_policy()
        };
        assert_eq!(
            tpm_err(real.verify_with(&policy)),
            TpmError::AikCertManufacturerUnknown("id:FFFFF1D0".into())
        );
        let real = Real::load("w3c-l3-tpm-es256");
        assert_eq!(
            tpm_err(real.verify_with(&policy)),
            TpmError::AikCertManufacturerUnknown("id:00000000".into())
        );
        // A registered vendor (Nuvoton) needs no policy.
        assert!(Real::load("yubico-windows-hello-tpm")
            .verify_with(&policy)
            .is_ok());
    }

    // ---- synthetic statements: a test CA, an AIK, and a TPM that signs what we ask ----------

    mod der {
        pub fn len(n: usize) -> Vec<u8> {
            match n {
                0..=0x7f => vec![n as u8],
                0x80..=0xff => vec![0x81, n as u8],
                _ => vec![0x82, (n >> 8) as u8, n as u8],
            }
        }
        pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            out.extend(len(content.len()));
            out.extend_from_slice(content);
            out
        }
        pub fn seq(items: &[Vec<u8>]) -> Vec<u8> {
            tlv(0x30, &items.concat())
        }
        pub fn set(items: &[Vec<u8>]) -> Vec<u8> {
            tlv(0x31, &items.concat())
        }
        pub fn oid(dotted: &str) -> Vec<u8> {
            let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
            let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
            for &arc in &arcs[2..] {
                let mut chunk = vec![(arc & 0x7f) as u8];
                let mut rest = arc >> 7;
                while rest > 0 {
                    chunk.insert(0, 0x80 | (rest & 0x7f) as u8);
                    rest >>= 7;
                }
                body.extend(chunk);
            }
            tlv(0x06, &body)
        }
        pub fn utf8(s: &str) -> Vec<u8> {
            tlv(0x0c, s.as_bytes())
        }
        pub fn int(v: u8) -> Vec<u8> {
            tlv(0x02, &[v])
        }
        /// AttributeTypeAndValue.
        pub fn attr(oid_text: &str, value: &str) -> Vec<u8> {
            seq(&[oid(oid_text), utf8(value)])
        }
        /// A Name from RDNs, each a list of attributes.
        pub fn name(rdns: &[Vec<Vec<u8>>]) -> Vec<u8> {
            seq(&rdns.iter().map(|attrs| set(attrs)).collect::<Vec<_>>())
        }
        pub fn extension(oid_text: &str, critical: bool, value: &[u8]) -> Vec<u8> {
            let mut parts = vec![oid(oid_text)];
            if critical {
                parts.push(vec![0x01, 0x01, 0xff]);
            }
            parts.push(tlv(0x04, value));
            seq(&parts)
        }
    }

    const MANUFACTURER: &str = "2.23.133.2.1";
    const MODEL: &str = "2.23.133.2.2";
    const VERSION: &str = "2.23.133.2.3";
    const SYNTH_NOW: UnixTime = UnixTime(1_717_200_000); // 2024-06-01
    const SYNTH_AAGUID: [u8; 16] = [0x42; 16];

    fn tcg_attrs(manufacturer: &str) -> Vec<Vec<u8>> {
        vec![
            der::attr(MANUFACTURER, manufacturer),
            der::attr(MODEL, "Latch TPM"),
            der::attr(VERSION, "id:00010002"),
        ]
    }

    /// SAN with one directoryName built from `rdns`.
    fn san(critical: bool, rdns: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let general_names = der::seq(&[der::tlv(0xa4, &der::name(rdns))]);
        der::extension("2.5.29.17", critical, &general_names)
    }

    /// The TCG attributes in one multi-valued RDN, as the W3C vector does.
    fn san_one_rdn(manufacturer: &str) -> Vec<u8> {
        san(true, &[tcg_attrs(manufacturer)])
    }

    fn eku(oids: &[&str]) -> Vec<u8> {
        der::extension(
            "2.5.29.37",
            false,
            &der::seq(&oids.iter().map(|o| der::oid(o)).collect::<Vec<_>>()),
        )
    }

    fn basic_constraints(ca: bool) -> Vec<u8> {
        let value = if ca {
            der::seq(&[vec![0x01, 0x01, 0xff]])
        } else {
            der::seq(&[])
        };
        der::extension("2.5.29.19", true, &value)
    }

    fn p256_spki(point: &[u8]) -> Vec<u8> {
        let mut bits = vec![0u8];
        bits.extend_from_slice(point);
        der::seq(&[
            der::seq(&[
                der::oid("1.2.840.10045.2.1"),
                der::oid("1.2.840.10045.3.1.7"),
            ]),
            der::tlv(0x03, &bits),
        ])
    }

    /// A certificate signed with ecdsa-with-SHA256 by `issuer_key`.
    #[allow(clippy::too_many_arguments)]
    fn certificate(
        version: Option<u8>,
        issuer: &[u8],
        subject: &[u8],
        not_after: &str,
        spki: &[u8],
        extensions: &[Vec<u8>],
        issuer_key: &EcdsaKeyPair,
    ) -> Vec<u8> {
        let sig_alg = der::seq(&[der::oid("1.2.840.10045.4.3.2")]);
        let mut tbs = Vec::new();
        if let Some(v) = version {
            tbs.push(der::tlv(0xa0, &der::int(v)));
        }
        tbs.push(der::int(7));
        tbs.push(sig_alg.clone());
        tbs.push(issuer.to_vec());
        tbs.push(der::seq(&[
            der::tlv(0x17, b"200101000000Z"),
            der::tlv(0x17, not_after.as_bytes()),
        ]));
        tbs.push(subject.to_vec());
        tbs.push(spki.to_vec());
        if !extensions.is_empty() {
            tbs.push(der::tlv(0xa3, &der::seq(extensions)));
        }
        let tbs = der::seq(&tbs);
        let sig = issuer_key.sign(&SystemRandom::new(), &tbs).unwrap();
        let mut bits = vec![0u8];
        bits.extend_from_slice(sig.as_ref());
        der::seq(&[tbs, sig_alg, der::tlv(0x03, &bits)])
    }

    fn p256_key() -> EcdsaKeyPair {
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap()
    }

    fn sized(b: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(b.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(b);
        out
    }

    /// A TPM statement built from scratch; every field valid until a test changes one.
    struct Synth {
        ca_key: EcdsaKeyPair,
        ca_name: Vec<u8>,
        aik_key: EcdsaKeyPair,
        credential_point: Vec<u8>,
        aik_version: Option<u8>,
        aik_subject: Vec<u8>,
        aik_extensions: Vec<Vec<u8>>,
        aik_not_after: &'static str,
        magic: u32,
        st_type: u16,
        /// Replaces extraData when set.
        extra_data: Option<Vec<u8>>,
        /// Replaces the certified name when set.
        name: Option<Vec<u8>>,
        /// Applied to certInfo before the AIK signs it.
        cert_info_edit: fn(&mut Vec<u8>),
        policy: FormatPolicy,
        /// Anchors; by default the test CA.
        anchors: Option<Vec<Vec<u8>>>,
    }

    /// What `Synth::build` produces, owned so an `AttestationInput` can borrow it.
    struct Built {
        att_stmt: Value,
        auth_data_raw: Vec<u8>,
        auth_data: AuthenticatorData,
        client_data_hash: [u8; 32],
        trust: TrustStore,
        policy: FormatPolicy,
    }

    impl Built {
        fn verify(&self) -> Result<AttestationOutcome, AttestationError> {
            let input = AttestationInput {
                att_stmt: &self.att_stmt,
                auth_data_raw: &self.auth_data_raw,
                auth_data: &self.auth_data,
                credential: self.auth_data.attested.as_ref().unwrap(),
                client_data_hash: &self.client_data_hash,
                now: SYNTH_NOW,
                trust: &self.trust,
                policy: &self.policy,
            };
            verify(&input)
        }
    }

    impl Synth {
        fn new() -> Synth {
            Synth {
                ca_key: p256_key(),
                ca_name: der::name(&[vec![der::attr("2.5.4.3", "Latch TPM test root")]]),
                aik_key: p256_key(),
                credential_point: p256_key().public_key().as_ref().to_vec(),
                aik_version: Some(2),
                aik_subject: der::seq(&[]),
                aik_extensions: vec![
                    basic_constraints(false),
                    eku(&["2.23.133.8.3"]),
                    san_one_rdn("id:4E544300"),
                ],
                aik_not_after: "491231235959Z",
                magic: TPM_GENERATED_VALUE,
                st_type: TPM_ST_ATTEST_CERTIFY,
                extra_data: None,
                name: None,
                cert_info_edit: |_| {},
                policy: FormatPolicy::default(),
                anchors: None,
            }
        }

        fn ca_der(&self) -> Vec<u8> {
            certificate(
                Some(2),
                &self.ca_name,
                &self.ca_name,
                "491231235959Z",
                &p256_spki(self.ca_key.public_key().as_ref()),
                &[basic_constraints(true)],
                &self.ca_key,
            )
        }

        fn aik_der(&self) -> Vec<u8> {
            certificate(
                self.aik_version,
                &self.ca_name,
                &self.aik_subject,
                self.aik_not_after,
                &p256_spki(self.aik_key.public_key().as_ref()),
                &self.aik_extensions,
                &self.ca_key,
            )
        }

        fn pub_area(&self) -> Vec<u8> {
            let mut p = Vec::new();
            p.extend(TPM_ALG_ECC.to_be_bytes());
            p.extend(TPM_ALG_SHA256.to_be_bytes());
            p.extend(0x0006_0472u32.to_be_bytes());
            p.extend(sized(&[]));
            p.extend(TPM_ALG_NULL.to_be_bytes()); // symmetric
            p.extend(0x0018u16.to_be_bytes()); // scheme ECDSA...
            p.extend(TPM_ALG_SHA256.to_be_bytes()); // ...with SHA-256
            p.extend(TPM_ECC_NIST_P256.to_be_bytes());
            p.extend(TPM_ALG_NULL.to_be_bytes()); // kdf
            p.extend(sized(&self.credential_point[1..33]));
            p.extend(sized(&self.credential_point[33..65]));
            p
        }

        fn auth_data(&self) -> Vec<u8> {
            let cose_key = Value::Map(vec![
                (Value::from(1), Value::from(2)),
                (Value::from(3), Value::from(-7)),
                (Value::from(-1), Value::from(1)),
                (
                    Value::from(-2),
                    Value::Bytes(self.credential_point[1..33].to_vec()),
                ),
                (
                    Value::from(-3),
                    Value::Bytes(self.credential_point[33..65].to_vec()),
                ),
            ]);
            let mut a = crate::rp::rp_id_hash("example.org").to_vec();
            a.push(0x45); // UP, UV, AT
            a.extend(0u32.to_be_bytes());
            a.extend(SYNTH_AAGUID);
            a.extend(sized(&[9; 16]));
            ciborium::ser::into_writer(&cose_key, &mut a).unwrap();
            a
        }

        fn build(&self) -> Built {
            let auth_data_raw = self.auth_data();
            let client_data_hash = [0x5a; 32];
            let pub_area = self.pub_area();
            let mut signed = auth_data_raw.clone();
            signed.extend(client_data_hash);
            let extra = self
                .extra_data
                .clone()
                .unwrap_or_else(|| digest::digest(&digest::SHA256, &signed).as_ref().to_vec());
            let name = self.name.clone().unwrap_or_else(|| {
                let mut n = TPM_ALG_SHA256.to_be_bytes().to_vec();
                n.extend(digest::digest(&digest::SHA256, &pub_area).as_ref());
                n
            });
            let mut cert_info = Vec::new();
            cert_info.extend(self.magic.to_be_bytes());
            cert_info.extend(self.st_type.to_be_bytes());
            cert_info.extend(sized(&[0x11; 34])); // qualifiedSigner
            cert_info.extend(sized(&extra));
            cert_info.extend([0x22; CLOCK_INFO_LEN]);
            cert_info.extend([0x33; FIRMWARE_VERSION_LEN]);
            cert_info.extend(sized(&name));
            cert_info.extend(sized(&[])); // qualifiedName
            (self.cert_info_edit)(&mut cert_info);
            let sig = self.aik_key.sign(&SystemRandom::new(), &cert_info).unwrap();
            let att_stmt = Value::Map(vec![
                (Value::from("ver"), Value::from("2.0")),
                (Value::from("alg"), Value::from(cose::alg::ES256)),
                (
                    Value::from("x5c"),
                    Value::Array(vec![Value::Bytes(self.aik_der())]),
                ),
                (Value::from("sig"), Value::Bytes(sig.as_ref().to_vec())),
                (Value::from("certInfo"), Value::Bytes(cert_info)),
                (Value::from("pubArea"), Value::Bytes(pub_area)),
            ]);
            let mut trust = TrustStore::empty();
            for anchor in self.anchors.clone().unwrap_or_else(|| vec![self.ca_der()]) {
                trust.add_root(anchor);
            }
            Built {
                auth_data: AuthenticatorData::parse(&auth_data_raw).unwrap(),
                att_stmt,
                auth_data_raw,
                client_data_hash,
                trust,
                policy: self.policy.clone(),
            }
        }

        fn verify(&self) -> Result<AttestationOutcome, AttestationError> {
            self.build().verify()
        }

        /// Replaces the AIK extension whose DER starts like `like`'s (same OID).
        fn replace_extension(&mut self, oid_text: &str, ext: Option<Vec<u8>>) {
            let prefix = der::oid(oid_text);
            self.aik_extensions
                .retain(|e| !e[2..].starts_with(&prefix) && !e[3..].starts_with(&prefix));
            self.aik_extensions.extend(ext);
        }
    }

    #[test]
    fn synthetic_statement_verifies_and_is_trusted() {
        let out = Synth::new().verify().unwrap();
        assert_eq!(out.fmt, "tpm");
        assert_eq!(out.attestation_type, AttestationType::AttCa);
        assert_eq!(out.trust, TrustStatus::Trusted);
        assert_eq!(out.trust_path.len(), 1);
    }

    #[test]
    fn synthetic_statement_without_anchors_is_unverified() {
        let mut s = Synth::new();
        s.anchors = Some(Vec::new());
        assert_eq!(s.verify().unwrap().trust, TrustStatus::Unverified);
    }

    #[test]
    fn aik_certificate_must_be_version_3() {
        let mut s = Synth::new();
        s.aik_version = None; // v1: no extensions either
        s.aik_extensions.clear();
        assert_eq!(tpm_err(s.verify()), TpmError::AikCertVersion(1));
    }

    #[test]
    fn aik_subject_must_be_empty() {
        let mut s = Synth::new();
        s.aik_subject = der::name(&[vec![der::attr("2.5.4.3", "aik")]]);
        assert_eq!(tpm_err(s.verify()), TpmError::AikCertSubjectNotEmpty);
    }

    #[test]
    fn aik_san_must_be_present() {
        let mut s = Synth::new();
        s.replace_extension("2.5.29.17", None);
        assert_eq!(tpm_err(s.verify()), TpmError::AikCertSanMissing);
    }

    #[test]
    fn aik_san_must_parse() {
        let mut s = Synth::new();
        s.replace_extension(
            "2.5.29.17",
            Some(der::extension("2.5.29.17", true, &[0x30, 0x05, 0xa4])),
        );
        assert_eq!(
            tpm_err(s.verify()),
            TpmError::AikCertExtensionMalformed("subjectAlternativeName")
        );
    }

    #[test]
    fn aik_san_needs_manufacturer_model_and_version() {
        for (missing, what) in [
            (MANUFACTURER, "tcpaTpmManufacturer"),
            (MODEL, "tcpaTpmModel"),
            (VERSION, "tcpaTpmVersion"),
        ] {
            let attrs: Vec<Vec<u8>> = tcg_attrs("id:4E544300")
                .into_iter()
                .filter(|a| !a[2..].starts_with(&der::oid(missing)))
                .collect();
            let mut s = Synth::new();
            s.replace_extension("2.5.29.17", Some(san(true, &[attrs])));
            assert_eq!(
                tpm_err(s.verify()),
                TpmError::AikCertSanAttributeMissing(what),
                "{what}"
            );
        }
        // A SAN that only holds a DNS name names no TPM.
        let mut s = Synth::new();
        let dns = der::seq(&[der::tlv(0x82, b"tpm.example")]);
        s.replace_extension("2.5.29.17", Some(der::extension("2.5.29.17", false, &dns)));
        assert_eq!(
            tpm_err(s.verify()),
            TpmError::AikCertSanAttributeMissing("tcpaTpmManufacturer")
        );
    }

    #[test]
    fn aik_san_attributes_may_not_repeat() {
        let mut s = Synth::new();
        let mut rdns = vec![tcg_attrs("id:4E544300")];
        rdns.push(vec![der::attr(MANUFACTURER, "id:12345678")]);
        s.replace_extension("2.5.29.17", Some(san(true, &rdns)));
        assert_eq!(
            tpm_err(s.verify()),
            TpmError::AikCertSanAttributeDuplicate("tcpaTpmManufacturer")
        );
    }

    #[test]
    fn aik_san_layouts_and_criticality_are_tolerated() {
        // One RDN per attribute, and a non-critical SAN.
        let mut s = Synth::new();
        let rdns: Vec<Vec<Vec<u8>>> = tcg_attrs("id:53544D20")
            .into_iter()
            .map(|a| vec![a])
            .collect();
        s.replace_extension("2.5.29.17", Some(san(false, &rdns)));
        assert!(s.verify().is_ok());
        // Lower-case hex in the vendor id.
        let mut s = Synth::new();
        s.replace_extension("2.5.29.17", Some(san_one_rdn("id:4e544300")));
        assert!(s.verify().is_ok());
    }

    #[test]
    fn aik_manufacturer_must_be_registered_or_allowed() {
        for bogus in [
            "id:12345678",
            "id:FFFFF1D0",
            "4E544300",
            "id:4E5443",
            "id:+E544300",
            "id:4E54430Z",
        ] {
            let mut s = Synth::new();
            s.replace_extension("2.5.29.17", Some(san_one_rdn(bogus)));
            assert_eq!(
                tpm_err(s.verify()),
                TpmError::AikCertManufacturerUnknown(bogus.into()),
                "{bogus}"
            );
        }
        let mut s = Synth::new();
        s.replace_extension("2.5.29.17", Some(san_one_rdn("id:FFFFF1D0")));
        s.policy.tpm_extra_vendors = vec![0xFFFF_F1D0];
        assert!(s.verify().is_ok());
    }

    #[test]
    fn aik_eku_must_be_present() {
        let mut s = Synth::new();
        s.replace_extension("2.5.29.37", None);
        assert_eq!(tpm_err(s.verify()), TpmError::AikCertEkuMissing);
    }

    #[test]
    fn aik_eku_must_name_tcg_kp_aik_certificate() {
        let mut s = Synth::new();
        s.replace_extension("2.5.29.37", Some(eku(&["1.3.6.1.5.5.7.3.2"])));
        assert_eq!(tpm_err(s.verify()), TpmError::AikCertEkuNotAik);
    }

    #[test]
    fn aik_eku_must_parse() {
        let mut s = Synth::new();
        s.replace_extension(
            "2.5.29.37",
            Some(der::extension("2.5.29.37", false, &[0x04, 0x00])),
        );
        assert_eq!(
            tpm_err(s.verify()),
            TpmError::AikCertExtensionMalformed("extendedKeyUsage")
        );
    }

    #[test]
    fn aik_basic_constraints_must_be_present() {
        let mut s = Synth::new();
        s.replace_extension("2.5.29.19", None);
        assert_eq!(
            tpm_err(s.verify()),
            TpmError::AikCertBasicConstraintsMissing
        );
    }

    #[test]
    fn aik_must_not_be_a_ca() {
        let mut s = Synth::new();
        s.replace_extension("2.5.29.19", Some(basic_constraints(true)));
        assert_eq!(tpm_err(s.verify()), TpmError::AikCertIsCa);
    }

    #[test]
    fn aik_aaguid_extension_must_match() {
        let aaguid_ext = |aaguid: [u8; 16]| {
            der::extension(
                super::super::packed::AAGUID_EXTENSION,
                false,
                &der::tlv(0x04, &aaguid),
            )
        };
        let mut s = Synth::new();
        s.aik_extensions.push(aaguid_ext([0x43; 16]));
        assert_eq!(s.verify(), Err(AttestationError::AaguidExtensionMismatch));
        let mut s = Synth::new();
        s.aik_extensions.push(aaguid_ext(SYNTH_AAGUID));
        assert!(s.verify().is_ok());
    }

    #[test]
    fn cert_info_magic_must_be_tpm_generated_value() {
        let mut s = Synth::new();
        s.magic = 0xff54_4348;
        assert_eq!(tpm_err(s.verify()), TpmError::CertInfoMagic(0xff54_4348));
    }

    #[test]
    fn cert_info_type_must_be_attest_certify() {
        let mut s = Synth::new();
        s.st_type = 0x8018; // TPM_ST_ATTEST_QUOTE
        assert_eq!(tpm_err(s.verify()), TpmError::CertInfoType(0x8018));
    }

    #[test]
    fn cert_info_must_parse_exactly() {
        let edits: [fn(&mut Vec<u8>); 5] = [
            |c| c.push(0),                  // trailing byte
            |c| c.truncate(c.len() - 1),    // qualifiedName cut short
            |c| c.truncate(c.len() - 20),   // name cut short
            |c| c.truncate(6 + 2 + 34 + 2), // stops inside extraData
            |c| c.truncate(5),              // stops inside type
        ];
        for edit in edits {
            let mut s = Synth::new();
            s.cert_info_edit = edit;
            assert!(matches!(
                tpm_err(s.verify()),
                TpmError::CertInfoMalformed(_)
            ));
        }
    }

    #[test]
    fn extra_data_must_be_the_hash_of_att_to_be_signed() {
        let mut s = Synth::new();
        s.extra_data = Some(vec![0; 32]);
        assert_eq!(tpm_err(s.verify()), TpmError::ExtraDataMismatch);
        // The hash must be alg's (SHA-256 for ES256), not another one.
        let mut s = Synth::new();
        let b = s.build();
        let mut signed = b.auth_data_raw.clone();
        signed.extend(b.client_data_hash);
        s.extra_data = Some(digest::digest(&digest::SHA384, &signed).as_ref().to_vec());
        assert_eq!(tpm_err(s.verify()), TpmError::ExtraDataMismatch);
    }

    #[test]
    fn attested_name_must_be_the_pub_area_name() {
        let mut s = Synth::new();
        let pub_area = s.pub_area();
        // Right hash, wrong nameAlg.
        let mut name = TPM_ALG_SHA384.to_be_bytes().to_vec();
        name.extend(digest::digest(&digest::SHA256, &pub_area).as_ref());
        s.name = Some(name);
        assert_eq!(tpm_err(s.verify()), TpmError::AttestedNameMismatch);
        // Right nameAlg, hash of something else.
        let mut name = TPM_ALG_SHA256.to_be_bytes().to_vec();
        name.extend(digest::digest(&digest::SHA256, b"another object").as_ref());
        s.name = Some(name);
        assert_eq!(tpm_err(s.verify()), TpmError::AttestedNameMismatch);
    }

    #[test]
    fn chain_is_checked_at_the_verification_time() {
        let mut s = Synth::new();
        s.aik_not_after = "210101000000Z";
        assert_eq!(
            s.verify(),
            Err(AttestationError::CertificateNotValidAtTime { index: 0 })
        );
    }

    #[test]
    fn chain_must_reach_a_configured_anchor() {
        let mut s = Synth::new();
        let other = Synth::new();
        s.anchors = Some(vec![other.ca_der()]);
        assert_eq!(s.verify(), Err(AttestationError::UntrustedRoot));
    }

    #[test]
    fn codes_are_stable_snake_case() {
        let samples = [
            TpmError::VersionUnsupported(String::new()),
            TpmError::EcdaaNotSupported,
            TpmError::AikCertIsCa,
            TpmError::AttestedNameMismatch,
        ];
        for e in samples {
            let code = AttestationError::from(e.clone()).code();
            assert!(
                code.starts_with("tpm_")
                    && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }

    #[test]
    fn vendor_ids_parse_case_insensitively() {
        assert_eq!(parse_vendor_id("id:4E544300"), Some(0x4E54_4300));
        assert_eq!(parse_vendor_id("ID:4e544300"), Some(0x4E54_4300));
        assert_eq!(parse_vendor_id("id:4E54430"), None);
        assert_eq!(parse_vendor_id("id:+E544300"), None);
        assert_eq!(parse_vendor_id(""), None);
        assert_eq!(parse_vendor_id("ié:4E544300"), None);
    }

    // ---- the small tables and readers, one case each -----------------------------------------

    #[test]
    fn every_signature_algorithm_names_its_hash() {
        let len = |a: i64| alg_hash(a).map(digest::Algorithm::output_len);
        assert_eq!(len(alg::RS1), Some(20));
        for a in [alg::RS256, alg::ES256, alg::PS256, alg::ESP256] {
            assert_eq!(len(a), Some(32), "{a}");
        }
        for a in [alg::RS384, alg::ES384, alg::PS384, alg::ESP384] {
            assert_eq!(len(a), Some(48), "{a}");
        }
        for a in [alg::RS512, alg::ES512, alg::PS512, alg::ESP512] {
            assert_eq!(len(a), Some(64), "{a}");
        }
        assert_eq!(len(alg::EDDSA), None);
    }

    #[test]
    fn every_tpm_name_algorithm_names_its_hash() {
        let len = |a: u16| name_alg_hash(a).map(digest::Algorithm::output_len);
        assert_eq!(len(TPM_ALG_SHA1), Some(20));
        assert_eq!(len(TPM_ALG_SHA256), Some(32));
        assert_eq!(len(TPM_ALG_SHA384), Some(48));
        assert_eq!(len(TPM_ALG_SHA512), Some(64));
        assert_eq!(len(TPM_ALG_NULL), None);
    }

    /// ECDAA carries a hashAlg and a count (4 bytes), other schemes a hashAlg, NULL nothing.
    #[test]
    fn schemes_are_skipped_by_their_own_length() {
        let after = |bytes: &[u8]| {
            let mut r = Reader::new(bytes, TpmError::PubAreaMalformed);
            skip_scheme(&mut r, "scheme").unwrap();
            r.rest.to_vec()
        };
        assert_eq!(after(&[0x00, 0x1a, 0, 0x0b, 0, 1, 0xee]), vec![0xee]);
        assert_eq!(after(&[0x00, 0x18, 0, 0x0b, 0xee]), vec![0xee]);
        assert_eq!(after(&[0x00, 0x10, 0xee]), vec![0xee]);
        assert_eq!(after(&[0x00, 0x15, 0xee]), vec![0xee]);
    }

    #[test]
    fn a_p384_pub_area_matches_its_credential_key() {
        let (x, y) = ([0x11u8; 48], [0x22u8; 48]);
        let pub_area = PubArea {
            name_alg: &digest::SHA256,
            name_alg_id: TPM_ALG_SHA256,
            key: PublicKey::Ecc {
                curve: Curve::P384,
                x: &x,
                y: &y,
            },
        };
        let point = [&[0x04][..], &x, &y].concat();
        let key = KeyMaterial::Ec {
            curve: Curve::P384,
            point: point.clone(),
        };
        assert_eq!(pub_area.check_matches(&key), Ok(()));
        let mut other = point;
        other[96] ^= 1;
        assert_eq!(
            pub_area.check_matches(&KeyMaterial::Ec {
                curve: Curve::P384,
                point: other
            }),
            Err(TpmError::PubAreaPointMismatch)
        );
    }

    #[test]
    fn coordinates_are_padded_or_stripped_to_their_length() {
        assert_eq!(left_pad(&[1, 2], 4), Some(vec![0, 0, 1, 2]));
        assert_eq!(left_pad(&[0, 0, 0, 1, 2], 4), Some(vec![0, 0, 1, 2]));
        assert_eq!(left_pad(&[0, 1, 2, 3], 4), Some(vec![0, 1, 2, 3]));
        assert_eq!(left_pad(&[1, 2, 3, 4, 5], 4), None);
    }
}
