//! Everything the authenticator keeps across power cycles, and the trait through which it is
//! written: discoverable credentials, the signature counter, the PIN state, the master secret,
//! the large-blob array and the authenticatorConfig settings. Writes come in batches that land
//! whole or not at all.

mod state;

pub use state::{large_blob_array_is_intact, StoreState, INITIAL_LARGE_BLOB_ARRAY};

use crate::pin::{PersistedPin, PinStore, StorageError};

/// credProtect levels (CTAP 2.1 §12.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum CredProtect {
    /// userVerificationOptional (1): the default.
    #[default]
    UvOptional,
    /// userVerificationOptionalWithCredentialIDList (2): discoverable use needs UV.
    UvOptionalWithCredentialIdList,
    /// userVerificationRequired (3): every use needs UV.
    UvRequired,
}

impl CredProtect {
    /// The wire value, 1 to 3.
    pub const fn level(self) -> u8 {
        match self {
            Self::UvOptional => 1,
            Self::UvOptionalWithCredentialIdList => 2,
            Self::UvRequired => 3,
        }
    }

    /// From the wire value.
    pub const fn from_level(level: i64) -> Option<Self> {
        match level {
            1 => Some(Self::UvOptional),
            2 => Some(Self::UvOptionalWithCredentialIdList),
            3 => Some(Self::UvRequired),
            _ => None,
        }
    }
}

/// What a credential was created with, beyond its key: kept in the store for discoverable
/// credentials and sealed inside the credential ID for the others.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredentialOptions {
    /// credProtect level.
    pub cred_protect: CredProtect,
    /// Created with hmac-secret: its CredRandom values are derived from the master secret.
    pub hmac_secret: bool,
    /// Created with largeBlobKey: the key is derived from the master secret.
    pub large_blob_key: bool,
    /// credBlob (at most [`MAX_CRED_BLOB_LEN`] bytes).
    pub cred_blob: Option<Vec<u8>>,
    /// hmac-secret's CredRandom values, when they came with the credential (a synced passkey
    /// made on another device) rather than from this authenticator's master secret.
    pub cred_random: Option<Box<CredRandom>>,
}

/// A credential's two hmac-secret CredRandom values: one for uses with user verification, one
/// without.
#[derive(Clone, PartialEq, Eq)]
pub struct CredRandom {
    pub with_uv: [u8; 32],
    pub without_uv: [u8; 32],
}

impl std::fmt::Debug for CredRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredRandom(..)")
    }
}

/// maxCredBlobLength.
pub const MAX_CRED_BLOB_LEN: usize = 32;

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
    /// The serialized private key (see `credential::PrivateKey::to_material`).
    pub private_key: Vec<u8>,
    /// When it was created (clock milliseconds), to return the newest first.
    pub created_ms: u64,
    /// Extensions it was created with.
    pub options: CredentialOptions,
}

/// authenticatorConfig settings that persist until reset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// alwaysUv.
    pub always_uv: bool,
    /// RP IDs allowed to read the minimum PIN length (minPinLength extension).
    pub min_pin_length_rp_ids: Vec<String>,
}

/// One write in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Insert a credential, replacing one with the same ID, or with the same RP ID and user ID.
    PutCredential(StoredCredential),
    /// Delete the credential with this ID.
    DeleteCredential(Vec<u8>),
    /// Set the global signature counter.
    SignCount(u32),
    /// Replace the persisted PIN state (hash, retries, policy).
    Pin(PersistedPin),
    /// Replace the master secret (credential wrapping, hmac-secret, largeBlobKey).
    MasterSecret([u8; 32]),
    /// Replace the serialized large-blob array (with its trailing hash).
    LargeBlobs(Vec<u8>),
    /// Replace the authenticatorConfig settings.
    Settings(Settings),
    /// Forget every credential, the PIN, the large blobs and the settings (authenticatorReset).
    /// The counter stays monotonic; a new master secret follows in the same batch.
    Wipe,
}

/// The store could not write; nothing in the batch was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreError;

/// Durable storage.
pub trait CredentialStore {
    /// Everything stored, as of the last applied batch.
    fn state(&self) -> &StoreState;
    /// The most discoverable credentials the store holds.
    fn capacity(&self) -> usize;
    /// Applies every write or none, durably, before returning `Ok`.
    fn apply(&mut self, batch: &[Write]) -> Result<(), StoreError>;

    /// Discoverable credentials for an RP ID hash, newest first.
    fn credentials_for(&self, rp_id_hash: &[u8; 32]) -> Vec<StoredCredential> {
        self.state().credentials_for(rp_id_hash)
    }
    /// The credential with this ID, if stored.
    fn credential(&self, id: &[u8]) -> Option<StoredCredential> {
        self.state().credential(id).cloned()
    }
    /// The number of stored credentials.
    fn count(&self) -> usize {
        self.state().credentials.len()
    }
    /// The global signature counter.
    fn sign_count(&self) -> u32 {
        self.state().sign_count
    }
    /// The persisted PIN state, or `None` if none was ever written (a fresh authenticator).
    fn pin(&self) -> Option<PersistedPin> {
        self.state().pin
    }
}

/// An in-memory store.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: StoreState,
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
    fn state(&self) -> &StoreState {
        &self.state
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn apply(&mut self, batch: &[Write]) -> Result<(), StoreError> {
        if self.fail_writes {
            return Err(StoreError);
        }
        self.state = self.state.applied(batch, self.capacity)?;
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
