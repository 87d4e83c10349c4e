//! The stored state as a value: batches applied to it purely, and its canonical CBOR form for
//! hosts that keep it in a file.

use aws_lc_rs::digest;
use ciborium::value::Value;

use super::{
    CredProtect, CredRandom, CredentialOptions, Settings, StoreError, StoredCredential, Write,
};
use crate::cbor::{self, int_key, read};
use crate::pin::{PersistedPin, PIN_HASH_LEN};

/// The large-blob array of a fresh authenticator: the empty CBOR array 0x80 followed by
/// LEFT(SHA-256(0x80), 16).
pub const INITIAL_LARGE_BLOB_ARRAY: [u8; 17] = [
    0x80, 0x76, 0xbe, 0x8b, 0x52, 0x8d, 0x00, 0x75, 0xf7, 0xaa, 0xe9, 0x8d, 0x6f, 0xa5, 0x7a, 0x6d,
    0x3c,
];

/// Everything an authenticator stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreState {
    /// Discoverable credentials, oldest first.
    pub credentials: Vec<StoredCredential>,
    /// The global signature counter.
    pub sign_count: u32,
    /// The PIN state, `None` until first written.
    pub pin: Option<PersistedPin>,
    /// The master secret, `None` until generated at first power-up.
    pub master_secret: Option<[u8; 32]>,
    /// The serialized large-blob array, hash included.
    pub large_blobs: Vec<u8>,
    /// authenticatorConfig settings.
    pub settings: Settings,
}

impl Default for StoreState {
    fn default() -> Self {
        Self {
            credentials: Vec::new(),
            sign_count: 0,
            pin: None,
            master_secret: None,
            large_blobs: INITIAL_LARGE_BLOB_ARRAY.to_vec(),
            settings: Settings::default(),
        }
    }
}

/// The stored bytes are not a state this version wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorruptState;

impl StoreState {
    /// Discoverable credentials for an RP ID hash, newest first.
    pub fn credentials_for(&self, rp_id_hash: &[u8; 32]) -> Vec<StoredCredential> {
        let mut found: Vec<_> = self
            .credentials
            .iter()
            .filter(|credential| &credential.rp_id_hash == rp_id_hash)
            .cloned()
            .collect();
        found.sort_by_key(|credential| std::cmp::Reverse(credential.created_ms));
        found
    }

    /// The credential with this ID.
    pub fn credential(&self, id: &[u8]) -> Option<&StoredCredential> {
        self.credentials
            .iter()
            .find(|credential| credential.id == id)
    }

    /// This state with `batch` applied, or an error (and no change) if the result would hold
    /// more than `capacity` credentials.
    pub fn applied(&self, batch: &[Write], capacity: usize) -> Result<Self, StoreError> {
        let mut next = self.clone();
        for write in batch {
            match write {
                Write::PutCredential(new) => {
                    next.credentials.retain(|old| {
                        old.id != new.id
                            && !(old.rp_id_hash == new.rp_id_hash && old.user_id == new.user_id)
                    });
                    next.credentials.push(new.clone());
                }
                Write::DeleteCredential(id) => next.credentials.retain(|old| &old.id != id),
                Write::SignCount(count) => next.sign_count = *count,
                Write::Pin(state) => next.pin = Some(*state),
                Write::MasterSecret(secret) => next.master_secret = Some(*secret),
                Write::LargeBlobs(array) => next.large_blobs.clone_from(array),
                Write::Settings(settings) => next.settings = settings.clone(),
                Write::Wipe => {
                    next = Self {
                        sign_count: next.sign_count,
                        ..Self::default()
                    };
                }
            }
        }
        if next.credentials.len() > capacity {
            return Err(StoreError);
        }
        Ok(next)
    }

