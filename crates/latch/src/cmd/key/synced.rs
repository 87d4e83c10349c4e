//! `latch key run --vault DIR`: the key keeps its discoverable credentials in the person's
//! vault (the `latch vault` device folder DIR), so a passkey made through this key signs in
//! through any other key on the same vault. Everything else (the PIN, the master secret, the
//! counter, large blobs, settings) stays in the key's own state file.
//!
//! A credential the key makes is written to the vault, and acknowledged only once the store
//! has it; the key takes the other devices' changes before every command that looks
//! credentials up. These credentials are synced passkeys: the authenticator reports them
//! backup eligible and backed up, with a signature counter of 0 (`Config::synced_discoverable`).
//! An authenticatorReset clears this key's own state but leaves the person's vault alone.

use std::collections::HashMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{digest, SHA256};
use latch_ctap::credential::{MasterKey, PrivateKey};
use latch_ctap::store::{
    CredRandom, CredentialOptions, CredentialStore, StoreError, StoreState, StoredCredential, Write,
};
use latch_vault::content::{Content, HmacSecret, Passkey, Stamp, Stamped};
use latch_vault::ItemId;
use rand_core::OsRng;

use super::device::FileStore;
use crate::cmd::vault::replica::Session;

/// A vault holds as many passkeys as its person has; the key's own limit is for its file.
const CAPACITY: usize = 100_000;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub struct SyncedStore {
    file: FileStore,
    session: Session,
    /// The file's state, with the vault's passkeys as its credentials.
    state: StoreState,
    /// Which vault item holds each credential.
    items: HashMap<Vec<u8>, ItemId>,
    /// Whether `state` was built from the vault yet.
    built: bool,
}

/// A vault passkey as the authenticator stores a credential: made with hmac-secret when it
/// carries its CredRandom pair, which then serves instead of this key's master secret.
fn stored(p: &Passkey) -> Option<StoredCredential> {
    let key = PrivateKey::from_pkcs8(&p.key)?;
    let rp_id_hash: [u8; 32] = digest(&SHA256, p.rp_id.as_bytes())
        .as_ref()
        .try_into()
        .ok()?;
    let name = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Some(StoredCredential {
        id: p.credential_id.clone(),
        rp_id: p.rp_id.clone(),
        rp_id_hash,
        user_id: p.user_handle.clone(),
        user_name: name(&p.user_name.value),
        user_display_name: name(&p.user_display_name.value),
        private_key: key.to_material().ok()?,
        created_ms: p.created.saturating_mul(1000),
        options: CredentialOptions {
            hmac_secret: p.hmac_secret.is_some(),
            cred_random: match &p.hmac_secret {
                Some(h) => Some(Box::new(CredRandom {
                    with_uv: h.with_uv.as_slice().try_into().ok()?,
                    without_uv: h.without_uv.as_slice().try_into().ok()?,
                })),
                None => None,
            },
            ..CredentialOptions::default()
        },
    })
}

/// A credential the authenticator made, as a vault passkey, with its CredRandom pair when it
/// was made with hmac-secret (derived from this key's master secret, so other devices give the
/// same PRF outputs).
fn passkey(c: &StoredCredential, master: Option<&MasterKey>, at: Stamp) -> Option<Passkey> {
    let key = PrivateKey::from_material(&c.private_key)?.to_pkcs8().ok()?;
    let hmac_secret = match (&c.options.cred_random, master) {
        _ if !c.options.hmac_secret => None,
        (Some(r), _) => Some(HmacSecret {
            with_uv: r.with_uv.to_vec(),
            without_uv: r.without_uv.to_vec(),
        }),
        (None, Some(m)) => Some(HmacSecret {
            with_uv: m.cred_random(&c.id, true).to_vec(),
            without_uv: m.cred_random(&c.id, false).to_vec(),
        }),
        (None, None) => None,
    };
    Some(Passkey {
        credential_id: c.id.clone(),
        rp_id: c.rp_id.clone(),
        user_handle: c.user_id.clone(),
        key,
        hmac_secret,
        created: at.ms / 1000,
        user_name: Stamped {
            value: c.user_name.clone().unwrap_or_default(),
            at,
        },
        user_display_name: Stamped {
            value: c.user_display_name.clone().unwrap_or_default(),
            at,
        },
    })
}

impl SyncedStore {
    pub fn open(file: FileStore, vault: &Path) -> Result<SyncedStore, String> {
        let session = Session::open(vault)?;
        let mut store = SyncedStore {
            file,
            state: StoreState::default(),
            session,
            items: HashMap::new(),
            built: false,
        };
        store.refresh()?;
        Ok(store)
    }

