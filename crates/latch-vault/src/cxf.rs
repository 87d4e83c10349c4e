//! Passkeys in and out as the FIDO Credential Exchange Format (CXF, JSON): a header, accounts,
//! items, and per item its credentials, of which this reads and writes the `passkey` ones
//! (credential ID, RP ID, user name, display name, user handle, the PKCS#8 private key, and the
//! hmac-secret pair as `fido2Extensions.hmacCredentials`).
//!
//! A credential with a signature counter above zero is device-bound: a copy elsewhere would be
//! a clone its relying party may catch (and lock), so it is never exported. Imported passkeys
//! are synced passkeys: counter 0, backed up.

use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::content::{HmacSecret, Passkey, Stamp, Stamped};
use crate::error::VaultError;
use crate::ids::DeviceId;

/// One credential offered for export, with its signature counter.
pub struct Exportable<'a> {
    pub passkey: &'a Passkey,
    pub counter: u32,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The CXF document of the exportable passkeys, and the credential IDs left out (device-bound).
pub fn export<'a>(
    exporter: &str,
    passkeys: impl IntoIterator<Item = Exportable<'a>>,
    now: u64,
) -> (Value, Vec<String>) {
    let mut items = Vec::new();
    let mut excluded = Vec::new();
    for Exportable {
        passkey: p,
        counter,
    } in passkeys
    {
        if counter > 0 {
            excluded.push(b64(&p.credential_id));
            continue;
        }
        let mut credential = json!({
            "type": "passkey",
            "credentialId": b64(&p.credential_id),
            "rpId": p.rp_id,
            "username": p.user_name.value,
            "userDisplayName": p.user_display_name.value,
            "userHandle": b64(&p.user_handle),
            "key": b64(&p.key),
        });
        if let Some(h) = &p.hmac_secret {
            if let Some(fields) = credential.as_object_mut() {
                let hmac = json!({ "hmacCredentials": {
                    "algorithm": "hmac-sha256",
                    "credWithUV": b64(&h.with_uv),
                    "credWithoutUV": b64(&h.without_uv),
                }});
                fields.insert("fido2Extensions".into(), hmac);
            }
        }
        let modified = p.user_name.at.ms.max(p.user_display_name.at.ms) / 1000;
        items.push(json!({
            "id": b64(&p.credential_id),
            "creationAt": p.created,
            "modifiedAt": modified,
            "title": p.rp_id,
            "credentials": [credential],
        }));
    }
    let document = json!({
        "version": { "major": 1, "minor": 0 },
        "exporterRpId": exporter,
        "exporterDisplayName": "Latch",
        "timestamp": now,
        "accounts": [{ "id": b64(exporter.as_bytes()), "username": "", "email": "", "collections": [], "items": items }],
    });
    (document, excluded)
}

fn bytes(credential: &Value, field: &'static str) -> Result<Vec<u8>, VaultError> {
    let text = credential[field]
        .as_str()
        .ok_or_else(|| VaultError::malformed("CXF passkey", format!("{field} is missing")))?;
    // Exporters differ on padding; both forms are base64url.
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| VaultError::malformed("CXF passkey", format!("{field} is not base64url")))
}

fn text(credential: &Value, field: &'static str) -> Result<String, VaultError> {
    credential[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| VaultError::malformed("CXF passkey", format!("{field} is missing")))
}

/// The private key, as the PKCS#8 document the format calls for: P-256 ECDSA or Ed25519.
/// Some exporters write a P-256 key as a bare SEC1 `ECPrivateKey`; that is taken too, and
/// rewritten as PKCS#8.
fn normalized_key(key: Vec<u8>) -> Result<Vec<u8>, VaultError> {
    if EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key).is_ok()
        || Ed25519KeyPair::from_pkcs8_maybe_unchecked(&key).is_ok()
    {
        return Ok(key);
    }
    EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, &key)
        .ok()
        .and_then(|pair| pair.to_pkcs8v1().ok())
        .map(|doc| doc.as_ref().to_vec())
        .ok_or_else(|| {
            VaultError::malformed(
                "CXF passkey",
                "key is not a P-256 or Ed25519 PKCS#8 private key",
            )
        })
}