    /// The canonical CBOR form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let bytes = |b: &[u8]| Value::Bytes(b.to_vec());
        let opt_text = |t: &Option<String>| t.clone().map_or(Value::Null, Value::Text);
        let credentials = self
            .credentials
            .iter()
            .map(|c| {
                let mut fields = vec![
                    int_key(1, bytes(&c.id)),
                    int_key(2, Value::Text(c.rp_id.clone())),
                    int_key(3, bytes(&c.user_id)),
                    int_key(4, opt_text(&c.user_name)),
                    int_key(5, opt_text(&c.user_display_name)),
                    int_key(6, bytes(&c.private_key)),
                    int_key(7, Value::Integer(c.created_ms.into())),
                    int_key(8, Value::Integer(c.options.cred_protect.level().into())),
                    int_key(9, Value::Bool(c.options.hmac_secret)),
                    int_key(10, Value::Bool(c.options.large_blob_key)),
                    int_key(
                        11,
                        c.options.cred_blob.as_deref().map_or(Value::Null, bytes),
                    ),
                ];
                if let Some(r) = &c.options.cred_random {
                    let mut both = r.with_uv.to_vec();
                    both.extend_from_slice(&r.without_uv);
                    fields.push(int_key(12, Value::Bytes(both)));
                }
                Value::Map(fields)
            })
            .collect();
        let pin = self.pin.map_or(Value::Null, |pin| {
            Value::Map(vec![
                int_key(1, pin.pin_hash.as_ref().map_or(Value::Null, |h| bytes(h))),
                int_key(2, Value::Integer(pin.retries.into())),
                int_key(3, Value::Integer(pin.pin_code_points.into())),
                int_key(4, Value::Integer(pin.min_pin_length.into())),
                int_key(5, Value::Bool(pin.force_change)),
            ])
        });
        let state = Value::Map(vec![
            int_key(1, Value::Array(credentials)),
            int_key(2, Value::Integer(self.sign_count.into())),
            int_key(3, pin),
            int_key(
                4,
                self.master_secret
                    .as_ref()
                    .map_or(Value::Null, |s| bytes(s)),
            ),
            int_key(5, bytes(&self.large_blobs)),
            int_key(6, Value::Bool(self.settings.always_uv)),
            int_key(
                7,
                Value::Array(
                    self.settings
                        .min_pin_length_rp_ids
                        .iter()
                        .cloned()
                        .map(Value::Text)
                        .collect(),
                ),
            ),
        ]);
        // Every value above is encodable (no floats or tags).
        cbor::encode(&state).unwrap_or_default()
    }

    /// Parses [`StoreState::to_bytes`] output.
    pub fn from_bytes(input: &[u8]) -> Result<Self, CorruptState> {
        let mut reader = input;
        let value: Value = ciborium::from_reader(&mut reader).map_err(|_| CorruptState)?;
        // Exactly what `to_bytes` wrote: nothing after the map, and canonical bytes.
        if !reader.is_empty() || cbor::encode(&value).as_deref() != Ok(input) {
            return Err(CorruptState);
        }
        let map = value.as_map().ok_or(CorruptState)?;
        let field = |key| read::get(map, key).ok_or(CorruptState);
        let int = |value: &Value| read::int(value).map_err(|_| CorruptState);
        let small = |value: &Value| u8::try_from(int(value)?).map_err(|_| CorruptState);
        let opt_text = |value: &Value| -> Result<Option<String>, CorruptState> {
            match value {
                Value::Null => Ok(None),
                Value::Text(text) => Ok(Some(text.clone())),
                _ => Err(CorruptState),
            }
        };
        let blob = |value: &Value| -> Result<Vec<u8>, CorruptState> {
            value.as_bytes().cloned().ok_or(CorruptState)
        };
        let flag = |value: &Value| value.as_bool().ok_or(CorruptState);

        let mut credentials = Vec::new();
        for entry in field(1)?.as_array().ok_or(CorruptState)? {
            let c = entry.as_map().ok_or(CorruptState)?;
            let get = |key| read::get(c, key).ok_or(CorruptState);
            let rp_id = get(2)?.as_text().ok_or(CorruptState)?.to_owned();
            credentials.push(StoredCredential {
                id: blob(get(1)?)?,
                rp_id_hash: crate::command::rp_id_hash(&rp_id),
                rp_id,
                user_id: blob(get(3)?)?,
                user_name: opt_text(get(4)?)?,
                user_display_name: opt_text(get(5)?)?,
                private_key: blob(get(6)?)?,
                created_ms: u64::try_from(int(get(7)?)?).map_err(|_| CorruptState)?,
                options: CredentialOptions {
                    cred_protect: CredProtect::from_level(int(get(8)?)?).ok_or(CorruptState)?,
                    hmac_secret: flag(get(9)?)?,
                    large_blob_key: flag(get(10)?)?,
                    cred_blob: match get(11)? {
                        Value::Null => None,
                        other => Some(blob(other)?),
                    },
                    // Absent from states written before synced passkeys.
                    cred_random: match read::get(c, 12) {
                        None => None,
                        Some(v) => {
                            let both = blob(v)?;
                            let (uv, no_uv) = both.split_at(32.min(both.len()));
                            Some(Box::new(CredRandom {
                                with_uv: uv.try_into().map_err(|_| CorruptState)?,
                                without_uv: no_uv.try_into().map_err(|_| CorruptState)?,
                            }))
                        }
                    },
                },
            });
        }
        let pin = match field(3)? {
            Value::Null => None,
            value => {
                let p = value.as_map().ok_or(CorruptState)?;
                let get = |key| read::get(p, key).ok_or(CorruptState);
                Some(PersistedPin {
                    pin_hash: match get(1)? {
                        Value::Null => None,
                        other => Some(
                            <[u8; PIN_HASH_LEN]>::try_from(blob(other)?.as_slice())
                                .map_err(|_| CorruptState)?,
                        ),
                    },
                    retries: small(get(2)?)?,
                    pin_code_points: small(get(3)?)?,
                    min_pin_length: small(get(4)?)?,
                    force_change: flag(get(5)?)?,
                })
            }
        };
        let master_secret = match field(4)? {
            Value::Null => None,
            other => Some(<[u8; 32]>::try_from(blob(other)?.as_slice()).map_err(|_| CorruptState)?),
        };
        let large_blobs = blob(field(5)?)?;
        if large_blobs.len() < 17 || !large_blob_array_is_intact(&large_blobs) {
            return Err(CorruptState);
        }
        let min_pin_length_rp_ids = field(7)?
            .as_array()
            .ok_or(CorruptState)?
            .iter()
            .map(|v| v.as_text().map(str::to_owned).ok_or(CorruptState))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            credentials,
            sign_count: u32::try_from(int(field(2)?)?).map_err(|_| CorruptState)?,
            pin,
            master_secret,
            large_blobs,
            settings: Settings {
                always_uv: flag(field(6)?)?,
                min_pin_length_rp_ids,
            },
        })
    }
}

