//! Credential storage: discoverable credentials, the global signature counter and the persisted
//! PIN state, written in atomic batches.

use crate::pin::{PersistedPin, PinStore, StorageError};

/// A discoverable (resident) credential as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// The credential ID handed to the RP.
    pub id: Vec<u8>,
    /// The RP ID.
    pub rp_id: String,
    /// SHA-256 of the RP ID.
    pub rp_id_hash: [u8; 32],
    /// user.id.
    pub user_id: Vec<u8>,
    /// user.name, if given.
    pub user_name: Option<String>,
    /// user.displayName, if given.
    pub user_display_name: Option<String>,
    /// The serialized private key (see `credential::KeyMaterial`).
    pub private_key: Vec<u8>,
    /// When it was created (clock milliseconds), to return the newest first.
    pub created_ms: u64,
}

/// One write in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Insert a credential, replacing one with the same RP ID and user ID.
    PutCredential(StoredCredential),
    /// Delete the credential with this ID.
    DeleteCredential(Vec<u8>),
    /// Set the global signature counter.
    SignCount(u32),
    /// Replace the persisted PIN state (hash, retries, policy).
    Pin(PersistedPin),
}

/// The store could not write; nothing in the batch was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreError;

/// Durable credential storage.
pub trait CredentialStore {
    /// Discoverable credentials for an RP ID hash.
    fn credentials_for(&self, rp_id_hash: &[u8; 32]) -> Vec<StoredCredential>;
    /// The credential with this ID, if stored.
    fn credential(&self, id: &[u8]) -> Option<StoredCredential>;
    /// The number of stored credentials.
    fn count(&self) -> usize;
    /// The most credentials the store holds.
    fn capacity(&self) -> usize;
    /// The global signature counter.
    fn sign_count(&self) -> u32;
    /// The persisted PIN state, or `None` if none was ever written (a fresh authenticator).
    fn pin(&self) -> Option<PersistedPin>;
    /// Applies every write or none, durably, before returning `Ok`.
    fn apply(&mut self, batch: &[Write]) -> Result<(), StoreError>;
}

/// An in-memory store.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    credentials: Vec<StoredCredential>,
    sign_count: u32,
    pin: Option<PersistedPin>,
    capacity: usize,
    /// Fail every `apply` from now on (a crashed or full flash), applying nothing.
    pub fail_writes: bool,
    /// How many batches were applied.
    pub batches: usize,
}

impl MemoryStore {
    /// An empty store holding at most `capacity` credentials.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }
}

impl CredentialStore for MemoryStore {
    fn credentials_for(&self, rp_id_hash: &[u8; 32]) -> Vec<StoredCredential> {
        let mut found: Vec<_> = self
            .credentials
            .iter()
            .filter(|credential| &credential.rp_id_hash == rp_id_hash)
            .cloned()
            .collect();
        found.sort_by_key(|credential| std::cmp::Reverse(credential.created_ms));
        found
    }

    fn credential(&self, id: &[u8]) -> Option<StoredCredential> {
        self.credentials
            .iter()
            .find(|credential| credential.id == id)
            .cloned()
    }

    fn count(&self) -> usize {
        self.credentials.len()
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn sign_count(&self) -> u32 {
        self.sign_count
    }

    fn pin(&self) -> Option<PersistedPin> {
        self.pin
    }

    fn apply(&mut self, batch: &[Write]) -> Result<(), StoreError> {
        if self.fail_writes {
            return Err(StoreError);
        }
        let mut credentials = self.credentials.clone();
        let mut sign_count = self.sign_count;
        let mut pin = self.pin;
        for write in batch {
            match write {
                Write::PutCredential(new) => {
                    credentials.retain(|old| {
                        !(old.rp_id_hash == new.rp_id_hash && old.user_id == new.user_id)
                    });
                    credentials.push(new.clone());
                }
                Write::DeleteCredential(id) => credentials.retain(|old| &old.id != id),
                Write::SignCount(count) => sign_count = *count,
                Write::Pin(state) => pin = Some(*state),
            }
        }
        if credentials.len() > self.capacity {
            return Err(StoreError);
        }
        self.credentials = credentials;
        self.sign_count = sign_count;
        self.pin = pin;
        self.batches += 1;
        Ok(())
    }
}

/// A [`CredentialStore`] seen as the [`PinStore`] of the PIN module: every PIN write is a
/// one-write batch, so it lands whole or not at all, before `persist_pin` returns.
pub struct PinWrites<'a, 'b>(pub &'a mut (dyn CredentialStore + 'b));

impl PinStore for PinWrites<'_, '_> {
    fn persist_pin(&mut self, state: &PersistedPin) -> Result<(), StorageError> {
        self.0
            .apply(&[Write::Pin(*state)])
            .map_err(|_| StorageError)
    }
}
