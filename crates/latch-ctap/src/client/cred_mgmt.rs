//! authenticatorCredentialManagement (CTAP 2.1 §6.8): metadata, enumerate RPs and
//! credentials, delete, update user. Sent as 0x0A, or as the pre-2.1 0x41 when getInfo has
//! `credentialMgmtPreview` but not `credMgmt`. pinUvAuthParam = authenticate(token,
//! subCommand || subCommandParams) for every subcommand but the two "get next".

use ciborium::value::Value;

use super::ctap2::{descriptor, Ctap2, Rp, User};
use super::parse::{self, opt_bool, opt_bytes, opt_uint};
use super::pin::PinUvAuthToken;
use super::{CtapDevice, Error};
use crate::cbor::{self, int_key};
use crate::status::StatusCode;

/// getCredsMetadata.
pub const GET_CREDS_METADATA: u8 = 0x01;
/// enumerateRPsBegin.
pub const ENUMERATE_RPS_BEGIN: u8 = 0x02;
/// enumerateRPsGetNextRP.
pub const ENUMERATE_RPS_NEXT: u8 = 0x03;
/// enumerateCredentialsBegin.
pub const ENUMERATE_CREDENTIALS_BEGIN: u8 = 0x04;
/// enumerateCredentialsGetNextCredential.
pub const ENUMERATE_CREDENTIALS_NEXT: u8 = 0x05;
/// deleteCredential.
pub const DELETE_CREDENTIAL: u8 = 0x06;
/// updateUserInformation.
pub const UPDATE_USER_INFORMATION: u8 = 0x07;

/// Upper bound on RPs or credentials walked, whatever totals the key claims.
const MAX_ENUMERATED: u64 = 1024;

/// getCredsMetadata's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredsMetadata {
    /// existingResidentCredentialsCount (0x01).
    pub existing: u64,
    /// maxPossibleRemainingResidentCredentialsCount (0x02).
    pub remaining: u64,
}

/// One RP with discoverable credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpEntry {
    /// rp (0x03).
    pub rp: Rp,
    /// rpIDHash (0x04).
    pub rp_id_hash: [u8; 32],
}

/// One discoverable credential.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialEntry {
    /// user (0x06).
    pub user: User,
    /// credentialID (0x07) id.
    pub credential_id: Vec<u8>,
    /// publicKey (0x08), a COSE key.
    pub public_key: Value,
    /// credProtect (0x0A): 1, 2 or 3.
    pub cred_protect: Option<u64>,
    /// largeBlobKey (0x0B).
    pub large_blob_key: Option<Vec<u8>>,
    /// thirdPartyPayment (0x0C).
    pub third_party_payment: Option<bool>,
}

impl CredentialEntry {
    fn from_map(map: &[(Value, Value)]) -> Result<Self, Error> {
        let id = parse::map(parse::req(map, 0x07, "credentialID")?, "credentialID")?;
        let id = cbor::read::get_text(id, "id")
            .ok_or_else(|| Error::response("credentialID.id is missing"))?;
        Ok(Self {
            user: User::from_cbor(parse::req(map, 0x06, "user")?)?,
            credential_id: parse::bytes(id, "credentialID.id")?,
            public_key: parse::req(map, 0x08, "publicKey")?.clone(),
            cred_protect: opt_uint(map, 0x0A, "credProtect")?,
            large_blob_key: opt_bytes(map, 0x0B, "largeBlobKey")?,
            third_party_payment: opt_bool(map, 0x0C, "thirdPartyPayment")?,
        })
    }
}

/// The credential-management request map; `token` authenticates subCommand || params.
pub fn request(
    sub_command: u8,
    params: Option<Value>,
    token: Option<&PinUvAuthToken>,
) -> Result<Value, Error> {
    let mut map = vec![int_key(0x01, Value::Integer(sub_command.into()))];
    let mut message = vec![sub_command];
    if let Some(params) = params {
        message.extend(
            cbor::encode(&params).map_err(|_| Error::Invalid("parameters not encodable".into()))?,
        );
        map.push(int_key(0x02, params));
    }
    if let Some(token) = token {
        map.push(int_key(
            0x03,
            Value::Integer(token.protocol().wire().into()),
        ));
        map.push(int_key(0x04, Value::Bytes(token.authenticate(&message))));
    }
    Ok(Value::Map(map))
}

impl<D: CtapDevice> Ctap2<D> {
    /// 0x0A or 0x41, per getInfo.
    pub fn cred_mgmt_command(&self) -> Result<u8, Error> {
        self.info().cred_mgmt_command().ok_or_else(|| {
            Error::Unsupported("the key has no credential management (credMgmt)".into())
        })
    }

