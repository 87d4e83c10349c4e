//! FIDO Metadata Service v3 (MDS3): loading and verifying the metadata BLOB, and the lookup
//! surface the registration verifier uses.
//!
//! The BLOB is a JWT in JWS compact serialization. [`Metadata::from_blob`] checks its signing
//! certificate chain (`x5c`, leaf first) against the caller's MDS trust anchor at the caller's
//! time, verifies the JWS signature with the leaf's key, parses the payload and refuses a BLOB
//! whose `nextUpdate` has passed. Nothing is fetched: an `x5u` header is refused, and CRLs of
//! the chain are not consulted (the core is sans-IO); the caller must also keep the BLOB
//! serial number ([`Metadata::number`]) it last accepted and refuse lower ones.
//!
//! Only FIDO2 entries (those with an `aaguid`) are kept; U2F and UAF entries, keyed by
//! `attestationCertificateKeyIdentifiers` or `aaid`, are skipped.

use std::collections::HashMap;

use aws_lc_rs::signature::{self, EcdsaVerificationAlgorithm, VerificationAlgorithm};
use serde::Deserialize;

use crate::attestation::TrustStore;
use crate::auth_data::{format_aaguid, parse_aaguid};
use crate::cose::{self, alg, Curve, KeyMaterial};
use crate::{Error, UnixTime};

const SECONDS_PER_DAY: i64 = 86_400;

/// One authenticator's metadata entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataEntry {
    pub aaguid: [u8; 16],
    pub description: String,
    pub icon: Option<String>,
    /// Status reports, oldest first: (status, effectiveDate as Unix seconds if given).
    pub status_reports: Vec<(String, Option<i64>)>,
    pub attestation_root_certificates: Vec<Vec<u8>>,
}

impl MetadataEntry {
    /// Status reports in effect at `now`.
    fn effective(&self, now: UnixTime) -> impl Iterator<Item = &str> {
        self.status_reports
            .iter()
            .filter(move |(_, at)| at.is_none_or(|t| t <= now.0))
            .map(|(s, _)| s.as_str())
    }

    /// A status that means the authenticator must not be trusted (revoked or compromised).
    pub fn compromised_status(&self, now: UnixTime) -> Option<String> {
        self.effective(now)
            .find(|s| {
                matches!(
                    *s,
                    "REVOKED"
                        | "USER_VERIFICATION_BYPASS"
                        | "ATTESTATION_KEY_COMPROMISE"
                        | "USER_KEY_REMOTE_COMPROMISE"
                        | "USER_KEY_PHYSICAL_COMPROMISE"
                )
            })
            .map(str::to_owned)
    }

    /// Whether the latest certification status in effect is a FIDO certification.
    pub fn is_certified(&self, now: UnixTime) -> bool {
        let latest = self
            .effective(now)
            .filter(|s| s.contains("CERTIFIED"))
            .last();
        latest.is_some_and(|s| s.starts_with("FIDO_CERTIFIED"))
    }
}

/// A verified metadata BLOB's entries, by AAGUID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub entries: HashMap<[u8; 16], MetadataEntry>,
    /// The BLOB's serial number (`no`); a newer BLOB has a higher one.
    pub number: u64,
    /// `nextUpdate` as Unix seconds at 00:00 UTC of that date.
    pub next_update: i64,
    /// The payload's `legalHeader` (empty when absent).
    pub legal_header: String,
}

impl Metadata {
    pub fn entry(&self, aaguid: &[u8; 16]) -> Option<&MetadataEntry> {
        self.entries.get(aaguid)
    }

    /// The authenticator's description from its metadata statement, when known.
    pub fn name_of(&self, aaguid: &[u8; 16]) -> Option<&str> {
        self.entry(aaguid)
            .map(|e| e.description.as_str())
            .filter(|d| !d.is_empty())
    }

    /// Whether `now` is past the BLOB's `nextUpdate`. The date is read as a whole UTC day: the
    /// BLOB is good through the end of its `nextUpdate` day.
    pub fn is_stale(&self, now: UnixTime) -> bool {
        now.0 >= self.next_update.saturating_add(SECONDS_PER_DAY)
    }

    /// Registers every entry's `attestationRootCertificates` as anchors for its AAGUID.
    pub fn add_roots_to(&self, trust: &mut TrustStore) {
        let mut aaguids: Vec<&[u8; 16]> = self.entries.keys().collect();
        aaguids.sort_unstable();
        for aaguid in aaguids {
            let Some(entry) = self.entries.get(aaguid) else {
                continue;
            };
            for der in &entry.attestation_root_certificates {
                trust.add_root_for_aaguid(*aaguid, der.clone());
            }
        }
    }

    /// Verifies and loads an MDS3 BLOB (a JWT) whose signing chain must end at `root_der`
    /// (the FIDO MDS root certificate, DER), at time `now`.
    pub fn from_blob(jwt: &[u8], root_der: &[u8], now: UnixTime) -> Result<Metadata, Error> {
        let payload = verify_jws(jwt, root_der, now)?;
        let (metadata, next_update_text) = parse_payload(&payload)?;
        if metadata.is_stale(now) {
            return Err(Error::Metadata(format!(
                "metadata BLOB is stale: nextUpdate {next_update_text} has passed (now is {})",
                now.0
            )));
        }
        Ok(metadata)
    }

