//! Sealing under a key kept outside the database: ceremony state (what a begin would
//! otherwise store, carried in the ceremony cookie instead, so a passkey sign-in's begin
//! writes nothing) and secrets the database holds (authenticator-app secrets,
//! `store::factors`), each bound to its context.
//!
//! Each token has a random 128-bit salt; its AES-256-GCM key is HMAC-SHA-256(master, salt), so
//! every key seals one message and GCM's nonce limit (about 2^32 random nonces per key) never
//! comes near, however long the master key lives.
//!
//! The master key is kept *outside* the database (a file beside a SQLite file or
//! `--key-file`, in memory for an in-memory database). Someone who reads the database, or a backup of it, therefore still
//! cannot forge a ceremony, and cannot replay an assertion they captured once its ceremony
//! has ended.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::{hmac, rand};

const SALT_LEN: usize = 16;
const KEY_LEN: usize = 32;
/// Binds a sealed token to this use (and version) of the key; the caller's context follows.
const AAD: &str = "latch sealed ceremony v1 ";

/// The master key for sealed ceremonies.
pub struct SealingKey(hmac::Key);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

fn random<const N: usize>() -> io::Result<[u8; N]> {
    let mut out = [0u8; N];
    rand::fill(&mut out).map_err(|_| io::Error::other("the system RNG failed"))?;
    Ok(out)
}

impl SealingKey {
    fn from_bytes(bytes: &[u8]) -> SealingKey {
        SealingKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// A key that lives as long as the process (an in-memory database).
    pub fn ephemeral() -> io::Result<SealingKey> {
        Ok(SealingKey::from_bytes(&random::<KEY_LEN>()?))
    }

    /// The key in `path`, made (readable by its owner only) when there is none. Several
    /// processes starting at once agree on one key: each writes a candidate beside the file
    /// and links it into place, and whoever loses reads the winner's.
    pub fn load_or_create(path: &Path) -> io::Result<SealingKey> {
        if let Some(key) = read(path)? {
            return Ok(key);
        }
        let bytes = random::<KEY_LEN>()?;
        let candidate = candidate_path(path)?;
        let written = write_private(&candidate, &bytes).and_then(|()| {
            match fs::hard_link(&candidate, path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(e),
            }
        });
        let _ = fs::remove_file(&candidate);
        written?;
        // The link is a directory entry: make it durable before tokens depend on it.
        #[cfg(unix)]
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::File::open(dir)?.sync_all()?;
        }
        read(path)?.ok_or_else(|| io::Error::other("the key file vanished while it was made"))
    }

    fn token_key(&self, salt: &[u8]) -> Option<LessSafeKey> {
        let derived = hmac::sign(&self.0, salt);
        let key = UnboundKey::new(&AES_256_GCM, derived.as_ref()).ok()?;
        Some(LessSafeKey::new(key))
    }

    /// `salt ‖ ciphertext ‖ tag` of `plaintext`, which only [`SealingKey::open`] with the same
    /// `context` opens.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> io::Result<Vec<u8>> {
        let salt = random::<SALT_LEN>()?;
        let key = self
            .token_key(&salt)
            .ok_or_else(|| io::Error::other("cannot derive a sealing key"))?;
        let mut out = Vec::with_capacity(SALT_LEN + plaintext.len() + AES_256_GCM.tag_len());
        out.extend_from_slice(&salt);
        let mut body = plaintext.to_vec();
        // Each derived key seals exactly one message, so a fixed nonce is safe.
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key([0; NONCE_LEN]),
            Aad::from(format!("{AAD}{context}")),
            &mut body,
        )
        .map_err(|_| io::Error::other("sealing failed"))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The plaintext of a sealed value; `None` when it was not sealed by this key for this
    /// `context`, or was altered.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < SALT_LEN + AES_256_GCM.tag_len() {
            return None;
        }
        let (salt, body) = sealed.split_at(SALT_LEN);
        let key = self.token_key(salt)?;
        let mut body = body.to_vec();
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key([0; NONCE_LEN]),
                Aad::from(format!("{AAD}{context}")),
                &mut body,
            )
            .ok()?;
        Some(plain.to_vec())
    }
}

fn read(path: &Path) -> io::Result<Option<SealingKey>> {
    match fs::read(path) {
        Ok(bytes) if bytes.len() == KEY_LEN => Ok(Some(SealingKey::from_bytes(&bytes))),
        Ok(bytes) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} holds {} bytes, not a {KEY_LEN}-byte key; remove it to make a new one \
                 (ceremonies in progress will have to start again)",
                path.display(),
                bytes.len()
            ),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A name beside `path` that no other process or thread is writing.
fn candidate_path(path: &Path) -> io::Result<PathBuf> {
    let [a, b, c, d, e, f, g, h] = random::<8>()?;
    let mut name = path.as_os_str().to_owned();
    name.push(format!(
        ".{}.{:x}.tmp",
        std::process::id(),
        u64::from_le_bytes([a, b, c, d, e, f, g, h])
    ));
    Ok(PathBuf::from(name))
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_what_it_sealed_and_nothing_else() {
        let key = SealingKey::ephemeral().unwrap();
        let sealed = key.seal("login", b"challenge").unwrap();
        assert_eq!(key.open("login", &sealed).unwrap(), b"challenge");
        assert_eq!(key.open("signup", &sealed), None);
        // Every byte is covered: salt, ciphertext and tag.
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(key.open("login", &bad), None, "byte {i} flipped");
        }
        assert_eq!(key.open("login", &sealed[..sealed.len() - 1]), None);
        assert_eq!(key.open("login", &[]), None);
        let other = SealingKey::ephemeral().unwrap();
        assert_eq!(other.open("login", &sealed), None);
        // Two seals of one message differ (fresh salt, hence fresh key).
        assert_ne!(key.seal("login", b"challenge").unwrap(), sealed);
    }

    #[test]
    fn a_key_file_is_made_once_and_then_reused() {
        let dir = std::env::temp_dir().join(format!("latch-sealed-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("latch.db.key");
        let first = SealingKey::load_or_create(&path).unwrap();
        let sealed = first.seal("k", b"x").unwrap();
        let second = SealingKey::load_or_create(&path).unwrap();
        assert_eq!(second.open("k", &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key file is private");
        }
        // No candidate files are left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::write(&path, b"short").unwrap();
        let e = SealingKey::load_or_create(&path).unwrap_err();
        assert!(e.to_string().contains("not a 32-byte key"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
