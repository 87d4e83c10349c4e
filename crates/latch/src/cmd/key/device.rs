//! The key's state at rest: its attestation identity and the core's [`StoreState`], in one
//! encrypted file that every acknowledged write replaces atomically before the core answers.

use ciborium::value::Value;
use latch_ctap::store::{CredentialStore, StoreError, StoreState, Write};

use super::identity::Identity;
use crate::state_file::{StateError, StateFile};

/// Discoverable credentials the key holds.
pub const CAPACITY: usize = 64;

/// What the state file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    /// The attestation identity (kept across resets: it is the device's, not the user's).
    pub identity: Identity,
    /// Credentials, PIN, counter, master secret, large blobs, settings.
    pub store: StoreState,
}

/// The state file does not hold a key state.
#[derive(Debug, thiserror::Error)]
#[error(
    "the state file decrypts but does not hold a latch key state (written by a newer version?)"
)]
pub struct Malformed;

impl KeyState {
    /// CBOR: {1: {1: batch key, 2: batch cert, 3: CA cert}, 2: store bytes}.
    pub fn to_bytes(&self) -> Vec<u8> {
        let identity = Value::Map(vec![
            (1.into(), Value::Bytes(self.identity.batch_key.clone())),
            (
                2.into(),
                Value::Bytes(self.identity.batch_certificate.clone()),
            ),
            (3.into(), Value::Bytes(self.identity.ca_certificate.clone())),
        ]);
        let state = Value::Map(vec![
            (1.into(), identity),
            (2.into(), Value::Bytes(self.store.to_bytes())),
        ]);
        latch_ctap::cbor::encode(&state).unwrap_or_default()
    }

    /// Parses [`KeyState::to_bytes`].
    pub fn from_bytes(input: &[u8]) -> Result<Self, Malformed> {
        let value: Value = ciborium::from_reader(input).map_err(|_| Malformed)?;
        let map = value.as_map().ok_or(Malformed)?;
        let get = |map: &[(Value, Value)], key: i64| {
            latch_ctap::cbor::read::get(map, key)
                .ok_or(Malformed)
                .cloned()
        };
        let bytes = |value: Value| value.into_bytes().map_err(|_| Malformed);
        let identity = get(map, 1)?.into_map().map_err(|_| Malformed)?;
        Ok(Self {
            identity: Identity {
                batch_key: bytes(get(&identity, 1)?)?,
                batch_certificate: bytes(get(&identity, 2)?)?,
                ca_certificate: bytes(get(&identity, 3)?)?,
            },
            store: StoreState::from_bytes(&bytes(get(map, 2)?)?).map_err(|_| Malformed)?,
        })
    }
}

/// A [`CredentialStore`] over the state file: `apply` returns only after the new state is on
/// disk, so what the key acknowledged survives a crash.
pub struct FileStore {
    file: StateFile,
    state: KeyState,
    /// The last write error, for the operator.
    pub last_error: Option<StateError>,
}

impl FileStore {
    /// Opens the state file, or creates it with a new identity and an empty store.
    /// Returns the store and whether it was created now.
    pub fn open(file: StateFile) -> Result<(Self, bool), OpenError> {
        match file.load()? {
            Some(bytes) => {
                let state = KeyState::from_bytes(&bytes)?;
                Ok((
                    Self {
                        file,
                        state,
                        last_error: None,
                    },
                    false,
                ))
            }
            None => {
                let state = KeyState {
                    identity: Identity::generate()?,
                    store: StoreState::default(),
                };
                file.store(&state.to_bytes())?;
                Ok((
                    Self {
                        file,
                        state,
                        last_error: None,
                    },
                    true,
                ))
            }
        }
    }

    /// The attestation identity.
    pub fn identity(&self) -> &Identity {
        &self.state.identity
    }
}

/// Why the key's state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error(transparent)]
    Identity(#[from] super::identity::IdentityError),
}

impl CredentialStore for FileStore {
    fn state(&self) -> &StoreState {
        &self.state.store
    }

    fn capacity(&self) -> usize {
        CAPACITY
    }

    fn apply(&mut self, batch: &[Write]) -> Result<(), StoreError> {
        let next = KeyState {
            identity: self.state.identity.clone(),
            store: self.state.store.applied(batch, CAPACITY)?,
        };
        match self.file.store(&next.to_bytes()) {
            Ok(()) => {
                self.state = next;
                Ok(())
            }
            Err(error) => {
                self.last_error = Some(error);
                Err(StoreError)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use latch_ctap::store::{CredentialStore, Write};

    use super::{FileStore, KeyState};
    use crate::state_file::{KeySource, StateFile};

    #[test]
    fn state_survives_reopening_and_writes_are_durable() {
        let dir = std::env::temp_dir().join(format!("latch-device-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.state");
        let _ = std::fs::remove_file(&path);
        let open = || StateFile::open_or_create(&path, KeySource::Key([7; 32])).unwrap();
        let (mut store, created) = FileStore::open(open()).unwrap();
        assert!(created);
        let identity = store.identity().clone();
        assert!(identity.attestation().is_some());
        store.apply(&[Write::SignCount(41)]).unwrap();
        drop(store);
        let (store, created) = FileStore::open(open()).unwrap();
        assert!(!created);
        assert_eq!(store.sign_count(), 41);
        assert_eq!(store.identity(), &identity);
        // A wrong key is an error, not an empty key.
        let wrong = StateFile::open_or_create(&path, KeySource::Key([8; 32])).unwrap();
        assert!(FileStore::open(wrong).is_err());
        assert!(KeyState::from_bytes(b"not cbor").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
