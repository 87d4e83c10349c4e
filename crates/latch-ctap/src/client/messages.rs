//! The parameters and answers of makeCredential and getAssertion, and the entities they
//! carry (CTAP 2.1 §6.1, §6.2).

use ciborium::value::Value;

use super::parse::{self, opt, opt_bool, opt_bytes, opt_uint};
use super::pin::PinUvAuthToken;
use super::Error;
use crate::cbor::{self, int_key, text_key};

/// A PublicKeyCredentialRpEntity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rp {
    /// The RP ID.
    pub id: String,
    /// Its name, if any.
    pub name: Option<String>,
}

/// A PublicKeyCredentialUserEntity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// The user handle.
    pub id: Vec<u8>,
    /// name.
    pub name: Option<String>,
    /// displayName.
    pub display_name: Option<String>,
}

impl User {
    /// As CBOR (text keys id, name, displayName).
    pub fn to_cbor(&self) -> Value {
        let mut map = vec![text_key("id", Value::Bytes(self.id.clone()))];
        if let Some(name) = &self.name {
            map.push(text_key("name", Value::Text(name.clone())));
        }
        if let Some(display_name) = &self.display_name {
            map.push(text_key("displayName", Value::Text(display_name.clone())));
        }
        Value::Map(map)
    }

    pub(crate) fn from_cbor(value: &Value) -> Result<Self, Error> {
        let map = parse::map(value, "user")?;
        let id = crate::cbor::read::get_text(map, "id")
            .ok_or_else(|| Error::response("user.id is missing"))?;
        Ok(Self {
            id: parse::bytes(id, "user.id")?,
            name: parse::text_field(map, "name", "user.name")?,
            display_name: parse::text_field(map, "displayName", "user.displayName")?,
        })
    }
}

/// A PublicKeyCredentialDescriptor of type public-key, as CBOR.
pub fn descriptor(id: &[u8]) -> Value {
    Value::Map(vec![
        text_key("id", Value::Bytes(id.to_vec())),
        text_key("type", Value::Text("public-key".into())),
    ])
}

/// makeCredential parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MakeCredentialRequest {
    /// clientDataHash (0x01).
    pub client_data_hash: [u8; 32],
    /// rp (0x02).
    pub rp: Rp,
    /// user (0x03).
    pub user: User,
    /// pubKeyCredParams (0x04): COSE algs in order of preference.
    pub algorithms: Vec<i64>,
    /// excludeList (0x05): credential IDs.
    pub exclude_list: Vec<Vec<u8>>,
    /// extensions (0x06), a CBOR map keyed by extension identifier.
    pub extensions: Vec<(String, Value)>,
    /// options.rk (0x07).
    pub rk: Option<bool>,
    /// options.uv (0x07). Leave unset when sending a PIN token.
    pub uv: Option<bool>,
    /// pinUvAuthParam / pinUvAuthProtocol (0x08, 0x09): authenticate(token, clientDataHash).
    pub pin_uv_auth: Option<PinUvAuthParam>,
    /// enterpriseAttestation (0x0A).
    pub enterprise_attestation: Option<u64>,
}

/// A pinUvAuthParam with its protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinUvAuthParam {
    /// The MAC.
    pub param: Vec<u8>,
    /// The protocol number (1 or 2).
    pub protocol: u8,
}

impl PinUvAuthParam {
    /// authenticate(token, clientDataHash), for makeCredential / getAssertion.
    pub fn for_client_data(token: &PinUvAuthToken, client_data_hash: &[u8]) -> Self {
        Self {
            param: token.authenticate(client_data_hash),
            protocol: token.protocol().wire(),
        }
    }
}

fn options_map(rk: Option<bool>, up: Option<bool>, uv: Option<bool>) -> Option<Value> {
    let map: Vec<_> = [("rk", rk), ("up", up), ("uv", uv)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| text_key(k, Value::Bool(v))))
        .collect();
    (!map.is_empty()).then_some(Value::Map(map))
}

fn extensions_map(extensions: &[(String, Value)]) -> Option<Value> {
    (!extensions.is_empty()).then(|| {
        Value::Map(
            extensions
                .iter()
                .map(|(k, v)| text_key(k, v.clone()))
                .collect(),
        )
    })
}