/// Whether a serialized large-blob array ends with LEFT(SHA-256(array), 16).
pub fn large_blob_array_is_intact(serialized: &[u8]) -> bool {
    let Some(split) = serialized.len().checked_sub(16) else {
        return false;
    };
    let (array, check) = serialized.split_at(split);
    digest::digest(&digest::SHA256, array).as_ref().get(..16) == Some(check)
}

#[cfg(test)]
mod tests {
    use super::{large_blob_array_is_intact, StoreState, INITIAL_LARGE_BLOB_ARRAY};
    use crate::pin::PersistedPin;
    use crate::store::{
        CredProtect, CredRandom, CredentialOptions, Settings, StoreError, StoredCredential, Write,
    };

    fn credential(id: u8, user: u8) -> StoredCredential {
        StoredCredential {
            id: vec![id; 16],
            rp_id: "example.com".into(),
            rp_id_hash: crate::command::rp_id_hash("example.com"),
            user_id: vec![user],
            user_name: Some("alice".into()),
            user_display_name: None,
            private_key: vec![1; 33],
            created_ms: u64::from(id),
            options: CredentialOptions {
                cred_protect: CredProtect::UvRequired,
                hmac_secret: true,
                large_blob_key: false,
                cred_blob: Some(vec![9; 32]),
                cred_random: None,
            },
        }
    }

    #[test]
    fn initial_large_blob_array_carries_its_hash() {
        assert!(large_blob_array_is_intact(&INITIAL_LARGE_BLOB_ARRAY));
        let mut broken = INITIAL_LARGE_BLOB_ARRAY;
        broken[16] ^= 1;
        assert!(!large_blob_array_is_intact(&broken));
        assert!(!large_blob_array_is_intact(&[0x80]));
    }

    #[test]
    fn batches_apply_whole_or_not_at_all() {
        let state = StoreState::default();
        let full = state
            .applied(
                &[
                    Write::PutCredential(credential(1, 1)),
                    Write::PutCredential(credential(2, 2)),
                ],
                1,
            )
            .unwrap_err();
        assert_eq!(full, StoreError);
        // Same user at the same RP replaces; same ID replaces.
        let state = state
            .applied(
                &[
                    Write::PutCredential(credential(1, 1)),
                    Write::PutCredential(credential(2, 1)),
                    Write::SignCount(7),
                ],
                1,
            )
            .unwrap();
        assert_eq!(state.credentials, vec![credential(2, 1)]);
        let wiped = state
            .applied(&[Write::Wipe, Write::MasterSecret([3; 32])], 1)
            .unwrap();
        assert!(wiped.credentials.is_empty());
        assert_eq!(wiped.sign_count, 7);
        assert_eq!(wiped.master_secret, Some([3; 32]));
        assert_eq!(wiped.large_blobs, INITIAL_LARGE_BLOB_ARRAY);
    }

    #[test]
    fn bytes_round_trip_and_corruption_is_refused() {
        let state = StoreState::default()
            .applied(
                &[
                    Write::PutCredential(credential(1, 1)),
                    // A synced passkey's CredRandom pair is kept too.
                    Write::PutCredential(StoredCredential {
                        options: CredentialOptions {
                            cred_random: Some(Box::new(CredRandom {
                                with_uv: [3; 32],
                                without_uv: [4; 32],
                            })),
                            ..CredentialOptions::default()
                        },
                        ..credential(2, 2)
                    }),
                    Write::SignCount(42),
                    Write::Pin(PersistedPin {
                        pin_hash: Some([5; 16]),
                        retries: 6,
                        pin_code_points: 4,
                        min_pin_length: 6,
                        force_change: true,
                    }),
                    Write::MasterSecret([8; 32]),
                    Write::Settings(Settings {
                        always_uv: true,
                        min_pin_length_rp_ids: vec!["example.com".into()],
                    }),
                ],
                4,
            )
            .unwrap();
        let bytes = state.to_bytes();
        assert_eq!(StoreState::from_bytes(&bytes), Ok(state.clone()));
        assert_eq!(
            StoreState::from_bytes(&StoreState::default().to_bytes()),
            Ok(StoreState::default())
        );
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(StoreState::from_bytes(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(StoreState::from_bytes(&trailing).is_err(), "trailing bytes");
    }
}
