//! authenticatorGetInfo (0x04) parsed into [`Info`].

use std::collections::BTreeMap;

use super::parse::{self, opt, opt_bool, opt_uint};
use super::Error;
use crate::pin::PinUvAuthProtocol;

/// maxMsgSize when getInfo omits it (CTAP 2.1 §6.4).
pub const DEFAULT_MAX_MSG_SIZE: u64 = 1024;

/// What a key says about itself. Absent fields are `None` or empty; unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// versions (0x01), e.g. "U2F_V2", "FIDO_2_0", "FIDO_2_1".
    pub versions: Vec<String>,
    /// extensions (0x02).
    pub extensions: Vec<String>,
    /// aaguid (0x03).
    pub aaguid: [u8; 16],
    /// options (0x04), e.g. rk, up, clientPin, credMgmt, alwaysUv.
    pub options: BTreeMap<String, bool>,
    /// maxMsgSize (0x05).
    pub max_msg_size: Option<u64>,
    /// pinUvAuthProtocols (0x06), in the key's order of preference.
    pub pin_uv_auth_protocols: Vec<u64>,
    /// maxCredentialCountInList (0x07).
    pub max_credential_count_in_list: Option<u64>,
    /// maxCredentialIdLength (0x08).
    pub max_credential_id_length: Option<u64>,
    /// transports (0x09).
    pub transports: Vec<String>,
    /// algorithms (0x0A): the COSE alg of each public-key entry.
    pub algorithms: Vec<i64>,
    /// maxSerializedLargeBlobArray (0x0B).
    pub max_serialized_large_blob_array: Option<u64>,
    /// forcePINChange (0x0C).
    pub force_pin_change: Option<bool>,
    /// minPINLength (0x0D).
    pub min_pin_length: Option<u64>,
    /// firmwareVersion (0x0E).
    pub firmware_version: Option<u64>,
    /// maxCredBlobLength (0x0F).
    pub max_cred_blob_length: Option<u64>,
    /// maxRPIDsForSetMinPINLength (0x10).
    pub max_rpids_for_set_min_pin_length: Option<u64>,
    /// preferredPlatformUvAttempts (0x11).
    pub preferred_platform_uv_attempts: Option<u64>,
    /// uvModality (0x12).
    pub uv_modality: Option<u64>,
    /// remainingDiscoverableCredentials (0x14).
    pub remaining_discoverable_credentials: Option<u64>,
}

impl Info {
    /// Parses a getInfo response map (the bytes after the status).
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let map = parse::response_map(body)?;
        let texts = |key: i64, name: &str| -> Result<Vec<String>, Error> {
            opt(&map, key)
                .map(|v| {
                    parse::array(v, name)?
                        .iter()
                        .map(|item| parse::text(item, name))
                        .collect()
                })
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let versions = texts(0x01, "versions")?;
        if versions.is_empty() {
            return Err(Error::response("getInfo has no versions"));
        }
        let mut options = BTreeMap::new();
        if let Some(value) = opt(&map, 0x04) {
            for (key, value) in parse::map(value, "options")? {
                options.insert(
                    parse::text(key, "an option name")?,
                    parse::boolean(value, "an option value")?,
                );
            }
        }
        let pin_uv_auth_protocols = opt(&map, 0x06)
            .map(|v| {
                parse::array(v, "pinUvAuthProtocols")?
                    .iter()
                    .map(|p| parse::uint(p, "pinUvAuthProtocols"))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let mut algorithms = Vec::new();
        if let Some(value) = opt(&map, 0x0A) {
            for entry in parse::array(value, "algorithms")? {
                let entry = parse::map(entry, "an algorithms entry")?;
                let ty = parse::text_field(entry, "type", "algorithms type")?;
                let alg = crate::cbor::read::get_text(entry, "alg")
                    .map(|a| parse::int(a, "algorithms alg"))
                    .transpose()?;
                if let (Some("public-key"), Some(alg)) = (ty.as_deref(), alg) {
                    algorithms.push(alg);
                }
            }
        }
        Ok(Self {
            versions,
            extensions: texts(0x02, "extensions")?,
            aaguid: parse::fixed::<16>(parse::req(&map, 0x03, "aaguid")?, "aaguid")?,
            options,
            max_msg_size: opt_uint(&map, 0x05, "maxMsgSize")?,
            pin_uv_auth_protocols,
            max_credential_count_in_list: opt_uint(&map, 0x07, "maxCredentialCountInList")?,
            max_credential_id_length: opt_uint(&map, 0x08, "maxCredentialIdLength")?,
            transports: texts(0x09, "transports")?,
            algorithms,
            max_serialized_large_blob_array: opt_uint(&map, 0x0B, "maxSerializedLargeBlobArray")?,
            force_pin_change: opt_bool(&map, 0x0C, "forcePINChange")?,
            min_pin_length: opt_uint(&map, 0x0D, "minPINLength")?,
            firmware_version: opt_uint(&map, 0x0E, "firmwareVersion")?,
            max_cred_blob_length: opt_uint(&map, 0x0F, "maxCredBlobLength")?,
            max_rpids_for_set_min_pin_length: opt_uint(&map, 0x10, "maxRPIDsForSetMinPINLength")?,
            preferred_platform_uv_attempts: opt_uint(&map, 0x11, "preferredPlatformUvAttempts")?,
            uv_modality: opt_uint(&map, 0x12, "uvModality")?,
            remaining_discoverable_credentials: opt_uint(
                &map,
                0x14,
                "remainingDiscoverableCredentials",
            )?,
        })
    }

    /// The option's value, `None` if the key does not list it.
    pub fn option(&self, name: &str) -> Option<bool> {
        self.options.get(name).copied()
    }

    /// maxMsgSize, or 1024 if absent.
    pub fn max_msg_size(&self) -> u64 {
        self.max_msg_size.unwrap_or(DEFAULT_MAX_MSG_SIZE)
    }

    /// Whether a PIN is set (`clientPin: true`); `None` if the key has no PIN support.
    pub fn pin_set(&self) -> Option<bool> {
        self.option("clientPin")
    }

    /// Whether `versions` lists `version`.
    pub fn has_version(&self, version: &str) -> bool {
        self.versions.iter().any(|v| v == version)
    }

    /// Whether `extensions` lists `extension`.
    pub fn has_extension(&self, extension: &str) -> bool {
        self.extensions.iter().any(|e| e == extension)
    }

    /// Protocol 2 if offered, else 1; `None` if the key offers neither.
    pub fn preferred_pin_protocol(&self) -> Option<PinUvAuthProtocol> {
        [PinUvAuthProtocol::Two, PinUvAuthProtocol::One]
            .into_iter()
            .find(|p| self.pin_uv_auth_protocols.contains(&u64::from(p.wire())))
    }

    /// The credential-management command: 0x0A with `credMgmt`, the pre-2.1 0x41 with only
    /// `credentialMgmtPreview`.
    pub fn cred_mgmt_command(&self) -> Option<u8> {
        if self.option("credMgmt") == Some(true) {
            Some(0x0A)
        } else if self.option("credentialMgmtPreview") == Some(true) {
            Some(0x41)
        } else {
            None
        }
    }

    /// Whether the key supports pinUvAuthToken (CTAP 2.1 permissions).
    pub fn supports_permissions(&self) -> bool {
        self.option("pinUvAuthToken") == Some(true)
    }
}