impl MakeCredentialRequest {
    /// The request map.
    pub fn to_cbor(&self) -> Value {
        let mut rp = vec![text_key("id", Value::Text(self.rp.id.clone()))];
        if let Some(name) = &self.rp.name {
            rp.push(text_key("name", Value::Text(name.clone())));
        }
        let params = self
            .algorithms
            .iter()
            .map(|alg| {
                Value::Map(vec![
                    text_key("alg", Value::Integer((*alg).into())),
                    text_key("type", Value::Text("public-key".into())),
                ])
            })
            .collect();
        let mut map = vec![
            int_key(0x01, Value::Bytes(self.client_data_hash.to_vec())),
            int_key(0x02, Value::Map(rp)),
            int_key(0x03, self.user.to_cbor()),
            int_key(0x04, Value::Array(params)),
        ];
        if !self.exclude_list.is_empty() {
            let list = self.exclude_list.iter().map(|id| descriptor(id)).collect();
            map.push(int_key(0x05, Value::Array(list)));
        }
        if let Some(ext) = extensions_map(&self.extensions) {
            map.push(int_key(0x06, ext));
        }
        if let Some(options) = options_map(self.rk, None, self.uv) {
            map.push(int_key(0x07, options));
        }
        if let Some(auth) = &self.pin_uv_auth {
            map.push(int_key(0x08, Value::Bytes(auth.param.clone())));
            map.push(int_key(0x09, Value::Integer(auth.protocol.into())));
        }
        if let Some(ep) = self.enterprise_attestation {
            map.push(int_key(0x0A, Value::Integer(ep.into())));
        }
        Value::Map(map)
    }
}

/// makeCredential's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct MadeCredential {
    /// fmt (0x01).
    pub fmt: String,
    /// authData (0x02).
    pub auth_data: Vec<u8>,
    /// attStmt (0x03), as sent.
    pub att_stmt: Value,
    /// epAtt (0x04).
    pub ep_att: Option<bool>,
    /// largeBlobKey (0x05).
    pub large_blob_key: Option<Vec<u8>>,
}

impl MadeCredential {
    pub(crate) fn from_map(map: &[(Value, Value)]) -> Result<Self, Error> {
        Ok(Self {
            fmt: parse::text(parse::req(map, 0x01, "fmt")?, "fmt")?,
            auth_data: parse::bytes(parse::req(map, 0x02, "authData")?, "authData")?,
            att_stmt: parse::req(map, 0x03, "attStmt")?.clone(),
            ep_att: opt_bool(map, 0x04, "epAtt")?,
            large_blob_key: opt_bytes(map, 0x05, "largeBlobKey")?,
        })
    }

    /// The credential ID from the attested credential data.
    pub fn credential_id(&self) -> Result<Vec<u8>, Error> {
        attested_credential(&self.auth_data).map(|(id, _)| id.to_vec())
    }

    /// The credential public key (COSE, as encoded by the key).
    pub fn public_key_cose(&self) -> Result<Vec<u8>, Error> {
        attested_credential(&self.auth_data).map(|(_, rest)| rest.to_vec())
    }

    /// The authenticator extension outputs in authData (empty without the ED flag).
    pub fn extension_outputs(&self) -> Result<Vec<(Value, Value)>, Error> {
        if self.auth_data.get(32).is_none_or(|flags| flags & 0x80 == 0) {
            return Ok(Vec::new());
        }
        let (_, mut rest) = attested_credential(&self.auth_data)?;
        ciborium::de::from_reader::<Value, _>(&mut rest)
            .map_err(|_| Error::response("authData credential public key is not CBOR"))?;
        outputs_map(rest)
    }

    /// The WebAuthn attestationObject: {"fmt", "attStmt", "authData"} with text keys,
    /// canonically encoded.
    pub fn attestation_object(&self) -> Result<Vec<u8>, Error> {
        cbor::encode(&Value::Map(vec![
            text_key("fmt", Value::Text(self.fmt.clone())),
            text_key("attStmt", self.att_stmt.clone()),
            text_key("authData", Value::Bytes(self.auth_data.clone())),
        ]))
        .map_err(|_| Error::response("attStmt is not encodable as canonical CBOR"))
    }
}

/// (credentialId, credentialPublicKey and extensions) from authData with attested credential
/// data: rpIdHash 32 | flags 1 | signCount 4 | aaguid 16 | L 2 | id L | key ….
fn attested_credential(auth_data: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let short = || Error::response("authData too short for attested credential data");
    let flags = auth_data.get(32).ok_or_else(short)?;
    if flags & 0x40 == 0 {
        return Err(Error::response(
            "authData has no attested credential data (AT flag clear)",
        ));
    }
    let rest = auth_data.get(53..).ok_or_else(short)?;
    let (len, rest) = rest.split_first_chunk::<2>().ok_or_else(short)?;
    let len = usize::from(u16::from_be_bytes(*len));
    rest.split_at_checked(len).ok_or_else(short)
}