    /// Takes the other devices' changes and rebuilds the credential list from the vault.
    pub fn refresh(&mut self) -> Result<(), String> {
        let before = self.session.progress();
        for alert in self.session.pull()? {
            eprintln!("latch key: {alert}");
        }
        // Every command that looks credentials up syncs first; when nothing moved, the file and
        // the credential list stay as they are (rewriting them is the cost of a large vault).
        if self.built && self.session.progress() == before {
            return Ok(());
        }
        self.built = true;
        self.session.save()?;
        let mut state = self.file.state().clone();
        state.credentials.clear();
        self.items.clear();
        for (item, _, content) in self.session.contents()? {
            if let Content::Passkey(p) = content {
                if let Some(c) = stored(&p) {
                    self.items.insert(c.id.clone(), item);
                    state.credentials.push(c);
                }
            }
        }
        state.credentials.sort_by_key(|c| c.created_ms);
        self.state = state;
        Ok(())
    }

    fn write_vault(&mut self, batch: &[Write]) -> Result<(), String> {
        let me = self.session.me.id();
        for write in batch {
            match write {
                Write::PutCredential(c) => {
                    // One credential per RP and user: the one it replaces is deleted.
                    let replaced: Vec<Vec<u8>> = self
                        .state
                        .credentials
                        .iter()
                        .filter(|o| {
                            o.rp_id_hash == c.rp_id_hash && o.user_id == c.user_id && o.id != c.id
                        })
                        .map(|o| o.id.clone())
                        .collect();
                    let at = Stamp::after(None, now_ms(), me);
                    let master = self.file.state().master_secret.map(MasterKey::new);
                    let p = passkey(c, master.as_ref(), at)
                        .ok_or("the credential's key cannot be exported")?;
                    let item = *self
                        .items
                        .entry(c.id.clone())
                        .or_insert_with(|| ItemId::random(&mut OsRng));
                    self.session.put(item, Content::Passkey(Box::new(p)))?;
                    for id in replaced {
                        self.delete(&id)?;
                    }
                }
                Write::DeleteCredential(id) => self.delete(id)?,
                _ => {}
            }
        }
        self.session.save()
    }

    fn delete(&mut self, id: &[u8]) -> Result<(), String> {
        if let Some(item) = self.items.remove(id) {
            let at = Stamp::after(None, now_ms(), self.session.me.id());
            self.session.put(item, Content::Deleted { at })?;
        }
        Ok(())
    }
}

impl CredentialStore for SyncedStore {
    fn state(&self) -> &StoreState {
        &self.state
    }

    fn capacity(&self) -> usize {
        CAPACITY
    }

    fn apply(&mut self, batch: &[Write]) -> Result<(), StoreError> {
        let mut next = self.state.applied(batch, CAPACITY)?;
        // The vault first: a credential is acknowledged only once the store has it.
        if let Err(e) = self.write_vault(batch) {
            eprintln!("latch key: the vault refused a write: {e}");
            return Err(StoreError);
        }
        // The vault holds the credentials; the file keeps the rest, a wipe included (the PIN,
        // large blobs, settings). A reset forgets this key's state, not the person's passkeys.
        let own: Vec<Write> = batch
            .iter()
            .filter(|w| !matches!(w, Write::PutCredential(_) | Write::DeleteCredential(_)))
            .cloned()
            .collect();
        self.file.apply(&own)?;
        if batch.iter().any(|w| matches!(w, Write::Wipe)) {
            next.credentials = self.state.credentials.clone();
        }
        self.state = next;
        Ok(())
    }
}

/// The key's store: its state file, or the file beside a vault for discoverable credentials.
pub enum KeyStore {
    File(Box<FileStore>),
    Synced(Box<SyncedStore>),
}

impl KeyStore {
    /// Takes the other devices' changes (a vault only); a failure leaves the last view.
    pub fn refresh(&mut self) {
        if let KeyStore::Synced(s) = self {
            if let Err(e) = s.refresh() {
                eprintln!("latch key: cannot sync the vault: {e}");
            }
        }
    }
}

impl CredentialStore for KeyStore {
    fn state(&self) -> &StoreState {
        match self {
            KeyStore::File(f) => f.state(),
            KeyStore::Synced(s) => s.state(),
        }
    }

    fn capacity(&self) -> usize {
        match self {
            KeyStore::File(f) => f.capacity(),
            KeyStore::Synced(s) => s.capacity(),
        }
    }

    fn apply(&mut self, batch: &[Write]) -> Result<(), StoreError> {
        match self {
            KeyStore::File(f) => f.apply(batch),
            KeyStore::Synced(s) => s.apply(batch),
        }
    }
}