    fn cred_mgmt(
        &mut self,
        sub_command: u8,
        params: Option<Value>,
        token: Option<&PinUvAuthToken>,
    ) -> Result<Vec<(Value, Value)>, Error> {
        let command = self.cred_mgmt_command()?;
        let body = request(sub_command, params, token)?;
        self.send_cbor(command, Some(&body))
    }

    /// getCredsMetadata.
    pub fn creds_metadata(&mut self, token: &PinUvAuthToken) -> Result<CredsMetadata, Error> {
        let map = self.cred_mgmt(GET_CREDS_METADATA, None, Some(token))?;
        Ok(CredsMetadata {
            existing: parse::uint(
                parse::req(&map, 0x01, "existingResidentCredentialsCount")?,
                "existingResidentCredentialsCount",
            )?,
            remaining: parse::uint(
                parse::req(&map, 0x02, "maxPossibleRemainingResidentCredentialsCount")?,
                "maxPossibleRemainingResidentCredentialsCount",
            )?,
        })
    }

    /// enumerateRPsBegin + GetNextRP: every RP with discoverable credentials (none is an
    /// empty list, not an error).
    pub fn enumerate_rps(&mut self, token: &PinUvAuthToken) -> Result<Vec<RpEntry>, Error> {
        let first = match self.cred_mgmt(ENUMERATE_RPS_BEGIN, None, Some(token)) {
            Err(e) if e.status() == Some(StatusCode::NoCredentials) => return Ok(Vec::new()),
            other => other?,
        };
        let total = opt_uint(&first, 0x05, "totalRPs")?.unwrap_or(1);
        if total == 0 {
            return Ok(Vec::new());
        }
        let mut rps = vec![rp_entry(&first)?];
        for _ in 1..total.min(MAX_ENUMERATED) {
            rps.push(rp_entry(&self.cred_mgmt(
                ENUMERATE_RPS_NEXT,
                None,
                None,
            )?)?);
        }
        Ok(rps)
    }

    /// enumerateCredentialsBegin + GetNextCredential for one RP.
    pub fn enumerate_credentials(
        &mut self,
        token: &PinUvAuthToken,
        rp_id_hash: &[u8; 32],
    ) -> Result<Vec<CredentialEntry>, Error> {
        let params = Value::Map(vec![int_key(0x01, Value::Bytes(rp_id_hash.to_vec()))]);
        let first = match self.cred_mgmt(ENUMERATE_CREDENTIALS_BEGIN, Some(params), Some(token)) {
            Err(e) if e.status() == Some(StatusCode::NoCredentials) => return Ok(Vec::new()),
            other => other?,
        };
        let total = opt_uint(&first, 0x09, "totalCredentials")?.unwrap_or(1);
        let mut creds = vec![CredentialEntry::from_map(&first)?];
        for _ in 1..total.min(MAX_ENUMERATED) {
            let next = self.cred_mgmt(ENUMERATE_CREDENTIALS_NEXT, None, None)?;
            creds.push(CredentialEntry::from_map(&next)?);
        }
        Ok(creds)
    }

    /// deleteCredential.
    pub fn delete_credential(
        &mut self,
        token: &PinUvAuthToken,
        credential_id: &[u8],
    ) -> Result<(), Error> {
        let params = Value::Map(vec![int_key(0x02, descriptor(credential_id))]);
        self.cred_mgmt(DELETE_CREDENTIAL, Some(params), Some(token))
            .map(|_| ())
    }

    /// updateUserInformation: replaces name and displayName (the user id must match).
    pub fn update_user_information(
        &mut self,
        token: &PinUvAuthToken,
        credential_id: &[u8],
        user: &User,
    ) -> Result<(), Error> {
        let params = Value::Map(vec![
            int_key(0x02, descriptor(credential_id)),
            int_key(0x03, user.to_cbor()),
        ]);
        self.cred_mgmt(UPDATE_USER_INFORMATION, Some(params), Some(token))
            .map(|_| ())
    }
}

fn rp_entry(map: &[(Value, Value)]) -> Result<RpEntry, Error> {
    let rp = parse::map(parse::req(map, 0x03, "rp")?, "rp")?;
    let id =
        parse::text_field(rp, "id", "rp.id")?.ok_or_else(|| Error::response("rp.id is missing"))?;
    Ok(RpEntry {
        rp: Rp {
            id,
            name: parse::text_field(rp, "name", "rp.name")?,
        },
        rp_id_hash: parse::fixed::<32>(parse::req(map, 0x04, "rpIDHash")?, "rpIDHash")?,
    })
}