/// The CBOR map of extension outputs that ends authData.
fn outputs_map(bytes: &[u8]) -> Result<Vec<(Value, Value)>, Error> {
    let value = ciborium::de::from_reader_with_recursion_limit::<Value, _>(bytes, 16)
        .map_err(|_| Error::response("authData extension outputs are not CBOR"))?;
    parse::map(&value, "authData extensions").map(<[_]>::to_vec)
}

/// getAssertion parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GetAssertionRequest {
    /// rpId (0x01).
    pub rp_id: String,
    /// clientDataHash (0x02).
    pub client_data_hash: [u8; 32],
    /// allowList (0x03): credential IDs.
    pub allow_list: Vec<Vec<u8>>,
    /// extensions (0x04).
    pub extensions: Vec<(String, Value)>,
    /// options.up (0x05); `Some(false)` for a silent probe.
    pub up: Option<bool>,
    /// options.uv (0x05).
    pub uv: Option<bool>,
    /// pinUvAuthParam / pinUvAuthProtocol (0x06, 0x07).
    pub pin_uv_auth: Option<PinUvAuthParam>,
}

impl GetAssertionRequest {
    /// The request map.
    pub fn to_cbor(&self) -> Value {
        let mut map = vec![
            int_key(0x01, Value::Text(self.rp_id.clone())),
            int_key(0x02, Value::Bytes(self.client_data_hash.to_vec())),
        ];
        if !self.allow_list.is_empty() {
            let list = self.allow_list.iter().map(|id| descriptor(id)).collect();
            map.push(int_key(0x03, Value::Array(list)));
        }
        if let Some(ext) = extensions_map(&self.extensions) {
            map.push(int_key(0x04, ext));
        }
        if let Some(options) = options_map(None, self.up, self.uv) {
            map.push(int_key(0x05, options));
        }
        if let Some(auth) = &self.pin_uv_auth {
            map.push(int_key(0x06, Value::Bytes(auth.param.clone())));
            map.push(int_key(0x07, Value::Integer(auth.protocol.into())));
        }
        Value::Map(map)
    }
}

/// One getAssertion / getNextAssertion answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    /// credential (0x01) id; absent only when the allowList had exactly one entry.
    pub credential_id: Option<Vec<u8>>,
    /// authData (0x02).
    pub auth_data: Vec<u8>,
    /// signature (0x03).
    pub signature: Vec<u8>,
    /// user (0x04), for discoverable credentials.
    pub user: Option<User>,
    /// numberOfCredentials (0x05), first answer only.
    pub number_of_credentials: Option<u64>,
    /// userSelected (0x06).
    pub user_selected: Option<bool>,
    /// largeBlobKey (0x07).
    pub large_blob_key: Option<Vec<u8>>,
}

impl Assertion {
    /// The authenticator extension outputs in authData (empty without the ED flag).
    pub fn extension_outputs(&self) -> Result<Vec<(Value, Value)>, Error> {
        match (self.auth_data.get(32), self.auth_data.get(37..)) {
            (Some(flags), Some(rest)) if flags & 0x80 != 0 => outputs_map(rest),
            _ => Ok(Vec::new()),
        }
    }

    pub(crate) fn from_map(map: &[(Value, Value)]) -> Result<Self, Error> {
        let credential_id = opt(map, 0x01)
            .map(|c| {
                let c = parse::map(c, "credential")?;
                let id = crate::cbor::read::get_text(c, "id")
                    .ok_or_else(|| Error::response("credential.id is missing"))?;
                parse::bytes(id, "credential.id")
            })
            .transpose()?;
        Ok(Self {
            credential_id,
            auth_data: parse::bytes(parse::req(map, 0x02, "authData")?, "authData")?,
            signature: parse::bytes(parse::req(map, 0x03, "signature")?, "signature")?,
            user: opt(map, 0x04).map(User::from_cbor).transpose()?,
            number_of_credentials: opt_uint(map, 0x05, "numberOfCredentials")?,
            user_selected: opt_bool(map, 0x06, "userSelected")?,
            large_blob_key: opt_bytes(map, 0x07, "largeBlobKey")?,
        })
    }
}