    /// Loads an already verified and decoded BLOB payload (the JWT's JSON body). No signature
    /// or freshness check is made: see [`Metadata::is_stale`].
    pub fn from_payload_json(json: &[u8]) -> Result<Metadata, Error> {
        parse_payload(json).map(|(metadata, _)| metadata)
    }
}

fn meta_err(message: impl Into<String>) -> Error {
    Error::Metadata(message.into())
}

// ---- the JWS ----------------------------------------------------------------------------------

#[derive(Deserialize)]
struct JwsHeader {
    alg: String,
    #[serde(default)]
    x5c: Option<Vec<String>>,
    #[serde(default)]
    x5u: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// How a JWS `alg` is verified.
enum JwsAlg {
    /// ECDSA with a raw r||s signature, on the named curve.
    Ecdsa(Curve, &'static EcdsaVerificationAlgorithm),
    /// Verified by `cose::verify_with` under this COSE algorithm.
    Cose(i64),
}

fn jws_alg(name: &str) -> Option<JwsAlg> {
    Some(match name {
        "ES256" => JwsAlg::Ecdsa(Curve::P256, &signature::ECDSA_P256_SHA256_FIXED),
        "ES384" => JwsAlg::Ecdsa(Curve::P384, &signature::ECDSA_P384_SHA384_FIXED),
        "ES512" => JwsAlg::Ecdsa(Curve::P521, &signature::ECDSA_P521_SHA512_FIXED),
        "RS256" => JwsAlg::Cose(alg::RS256),
        "RS384" => JwsAlg::Cose(alg::RS384),
        "RS512" => JwsAlg::Cose(alg::RS512),
        "PS256" => JwsAlg::Cose(alg::PS256),
        "PS384" => JwsAlg::Cose(alg::PS384),
        "PS512" => JwsAlg::Cose(alg::PS512),
        "EdDSA" | "Ed25519" => JwsAlg::Cose(alg::EDDSA),
        _ => return None,
    })
}

/// Checks the JWS and its signing chain; returns the decoded payload.
fn verify_jws(jwt: &[u8], root_der: &[u8], now: UnixTime) -> Result<Vec<u8>, Error> {
    let text = std::str::from_utf8(jwt)
        .map_err(|_| meta_err("the BLOB is not UTF-8 text"))?
        .trim();
    let parts = text.split('.').count();
    if parts != 3 {
        return Err(meta_err(format!(
            "the BLOB is not a compact JWS: expected 3 dot-separated parts, got {parts}"
        )));
    }
    let (signing_input, signature_b64) = text
        .rsplit_once('.')
        .ok_or_else(|| meta_err("the BLOB is not a compact JWS"))?;
    let (header_b64, payload_b64) = signing_input
        .split_once('.')
        .ok_or_else(|| meta_err("the BLOB is not a compact JWS"))?;

    let header_bytes = crate::b64::decode(header_b64)
        .ok_or_else(|| meta_err("the JWS header is not valid base64url"))?;
    let header: JwsHeader = serde_json::from_slice(&header_bytes)
        .map_err(|e| meta_err(format!("the JWS header is not valid JSON: {e}")))?;
    if header.crit.is_some() {
        return Err(meta_err(
            "the JWS header has \"crit\" extensions, which are not understood",
        ));
    }
    let jws_alg = jws_alg(&header.alg)
        .ok_or_else(|| meta_err(format!("JWS alg {:?} is not supported", header.alg)))?;

    // The signing chain, leaf first. Without x5c (and x5u) the MDS spec makes the trust anchor
    // itself the signing certificate.
    let chain_der: Vec<Vec<u8>> = match (header.x5c, header.x5u) {
        (Some(x5c), _) => {
            if x5c.is_empty() {
                return Err(meta_err("the JWS header x5c is empty"));
            }
            x5c.iter()
                .enumerate()
                .map(|(i, c)| {
                    crate::b64::decode(c)
                        .ok_or_else(|| meta_err(format!("x5c[{i}] is not valid base64")))
                })
                .collect::<Result<_, _>>()?
        }
        (None, Some(_)) => {
            return Err(meta_err(
                "x5u chains are not fetched: the BLOB must carry x5c",
            ))
        }
        (None, None) => vec![root_der.to_vec()],
    };
    crate::cert::parse(root_der)
        .map_err(|e| meta_err(format!("the trust anchor is not a usable certificate: {e}")))?;
    let chain = chain_der
        .iter()
        .enumerate()
        .map(|(i, der)| crate::cert::parse(der).map_err(|e| meta_err(format!("x5c[{i}]: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    crate::cert::verify_chain(&chain, &[root_der], now)
        .map_err(|e| meta_err(format!("signing certificate chain rejected: {e}")))?;
    let leaf = chain
        .first()
        .ok_or_else(|| meta_err("the signing certificate chain is empty"))?;
    let key = crate::cert::spki_key(leaf.public_key())
        .map_err(|e| meta_err(format!("signing certificate: {e}")))?;

    let sig = crate::b64::decode(signature_b64)
        .ok_or_else(|| meta_err("the JWS signature is not valid base64url"))?;
    let msg = signing_input.as_bytes();
    let mismatch = || {
        meta_err(format!(
            "JWS alg {} does not fit the signing certificate's key",
            header.alg
        ))
    };
    let bad_signature =
        || meta_err("the BLOB signature does not verify with the signing certificate's key");
    match jws_alg {
        JwsAlg::Ecdsa(want, algorithm) => {
            let KeyMaterial::Ec { curve, point } = &key else {
                return Err(mismatch());
            };
            if *curve != want {
                return Err(mismatch());
            }
            algorithm
                .verify_sig(point, msg, &sig)
                .map_err(|_| bad_signature())?;
        }
        JwsAlg::Cose(cose_alg) => match cose::verify_with(&key, cose_alg, msg, &sig, false) {
            Ok(()) => {}
            Err(Error::BadSignature) => return Err(bad_signature()),
            Err(_) => return Err(mismatch()),
        },
    }

    crate::b64::decode(payload_b64)
        .ok_or_else(|| meta_err("the JWS payload is not valid base64url"))
}

// ---- the payload ------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    #[serde(default)]
    legal_header: Option<String>,
    no: u64,
    next_update: String,
    entries: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayloadEntry {
    aaguid: String,
    #[serde(default)]
    metadata_statement: Option<Statement>,
    #[serde(default)]
    status_reports: Vec<StatusReport>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Statement {
    #[serde(default)]
    aaguid: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    icon: Option<String>,
    #[serde(default)]
    attestation_root_certificates: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusReport {
    status: String,
    #[serde(default)]
    effective_date: Option<String>,
}

/// Parses a payload; also returns `nextUpdate` as written, for messages.
fn parse_payload(json: &[u8]) -> Result<(Metadata, String), Error> {
    let payload: Payload = serde_json::from_slice(json)
        .map_err(|e| meta_err(format!("the payload is not a valid MDS3 BLOB payload: {e}")))?;
    let next_update = parse_date(&payload.next_update).ok_or_else(|| {
        meta_err(format!(
            "nextUpdate {:?} is not a YYYY-MM-DD date",
            payload.next_update
        ))
    })?;
    let mut entries = HashMap::new();
    for (index, value) in payload.entries.into_iter().enumerate() {
        // U2F and UAF entries have no AAGUID; only FIDO2 entries are kept.
        if value.get("aaguid").is_none() {
            continue;
        }
        let raw: PayloadEntry = serde_json::from_value(value)
            .map_err(|e| meta_err(format!("entries[{index}] is malformed: {e}")))?;
        let entry = convert_entry(index, raw)?;
        let aaguid = entry.aaguid;
        if entries.insert(aaguid, entry).is_some() {
            return Err(meta_err(format!(
                "entries[{index}]: AAGUID {} appears more than once",
                format_aaguid(&aaguid)
            )));
        }
    }
    let metadata = Metadata {
        entries,
        number: payload.no,
        next_update,
        legal_header: payload.legal_header.unwrap_or_default(),
    };
    Ok((metadata, payload.next_update))
}

fn convert_entry(index: usize, raw: PayloadEntry) -> Result<MetadataEntry, Error> {
    let aaguid = parse_aaguid(&raw.aaguid).ok_or_else(|| {
        meta_err(format!(
            "entries[{index}]: aaguid {:?} is not a valid AAGUID",
            raw.aaguid
        ))
    })?;
    let name = format_aaguid(&aaguid);
    let at_entry = format!("entries[{index}] ({name})");
    let mut status_reports = raw
        .status_reports
        .into_iter()
        .enumerate()
        .map(|(j, report)| {
            let at = match report.effective_date {
                None => None,
                Some(date) => Some(parse_date(&date).ok_or_else(|| {
                    let field = format!("statusReports[{j}].effectiveDate");
                    meta_err(format!(
                        "{at_entry}: {field} {date:?} is not a YYYY-MM-DD date"
                    ))
                })?),
            };
            Ok((report.status, at))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    // Oldest first; reports without a date count as always in effect. The sort is stable, so
    // reports of one day keep the BLOB's order.
    status_reports.sort_by_key(|(_, at)| *at);

    let (description, icon, attestation_root_certificates) = match raw.metadata_statement {
        None => (String::new(), None, Vec::new()),
        Some(statement) => {
            if let Some(inner) = &statement.aaguid {
                if parse_aaguid(inner) != Some(aaguid) {
                    return Err(meta_err(format!(
                        "{at_entry}: metadataStatement.aaguid {inner:?} differs from the entry's aaguid"
                    )));
                }
            }
            let roots = statement
                .attestation_root_certificates
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    crate::b64::decode(c).ok_or_else(|| {
                        let field = format!("attestationRootCertificates[{j}]");
                        meta_err(format!("{at_entry}: {field} is not valid base64"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            // Icons are data: URLs by the spec; anything else (a remote URL) is dropped.
            let icon = statement.icon.filter(|i| i.starts_with("data:"));
            (statement.description, icon, roots)
        }
    };
    Ok(MetadataEntry {
        aaguid,
        description,
        icon,
        status_reports,
        attestation_root_certificates,
    })
}

// ---- dates ------------------------------------------------------------------------------------

/// Parses an MDS date, `YYYY-MM-DD`, to Unix seconds at 00:00 UTC of that day.
pub fn parse_date(text: &str) -> Option<i64> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = text.as_bytes() else {
        return None;
    };
    let number = |digits: &[u8]| -> Option<i64> {
        digits.iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let year = number(&[y0, y1, y2, y3])?;
    let month = number(&[m0, m1])?;
    let day = number(&[d0, d1])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * SECONDS_PER_DAY)
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (negative before it).
///
/// Years are counted from March, so that the leap day ends the year; the calendar then repeats
/// every 400 years (146,097 days), and the day of the shifted year follows from the month by
/// the 153-days-per-5-months rule (Mar-Jul and Aug-Dec are each 31,30,31,30,31).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719,468 days lie between 0000-03-01 (day 0 of era 0) and 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use rcgen::{
        date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, KeyPair,
        PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256,
    };

    const CERTIFIED: &str = "11111111-2222-3333-4444-555555555555";
    const REVOKED: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    const UNCERTIFIED: &str = "01234567-89ab-cdef-0123-456789abcdef";

    fn date(text: &str) -> UnixTime {
        UnixTime(parse_date(text).unwrap())
    }

    fn now() -> UnixTime {
        date("2026-01-15")
    }

    fn aaguid(text: &str) -> [u8; 16] {
        parse_aaguid(text).unwrap()
    }

    /// A test MDS root and a signing leaf under it.
    struct Pki {
        root: Vec<u8>,
        leaf: Vec<u8>,
        leaf_key: KeyPair,
        root_key: KeyPair,
    }

    fn pki(
        leaf_alg: &'static rcgen::SignatureAlgorithm,
        leaf_from: (i32, u8, u8),
        leaf_to: (i32, u8, u8),
    ) -> Pki {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut root_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        root_params
            .distinguished_name
            .push(DnType::CommonName, "Latch Test MDS Root");
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root_params.not_before = date_time_ymd(2020, 1, 1);
        root_params.not_after = date_time_ymd(2040, 1, 1);
        let root = root_params.self_signed(&root_key).unwrap();

        let leaf_key = KeyPair::generate_for(leaf_alg).unwrap();
        let mut leaf_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "Latch Test MDS Signer");
        leaf_params.is_ca = IsCa::ExplicitNoCa;
        leaf_params.not_before = date_time_ymd(leaf_from.0, leaf_from.1, leaf_from.2);
        leaf_params.not_after = date_time_ymd(leaf_to.0, leaf_to.1, leaf_to.2);
        let leaf = leaf_params.signed_by(&leaf_key, &root, &root_key).unwrap();
        Pki {
            root: root.der().to_vec(),
            leaf: leaf.der().to_vec(),
            leaf_key,
            root_key,
        }
    }

    fn es256_pki() -> Pki {
        pki(&PKCS_ECDSA_P256_SHA256, (2024, 1, 1), (2030, 1, 1))
    }

    fn payload(next_update: &str, root_b64: &str) -> Vec<u8> {
        serde_json::json!({
            "legalHeader": "Test BLOB; no agreement applies.",
            "no": 42,
            "nextUpdate": next_update,
            "entries": [
                {
                    "aaguid": CERTIFIED,
                    "metadataStatement": {
                        "aaguid": CERTIFIED,
                        "description": "Latch Certified Key",
                        "icon": "data:image/png;base64,iVBORw0KGgo=",
                        "protocolFamily": "fido2",
                        "attestationRootCertificates": [root_b64]
                    },
                    "statusReports": [
                        { "status": "FIDO_CERTIFIED_L1", "effectiveDate": "2021-01-01", "certificateNumber": "X1" },
                        { "status": "FIDO_CERTIFIED", "effectiveDate": "2021-01-01" }
                    ],
                    "timeOfLastStatusChange": "2021-01-01"
                },
                {
                    "aaguid": REVOKED,
                    "metadataStatement": {
                        "description": "Latch Revoked Key",
                        "icon": "https://example.invalid/icon.png",
                        "attestationRootCertificates": []
                    },
                    "statusReports": [
                        { "status": "REVOKED", "effectiveDate": "2025-06-01" },
                        { "status": "FIDO_CERTIFIED_L1", "effectiveDate": "2020-01-01" }
                    ],
                    "timeOfLastStatusChange": "2025-06-01"
                },
                {
                    "aaguid": UNCERTIFIED,
                    "metadataStatement": { "description": "Latch Uncertified Key" },
                    "statusReports": [ { "status": "NOT_FIDO_CERTIFIED", "effectiveDate": "2022-03-03" } ],
                    "timeOfLastStatusChange": "2022-03-03"
                },
                {
                    "attestationCertificateKeyIdentifiers": ["0123456789abcdef0123456789abcdef01234567"],
                    "metadataStatement": { "description": "A U2F key", "protocolFamily": "u2f" },
                    "statusReports": [],
                    "timeOfLastStatusChange": "2020-01-01"
                },
                {
                    "aaid": "4e4e#4005",
                    "metadataStatement": { "description": "A UAF authenticator", "protocolFamily": "uaf" },
                    "statusReports": [],
                    "timeOfLastStatusChange": "2020-01-01"
                }
            ]
        })
        .to_string()
        .into_bytes()
    }

    fn good_payload(pki: &Pki) -> Vec<u8> {
        payload("2026-11-01", &STANDARD.encode(&pki.root))
    }

    /// Signs `header.payload` with `sign` and returns the compact JWS.
    fn jws(header: &serde_json::Value, payload: &[u8], sign: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let input = format!(
            "{}.{}",
            crate::b64::encode(header.to_string()),
            crate::b64::encode(payload)
        );
        let sig = sign(input.as_bytes());
        format!("{input}.{}", crate::b64::encode(sig)).into_bytes()
    }

    fn es256_signer(key: &KeyPair) -> impl Fn(&[u8]) -> Vec<u8> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.serialize_der())
            .unwrap();
        move |msg| {
            pair.sign(&SystemRandom::new(), msg)
                .unwrap()
                .as_ref()
                .to_vec()
        }
    }

    fn rsa_signer(
        key: &KeyPair,
        padding: &'static dyn aws_lc_rs::signature::RsaEncoding,
    ) -> impl Fn(&[u8]) -> Vec<u8> {
        let pair = RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap();
        move |msg| {
            let mut sig = vec![0; pair.public_modulus_len()];
            pair.sign(padding, &SystemRandom::new(), msg, &mut sig)
                .unwrap();
            sig
        }
    }

    fn header(alg: &str, chain: &[&[u8]]) -> serde_json::Value {
        let x5c: Vec<String> = chain.iter().map(|c| STANDARD.encode(c)).collect();
        serde_json::json!({ "alg": alg, "typ": "JWT", "x5c": x5c })
    }

    fn es256_blob(pki: &Pki, payload: &[u8]) -> Vec<u8> {
        jws(
            &header("ES256", &[&pki.leaf]),
            payload,
            es256_signer(&pki.leaf_key),
        )
    }

    fn err(message: &str) -> Result<Metadata, Error> {
        Err(Error::Metadata(message.to_owned()))
    }

    #[test]
    fn dates_convert_to_unix_seconds_at_midnight_utc() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("1969-12-31"), Some(-86_400));
        assert_eq!(parse_date("2000-03-01"), Some(951_868_800));
        assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800));
        assert_eq!(parse_date("2025-06-01"), Some(1_748_736_000));
        assert_eq!(parse_date("2026-11-01"), Some(1_793_491_200));
        assert_eq!(parse_date("0000-01-01"), Some(-62_167_219_200));
        assert_eq!(parse_date("9999-12-31"), Some(253_402_214_400));
        // Consecutive days across every month boundary of a leap and a common year.
        for year in [2023, 2024, 2100] {
            let mut previous = parse_date(&format!("{year}-01-01")).unwrap() - 86_400;
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    let t = parse_date(&format!("{year}-{month:02}-{day:02}")).unwrap();
                    assert_eq!(t - previous, 86_400, "{year}-{month}-{day}");
                    previous = t;
                }
            }
        }
    }

    #[test]
    fn malformed_dates_are_refused() {
        for bad in [
            "2026-02-29",
            "2100-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-01-00",
            "26-01-01",
            "2026-1-01",
            "2026/01/01",
            "2026-01-1x",
            "+026-01-01",
            "2026-01-01T00:00:00Z",
            "",
            "2026-01-0é",
            "２０２６-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn good_es256_blob_loads() {
        let pki = es256_pki();
        let blob = es256_blob(&pki, &good_payload(&pki));
        let md = Metadata::from_blob(&blob, &pki.root, now()).unwrap();
        assert_eq!(md.number, 42);
        assert_eq!(md.next_update, 1_793_491_200);
        assert_eq!(md.legal_header, "Test BLOB; no agreement applies.");
        assert_eq!(md.entries.len(), 3, "U2F and UAF entries are skipped");
        assert_eq!(md.name_of(&aaguid(CERTIFIED)), Some("Latch Certified Key"));
        assert_eq!(
            md.name_of(&aaguid(UNCERTIFIED)),
            Some("Latch Uncertified Key")
        );
        assert_eq!(md.name_of(&[0; 16]), None);
        let certified = md.entry(&aaguid(CERTIFIED)).unwrap();
        assert_eq!(
            certified.icon.as_deref(),
            Some("data:image/png;base64,iVBORw0KGgo=")
        );
        assert_eq!(
            certified.attestation_root_certificates,
            vec![pki.root.clone()]
        );
        let revoked = md.entry(&aaguid(REVOKED)).unwrap();
        assert_eq!(revoked.icon, None, "a non-data: icon is dropped");
        assert_eq!(
            revoked.status_reports,
            vec![
                (
                    "FIDO_CERTIFIED_L1".to_owned(),
                    Some(parse_date("2020-01-01").unwrap())
                ),
                (
                    "REVOKED".to_owned(),
                    Some(parse_date("2025-06-01").unwrap())
                ),
            ],
            "status reports are sorted oldest first"
        );
    }

    #[test]
    fn chain_including_the_root_and_trailing_newline_load() {
        let pki = es256_pki();
        let mut blob = jws(
            &header("ES256", &[&pki.leaf, &pki.root]),
            &good_payload(&pki),
            es256_signer(&pki.leaf_key),
        );
        blob.extend_from_slice(b"\n");
        let md = Metadata::from_blob(&blob, &pki.root, now()).unwrap();
        assert_eq!(md.entries.len(), 3);
    }

    #[test]
    fn without_x5c_the_root_itself_signs() {
        let pki = es256_pki();
        let header = serde_json::json!({ "alg": "ES256", "typ": "JWT" });
        let blob = jws(&header, &good_payload(&pki), es256_signer(&pki.root_key));
        assert_eq!(
            Metadata::from_blob(&blob, &pki.root, now()).unwrap().number,
            42
        );
        // The leaf's signature is then checked against the root's key, and fails.
        let blob = jws(&header, &good_payload(&pki), es256_signer(&pki.leaf_key));
        assert_eq!(
            Metadata::from_blob(&blob, &pki.root, now()),
            err("the BLOB signature does not verify with the signing certificate's key")
        );
    }

    #[test]
    fn rs256_and_ps256_blobs_load() {
        let pki = pki(&PKCS_RSA_SHA256, (2024, 1, 1), (2030, 1, 1));
        let payload = good_payload(&pki);
        let rs = jws(
            &header("RS256", &[&pki.leaf]),
            &payload,
            rsa_signer(&pki.leaf_key, &aws_lc_rs::signature::RSA_PKCS1_SHA256),
        );
        assert_eq!(
            Metadata::from_blob(&rs, &pki.root, now())
                .unwrap()
                .entries
                .len(),
            3
        );
        let ps = jws(
            &header("PS256", &[&pki.leaf]),
            &payload,
            rsa_signer(&pki.leaf_key, &aws_lc_rs::signature::RSA_PSS_SHA256),
        );
        assert_eq!(
            Metadata::from_blob(&ps, &pki.root, now())
                .unwrap()
                .entries
                .len(),
            3
        );
        // A PKCS#1 v1.5 signature presented as PS256 does not verify.
        let mislabelled = jws(
            &header("PS256", &[&pki.leaf]),
            &payload,
            rsa_signer(&pki.leaf_key, &aws_lc_rs::signature::RSA_PKCS1_SHA256),
        );
        assert_eq!(
            Metadata::from_blob(&mislabelled, &pki.root, now()),
            err("the BLOB signature does not verify with the signing certificate's key")
        );
        // An RSA key cannot verify ES256.
        let wrong_alg = jws(&header("ES256", &[&pki.leaf]), &payload, |_| vec![0; 64]);
        assert_eq!(
            Metadata::from_blob(&wrong_alg, &pki.root, now()),
            err("JWS alg ES256 does not fit the signing certificate's key")
        );
    }

    #[test]
    fn wrong_root_is_refused() {
        let pki = es256_pki();
        let other = es256_pki();
        let blob = es256_blob(&pki, &good_payload(&pki));
        assert_eq!(
            Metadata::from_blob(&blob, &other.root, now()),
            err("signing certificate chain rejected: the certificate chain does not end at a trusted root for this authenticator")
        );
        assert_eq!(
            Metadata::from_blob(&blob, b"not a certificate", now()),
            Err(Error::Metadata(format!(
                "the trust anchor is not a usable certificate: {}",
                crate::cert::parse(b"not a certificate").unwrap_err()
            )))
        );
    }

    #[test]
    fn tampered_payload_fails_the_signature() {
        let pki = es256_pki();
        let blob = String::from_utf8(es256_blob(&pki, &good_payload(&pki))).unwrap();
        let parts: Vec<&str> = blob.split('.').collect();
        let mut tampered = good_payload(&pki);
        let at = tampered.windows(7).position(|w| w == b"REVOKED").unwrap();
        tampered[at..at + 7].copy_from_slice(b"REVOKEX");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            crate::b64::encode(&tampered),
            parts[2]
        );
        assert_eq!(
            Metadata::from_blob(forged.as_bytes(), &pki.root, now()),
            err("the BLOB signature does not verify with the signing certificate's key")
        );
        // A DER-encoded ECDSA signature is not a JWS signature (raw r||s).
        let der_signed = jws(&header("ES256", &[&pki.leaf]), &good_payload(&pki), |msg| {
            let pair = EcdsaKeyPair::from_pkcs8(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &pki.leaf_key.serialize_der(),
            )
            .unwrap();
            pair.sign(&SystemRandom::new(), msg)
                .unwrap()
                .as_ref()
                .to_vec()
        });
        assert_eq!(
            Metadata::from_blob(&der_signed, &pki.root, now()),
            err("the BLOB signature does not verify with the signing certificate's key")
        );
    }

    #[test]
    fn expired_leaf_is_refused() {
        let pki = pki(&PKCS_ECDSA_P256_SHA256, (2020, 1, 1), (2021, 1, 1));
        let blob = es256_blob(&pki, &good_payload(&pki));
        assert_eq!(
            Metadata::from_blob(&blob, &pki.root, now()),
            err("signing certificate chain rejected: certificate 0 of the chain is not valid at the verification time")
        );
    }

    #[test]
    fn stale_next_update_is_refused() {
        let pki = es256_pki();
        let blob = es256_blob(&pki, &payload("2025-12-31", &STANDARD.encode(&pki.root)));
        assert_eq!(
            Metadata::from_blob(&blob, &pki.root, now()),
            Err(Error::Metadata(format!(
                "metadata BLOB is stale: nextUpdate 2025-12-31 has passed (now is {})",
                now().0
            )))
        );
        // Good through the whole nextUpdate day, stale from the next midnight.
        let last_moment = UnixTime(parse_date("2026-01-01").unwrap() - 1);
        assert_eq!(
            Metadata::from_blob(&blob, &pki.root, last_moment)
                .unwrap()
                .number,
            42
        );
        let md = Metadata::from_blob(&blob, &pki.root, date("2025-12-31")).unwrap();
        assert!(!md.is_stale(last_moment));
        assert!(md.is_stale(date("2026-01-01")));
    }

    #[test]
    fn compromised_status_follows_effective_dates() {
        let pki = es256_pki();
        let md =
            Metadata::from_blob(&es256_blob(&pki, &good_payload(&pki)), &pki.root, now()).unwrap();
        let revoked = md.entry(&aaguid(REVOKED)).unwrap();
        assert_eq!(
            revoked.compromised_status(now()),
            Some("REVOKED".to_owned())
        );
        assert_eq!(
            revoked.compromised_status(date("2025-06-01")),
            Some("REVOKED".to_owned())
        );
        let day_before = UnixTime(parse_date("2025-06-01").unwrap() - 1);
        assert_eq!(revoked.compromised_status(day_before), None);
        assert!(revoked.is_certified(day_before));
        let certified = md.entry(&aaguid(CERTIFIED)).unwrap();
        assert_eq!(certified.compromised_status(now()), None);
    }

    #[test]
    fn certification_status_is_read() {
        let pki = es256_pki();
        let md =
            Metadata::from_blob(&es256_blob(&pki, &good_payload(&pki)), &pki.root, now()).unwrap();
        let certified = md.entry(&aaguid(CERTIFIED)).unwrap();
        assert!(certified.is_certified(now()));
        assert!(
            !certified.is_certified(date("2020-12-31")),
            "not yet certified"
        );
        assert!(!md.entry(&aaguid(UNCERTIFIED)).unwrap().is_certified(now()));
    }

    #[test]
    fn add_roots_to_registers_per_aaguid_anchors() {
        let pki = es256_pki();
        let md =
            Metadata::from_blob(&es256_blob(&pki, &good_payload(&pki)), &pki.root, now()).unwrap();
        let mut trust = TrustStore::empty();
        md.add_roots_to(&mut trust);
        assert_eq!(
            trust.anchors_for("packed", &aaguid(CERTIFIED)),
            vec![pki.root.as_slice()]
        );
        assert_eq!(
            trust.anchors_for("fido-u2f", &aaguid(CERTIFIED)),
            vec![pki.root.as_slice()]
        );
        assert!(trust.anchors_for("packed", &aaguid(REVOKED)).is_empty());
        assert!(trust.anchors_for("packed", &aaguid(UNCERTIFIED)).is_empty());
    }

    #[test]
    fn malformed_jws_is_refused() {
        let pki = es256_pki();
        let payload = good_payload(&pki);
        let root = &pki.root;
        assert_eq!(
            Metadata::from_blob(b"a.b", root, now()),
            err("the BLOB is not a compact JWS: expected 3 dot-separated parts, got 2")
        );
        assert_eq!(
            Metadata::from_blob(b"a.b.c.d.e", root, now()),
            err("the BLOB is not a compact JWS: expected 3 dot-separated parts, got 5")
        );
        assert_eq!(
            Metadata::from_blob(b"\xff.b.c", root, now()),
            err("the BLOB is not UTF-8 text")
        );
        assert_eq!(
            Metadata::from_blob(b"!!.b.c", root, now()),
            err("the JWS header is not valid base64url")
        );
        let not_json = format!("{}.e30.AA", crate::b64::encode("[1,2"));
        assert!(matches!(
            Metadata::from_blob(not_json.as_bytes(), root, now()),
            Err(Error::Metadata(m)) if m.starts_with("the JWS header is not valid JSON: ")
        ));
        let signer = es256_signer(&pki.leaf_key);
        let none = jws(&serde_json::json!({ "alg": "none" }), &payload, |_| {
            Vec::new()
        });
        assert_eq!(
            Metadata::from_blob(&none, root, now()),
            err("JWS alg \"none\" is not supported")
        );
        let crit = jws(
            &serde_json::json!({ "alg": "ES256", "crit": ["exp"], "x5c": [STANDARD.encode(&pki.leaf)] }),
            &payload,
            &signer,
        );
        assert_eq!(
            Metadata::from_blob(&crit, root, now()),
            err("the JWS header has \"crit\" extensions, which are not understood")
        );
        let x5u = jws(
            &serde_json::json!({ "alg": "ES256", "x5u": "https://example.invalid/c" }),
            &payload,
            &signer,
        );
        assert_eq!(
            Metadata::from_blob(&x5u, root, now()),
            err("x5u chains are not fetched: the BLOB must carry x5c")
        );
        let empty = jws(
            &serde_json::json!({ "alg": "ES256", "x5c": [] }),
            &payload,
            &signer,
        );
        assert_eq!(
            Metadata::from_blob(&empty, root, now()),
            err("the JWS header x5c is empty")
        );
        let bad_b64 = jws(
            &serde_json::json!({ "alg": "ES256", "x5c": ["%%%"] }),
            &payload,
            &signer,
        );
        assert_eq!(
            Metadata::from_blob(&bad_b64, root, now()),
            err("x5c[0] is not valid base64")
        );
        let bad_cert = jws(
            &serde_json::json!({ "alg": "ES256", "x5c": ["AAAA"] }),
            &payload,
            &signer,
        );
        assert!(matches!(
            Metadata::from_blob(&bad_cert, root, now()),
            Err(Error::Metadata(m)) if m.starts_with("x5c[0]: attestation certificate is malformed: ")
        ));
        let good = String::from_utf8(es256_blob(&pki, &payload)).unwrap();
        let bad_sig = format!("{}!", good);
        assert_eq!(
            Metadata::from_blob(bad_sig.as_bytes(), root, now()),
            err("the JWS signature is not valid base64url")
        );
    }

    #[test]
    fn malformed_payloads_are_refused() {
        let json = |entries: serde_json::Value| {
            serde_json::json!({ "no": 1, "nextUpdate": "2026-11-01", "entries": entries })
                .to_string()
        };
        let load = |text: String| Metadata::from_payload_json(text.as_bytes());
        assert_eq!(
            load(json(
                serde_json::json!([{ "aaguid": "xyz", "statusReports": [] }])
            ))
            .unwrap_err(),
            Error::Metadata("entries[0]: aaguid \"xyz\" is not a valid AAGUID".to_owned())
        );
        assert_eq!(
            load(json(serde_json::json!([{ "aaguid": CERTIFIED, "statusReports": [
                { "status": "FIDO_CERTIFIED", "effectiveDate": "2021-02-30" }
            ] }])))
            .unwrap_err(),
            Error::Metadata(format!(
                "entries[0] ({CERTIFIED}): statusReports[0].effectiveDate \"2021-02-30\" is not a YYYY-MM-DD date"
            ))
        );
        assert_eq!(
            load(json(serde_json::json!([
                { "aaguid": CERTIFIED, "statusReports": [] },
                { "aaguid": CERTIFIED.to_uppercase(), "statusReports": [] }
            ])))
            .unwrap_err(),
            Error::Metadata(format!(
                "entries[1]: AAGUID {CERTIFIED} appears more than once"
            ))
        );
        assert_eq!(
            load(json(serde_json::json!([{ "aaguid": CERTIFIED, "statusReports": [],
                "metadataStatement": { "aaguid": REVOKED, "description": "x" } }])))
            .unwrap_err(),
            Error::Metadata(format!(
                "entries[0] ({CERTIFIED}): metadataStatement.aaguid \"{REVOKED}\" differs from the entry's aaguid"
            ))
        );
        assert_eq!(
            load(json(serde_json::json!([{ "aaguid": CERTIFIED, "statusReports": [],
                "metadataStatement": { "description": "x", "attestationRootCertificates": ["MII", "%"] } }])))
            .unwrap_err(),
            Error::Metadata(format!(
                "entries[0] ({CERTIFIED}): attestationRootCertificates[1] is not valid base64"
            ))
        );
        assert!(matches!(
            load(json(serde_json::json!([{ "aaguid": 7 }]))),
            Err(Error::Metadata(m)) if m.starts_with("entries[0] is malformed: ")
        ));
        assert_eq!(
            load(r#"{"no":1,"nextUpdate":"soon","entries":[]}"#.to_owned()).unwrap_err(),
            Error::Metadata("nextUpdate \"soon\" is not a YYYY-MM-DD date".to_owned())
        );
        assert!(matches!(
            load(r#"{"nextUpdate":"2026-11-01","entries":[]}"#.to_owned()),
            Err(Error::Metadata(m)) if m.starts_with("the payload is not a valid MDS3 BLOB payload: missing field `no`")
        ));
        // An entry without a statement still loads, without a name.
        let md = load(json(
            serde_json::json!([{ "aaguid": CERTIFIED, "statusReports": [] }]),
        ))
        .unwrap();
        assert_eq!(md.name_of(&aaguid(CERTIFIED)), None);
        assert!(md.entry(&aaguid(CERTIFIED)).is_some());
    }

    /// The real MDS3 payload, when `LATCH_MDS_JSON` names a decoded copy of it.
    #[test]
    fn real_payload_loads() {
        let Ok(path) = std::env::var("LATCH_MDS_JSON") else {
            println!(
                "skipped: set LATCH_MDS_JSON to a decoded MDS3 payload (metadata.json) to run"
            );
            return;
        };
        let json = std::fs::read(&path).unwrap();
        let md = Metadata::from_payload_json(&json).unwrap();
        assert!(md.entries.len() > 300, "{} FIDO2 entries", md.entries.len());
        assert!(md.number >= 291, "BLOB no {}", md.number);
        println!("BLOB no {}: {} FIDO2 entries", md.number, md.entries.len());
        let yubikey = aaguid("cb69481e-8ff7-4039-93ec-0a2729a154a8");
        assert_eq!(md.name_of(&yubikey), Some("YubiKey 5 Series"));
        let entry = md.entry(&yubikey).unwrap();
        assert!(entry.is_certified(now()));
        assert_eq!(entry.compromised_status(now()), None);
        assert!(!entry.attestation_root_certificates.is_empty());
        for root in &entry.attestation_root_certificates {
            crate::cert::parse(root).unwrap();
        }
        assert!(entry
            .icon
            .as_deref()
            .is_some_and(|i| i.starts_with("data:image/")));
        for e in md.entries.values() {
            let dates: Vec<_> = e.status_reports.iter().map(|(_, at)| *at).collect();
            assert!(
                dates.windows(2).all(|w| w[0] <= w[1]),
                "{}",
                format_aaguid(&e.aaguid)
            );
        }
        // Its BLOB lists REVOKED (2023-12-20) before NOT_FIDO_CERTIFIED (2023-11-07).
        let truu = md
            .entry(&aaguid("ba86dc56-635f-4141-aef6-00227b1b9af6"))
            .unwrap();
        assert_eq!(truu.description, "TruU Windows Authenticator");
        assert_eq!(truu.compromised_status(now()), Some("REVOKED".to_owned()));
        assert_eq!(truu.compromised_status(date("2023-12-19")), None);
        assert_eq!(
            truu.status_reports.first().map(|(s, _)| s.as_str()),
            Some("NOT_FIDO_CERTIFIED")
        );
        let mut trust = TrustStore::empty();
        md.add_roots_to(&mut trust);
        assert_eq!(
            trust.anchors_for("packed", &yubikey).len(),
            entry.attestation_root_certificates.len()
        );
    }
}
