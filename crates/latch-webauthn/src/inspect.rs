//! Decoding a response for people: every field of a registration or authentication response
//! as JSON, without verifying anything (that is `verify_*`'s job).

use ciborium::value::Value as Cbor;
use serde_json::{json, Map, Value};

use crate::auth_data::{format_aaguid, AuthenticatorData};
use crate::registration::AttestationObject;
use crate::wire::{AuthenticationResponseJson, RegistrationResponseJson};
use crate::{b64, cert, Error};

/// Names of well-known passkey providers by AAGUID (metadata covers security keys).
const KNOWN_AAGUIDS: &[(&str, &str)] = &[
    ("fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "iCloud Keychain"),
    (
        "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
        "Google Password Manager",
    ),
    ("adce0002-35bc-c60a-648b-0b25f1f05503", "Chrome on Mac"),
    ("08987058-cadc-4b81-b6e1-30de50dcbe96", "Windows Hello"),
    ("9ddd1817-af5a-4672-a2b9-3e3dd95000a9", "Windows Hello"),
    ("6028b017-b1d4-4c02-b4b3-afcdafc96bb2", "Windows Hello"),
    ("bada5566-a7aa-401f-bd96-45619a55120d", "1Password"),
    ("d548826e-79b4-db40-a3d8-11116f7e8349", "Bitwarden"),
    (
        "00000000-0000-0000-0000-000000000000",
        "(no AAGUID: U2F or anonymised)",
    ),
];

/// The authenticator's name: from metadata when given, else the built-in table of providers.
pub fn authenticator_name(
    aaguid: &[u8; 16],
    metadata: Option<&crate::mds::Metadata>,
) -> Option<String> {
    if let Some(entry) = metadata.and_then(|m| m.entry(aaguid)) {
        return Some(entry.description.clone());
    }
    let text = format_aaguid(aaguid);
    KNOWN_AAGUIDS
        .iter()
        .find(|(a, _)| *a == text)
        .map(|(_, n)| (*n).to_owned())
}

/// CBOR as JSON: byte strings become base64url, integer keys become strings.
pub fn cbor_to_json(v: &Cbor) -> Value {
    match v {
        Cbor::Integer(i) => i64::try_from(*i)
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(format!("{i:?}"))),
        Cbor::Bytes(b) => Value::String(b64::encode(b)),
        Cbor::Float(f) => json!(f),
        Cbor::Text(t) => Value::String(t.clone()),
        Cbor::Bool(b) => Value::Bool(*b),
        Cbor::Null => Value::Null,
        Cbor::Tag(t, inner) => json!({ "tag": t, "value": cbor_to_json(inner) }),
        Cbor::Array(items) => Value::Array(items.iter().map(cbor_to_json).collect()),
        Cbor::Map(pairs) => {
            let mut m = Map::new();
            for (k, v) in pairs {
                let key = match cbor_to_json(k) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                m.insert(key, cbor_to_json(v));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

/// Sets `key` on a JSON object (a no-op on anything else).
fn set(target: &mut Value, key: &str, value: Value) {
    if let Value::Object(m) = target {
        m.insert(key.to_owned(), value);
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn describe_client_data(raw: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(raw) {
        Ok(v) => json!({ "raw": String::from_utf8_lossy(raw), "parsed": v }),
        Err(e) => json!({ "raw": String::from_utf8_lossy(raw), "error": e.to_string() }),
    }
}

fn describe_auth_data(raw: &[u8], metadata: Option<&crate::mds::Metadata>) -> Value {
    let a = match AuthenticatorData::parse(raw) {
        Ok(a) => a,
        Err(e) => return json!({ "error": e.to_string(), "hex": hex(raw) }),
    };
    let mut v = json!({
        "rpIdHash": hex(&a.rp_id_hash),
        "flags": a.flags.to_json(),
        "flagsByte": format!("0x{:02x}", a.flags.0),
        "signCount": a.sign_count,
    });
    if let Some(c) = &a.attested {
        set(
            &mut v,
            "attestedCredentialData",
            json!({
                "aaguid": format_aaguid(&c.aaguid),
                "authenticatorName": authenticator_name(&c.aaguid, metadata),
                "credentialId": b64::encode(&c.credential_id),
                "credentialIdLength": c.credential_id.len(),
                "publicKey": c.public_key.describe(),
            }),
        );
    }
    if let Some(ext) = &a.extensions {
        set(&mut v, "extensions", cbor_to_json(ext));
    }
    v
}

fn describe_certificate(der: &[u8]) -> Value {
    match cert::parse(der) {
        Ok(c) => json!({
            "subject": c.subject().to_string(),
            "issuer": c.issuer().to_string(),
            "serial": c.raw_serial_as_string(),
            "notBefore": c.validity().not_before.to_string(),
            "notAfter": c.validity().not_after.to_string(),
            "publicKeyAlgorithm": c.public_key().algorithm.algorithm.to_id_string(),
            "signatureAlgorithm": c.signature_algorithm.algorithm.to_id_string(),
            "isCa": c.is_ca(),
            "extensions": c.extensions().iter().map(|e| json!({
                "oid": e.oid.to_id_string(), "critical": e.critical,
            })).collect::<Vec<_>>(),
        }),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

fn describe_statement(stmt: &Cbor) -> Value {
    let mut v = cbor_to_json(stmt);
    if let Cbor::Map(pairs) = stmt {
        for (k, val) in pairs {
            if let (Some("x5c"), Cbor::Array(certs)) = (k.as_text(), val) {
                let chain: Vec<Value> = certs
                    .iter()
                    .map(|c| match c {
                        Cbor::Bytes(der) => describe_certificate(der),
                        _ => json!({ "error": "not a byte string" }),
                    })
                    .collect();
                set(&mut v, "x5cDecoded", Value::Array(chain));
            }
        }
    }
    v
}

/// Every field of a registration response.
pub fn describe_registration(
    r: &RegistrationResponseJson,
    metadata: Option<&crate::mds::Metadata>,
) -> Value {
    let mut v = json!({
        "kind": "registration",
        "id": r.id,
        "type": r.ty,
        "authenticatorAttachment": r.authenticator_attachment,
        "transports": r.response.transports,
        "clientData": describe_client_data(r.response.client_data_json.as_ref()),
        "clientExtensionResults": r.client_extension_results,
    });
    match AttestationObject::parse(r.response.attestation_object.as_ref()) {
        Ok(obj) => {
            set(
                &mut v,
                "authenticatorData",
                describe_auth_data(&obj.auth_data, metadata),
            );
            set(
                &mut v,
                "attestation",
                json!({ "fmt": obj.fmt, "attStmt": describe_statement(&obj.att_stmt) }),
            );
        }
        Err(e) => set(&mut v, "attestation", json!({ "error": e.to_string() })),
    }
    v
}

/// Every field of an authentication response.
pub fn describe_authentication(
    r: &AuthenticationResponseJson,
    metadata: Option<&crate::mds::Metadata>,
) -> Value {
    json!({
        "kind": "authentication",
        "id": r.id,
        "type": r.ty,
        "authenticatorAttachment": r.authenticator_attachment,
        "clientData": describe_client_data(r.response.client_data_json.as_ref()),
        "authenticatorData": describe_auth_data(r.response.authenticator_data.as_ref(), metadata),
        "signature": hex(r.response.signature.as_ref()),
        "userHandle": r.response.user_handle.as_ref().map(b64::encode),
        "clientExtensionResults": r.client_extension_results,
    })
}

/// Decodes either kind of response from JSON text (an `attestationObject` means registration).
pub fn describe_json(
    bytes: &[u8],
    metadata: Option<&crate::mds::Metadata>,
) -> Result<Value, Error> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| Error::MalformedResponse(e.to_string()))?;
    // Accept a bare response or a conformance case that wraps one.
    let response = value
        .get("response")
        .filter(|r| r.get("response").is_some())
        .cloned()
        .unwrap_or(value);
    if response
        .get("response")
        .and_then(|r| r.get("attestationObject"))
        .is_some()
    {
        let r: RegistrationResponseJson = serde_json::from_value(response)
            .map_err(|e| Error::MalformedResponse(e.to_string()))?;
        Ok(describe_registration(&r, metadata))
    } else {
        let r: AuthenticationResponseJson = serde_json::from_value(response)
            .map_err(|e| Error::MalformedResponse(e.to_string()))?;
        Ok(describe_authentication(&r, metadata))
    }
}