/// Every passkey in a CXF document (other credential types are kept out, not refused), stamped
/// as set now by `device`.
pub fn import(document: &Value, now_ms: u64, device: DeviceId) -> Result<Vec<Passkey>, VaultError> {
    let at = Stamp { ms: now_ms, device };
    let accounts = document["accounts"]
        .as_array()
        .ok_or_else(|| VaultError::malformed("CXF document", "no accounts"))?;
    let mut out = Vec::new();
    for item in accounts
        .iter()
        .flat_map(|a| a["items"].as_array().into_iter().flatten())
    {
        let created = item["creationAt"].as_u64().unwrap_or(now_ms / 1000);
        for c in item["credentials"].as_array().into_iter().flatten() {
            if c["type"] != "passkey" {
                continue;
            }
            let key = normalized_key(bytes(c, "key")?)?;
            let hmac = c
                .get("fido2Extensions")
                .and_then(|e| e.get("hmacCredentials"));
            let hmac_secret = match hmac {
                Some(h) if h.is_object() => Some(HmacSecret {
                    with_uv: bytes(h, "credWithUV")?,
                    without_uv: bytes(h, "credWithoutUV")?,
                }),
                _ => None,
            };
            let user_name = text(c, "username")?;
            let display = c["userDisplayName"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| user_name.clone());
            out.push(Passkey {
                credential_id: bytes(c, "credentialId")?,
                rp_id: text(c, "rpId")?,
                user_handle: bytes(c, "userHandle")?,
                key,
                hmac_secret,
                created,
                user_name: Stamped {
                    value: user_name,
                    at,
                },
                user_display_name: Stamped { value: display, at },
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::{AsDer, EcPrivateKeyRfc5915Der};

    use super::*;
    use crate::content::tests::passkey;

    fn real_key() -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .unwrap()
            .as_ref()
            .to_vec()
    }

    #[test]
    fn passkeys_round_trip_and_counted_credentials_stay_behind() {
        let at = Stamp {
            ms: 5_000,
            device: DeviceId([1; 16]),
        };
        let mut synced = passkey("alice", at);
        synced.key = real_key();
        synced.hmac_secret = Some(HmacSecret {
            with_uv: vec![1; 32],
            without_uv: vec![2; 32],
        });
        let mut bound = passkey("bob", at);
        bound.credential_id = vec![7, 7];
        let (doc, excluded) = export(
            "latch.example",
            [
                Exportable {
                    passkey: &synced,
                    counter: 0,
                },
                Exportable {
                    passkey: &bound,
                    counter: 3,
                },
            ],
            10,
        );
        assert_eq!(excluded, vec![b64(&[7, 7])]);
        let back = import(&doc, 9_000, DeviceId([2; 16])).unwrap();
        assert_eq!(back.len(), 1);
        let p = &back[0];
        assert_eq!(
            (
                p.credential_id.clone(),
                p.rp_id.as_str(),
                p.user_name.value.as_str()
            ),
            (synced.credential_id.clone(), "example.com", "alice")
        );
        assert_eq!(
            (p.user_handle.clone(), p.key.clone()),
            (synced.user_handle.clone(), synced.key.clone())
        );
        assert_eq!(p.hmac_secret, synced.hmac_secret);
    }

    #[test]
    fn import_keeps_other_types_out_and_refuses_a_bad_passkey() {
        let key = b64(&real_key());
        let doc = json!({ "accounts": [{ "items": [{ "credentials": [
            { "type": "basic-auth", "username": "x" },
            { "type": "passkey", "credentialId": "AQI=", "rpId": "a.example", "username": "u", "userHandle": "CQ", "key": key },
        ]}]}]});
        let got = import(&doc, 1, DeviceId([0; 16])).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].credential_id, vec![1, 2]);
        let bad = json!({ "accounts": [{ "items": [{ "credentials": [
            { "type": "passkey", "credentialId": "AQI", "rpId": "a.example", "username": "u", "userHandle": "CQ", "key": "AAAA" },
        ]}]}]});
        assert!(matches!(
            import(&bad, 1, DeviceId([0; 16])),
            Err(VaultError::Malformed { .. })
        ));
        // The same P-256 key as a bare SEC1 ECPrivateKey comes back as PKCS#8.
        let pkcs8 = real_key();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8).unwrap();
        let sec1 = AsDer::<EcPrivateKeyRfc5915Der>::as_der(&pair.private_key()).unwrap();
        let doc = json!({ "accounts": [{ "items": [{ "credentials": [
            { "type": "passkey", "credentialId": "AQI", "rpId": "a.example", "username": "u", "userHandle": "CQ", "key": b64(sec1.as_ref()) },
        ]}]}]});
        let got = import(&doc, 1, DeviceId([0; 16])).unwrap();
        assert!(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &got[0].key).is_ok());
        let missing = json!({ "accounts": [{ "items": [{ "credentials": [{ "type": "passkey", "key": key }] }] }] });
        assert!(matches!(
            import(&missing, 1, DeviceId([0; 16])),
            Err(VaultError::Malformed { .. })
        ));
    }
}
