//! The software authenticator's state at rest: one encrypted file, replaced atomically.
//!
//! # Format
//!
//! ```text
//! "LATCHKS1" (8 bytes) || nonce (12 bytes) || AES-256-GCM(plaintext) || tag (16 bytes)
//! ```
//!
//! The magic is also the AEAD's additional authenticated data, so a file of another
//! format version can never be opened as this one. Every `store` draws a fresh random
//! nonce; with one key that is safe for far more writes than an authenticator performs
//! (the GCM random-nonce bound is 2^32 messages).
//!
//! # Atomicity
//!
//! `store` writes `<path>.tmp` (mode 0600), `fsync`s it, renames it over `<path>` and
//! then `fsync`s the parent directory. A crash at any step leaves either the old file or
//! the new one at `<path>`, never a mixture; a stale `<path>.tmp` left by a crash is
//! ignored by `load` and truncated by the next `store`.
//!
//! # Key
//!
//! The key is 32 bytes, either given by the caller (for example parsed from the
//! `LATCH_KEY_STATE_KEY` environment variable) or kept in a key file next to the state,
//! `<path>.key`, created with 32 random bytes and mode 0600 on first use. The key file
//! protects against casual disclosure of the state file alone (a backup, a copy attached
//! to a bug report); it does **not** protect against an attacker who can read both files.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

/// File magic and format version; also the AEAD's additional authenticated data.
pub const MAGIC: &[u8; 8] = b"LATCHKS1";
/// Length of the AES-256-GCM key.
pub const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// Smallest well-formed file: magic, nonce and tag around an empty plaintext.
const MIN_LEN: usize = MAGIC.len() + NONCE_LEN + TAG_LEN;
/// Mode of every file this module creates.
const FILE_MODE: u32 = 0o600;

/// Where the state file's key comes from.
#[derive(Clone)]
pub enum KeySource {
    /// A key supplied by the caller (e.g. from `LATCH_KEY_STATE_KEY`).
    Key([u8; KEY_LEN]),
    /// The key file `<state>.key` next to the state file, created on first use.
    KeyFileNextToState,
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(_) => f.write_str("Key(<redacted>)"),
            Self::KeyFileNextToState => f.write_str("KeyFileNextToState"),
        }
    }
}

/// A step of `store` at which a test can simulate a crash.
#[cfg(test)]
#[allow(clippy::enum_variant_names)] // the names read as the step they interrupt
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrashPoint {
    /// The temporary file exists but is empty.
    AfterTempCreate,
    /// Half of the bytes reached the temporary file.
    AfterPartialWrite,
    /// All bytes were written but not synced.
    AfterWriteBeforeSync,
    /// The temporary file is durable but not yet renamed.
    AfterSyncBeforeRename,
    /// The rename happened; the directory was not synced.
    AfterRename,
    /// The rename happened, and syncing the directory fails (not a crash: the store goes on).
    DirSyncFails,
}

/// Every way loading or storing the state file can fail.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state file {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },

    #[error(
        "state file {} is truncated ({len} bytes, a valid one has at least {MIN_LEN}); \
         restore it from a backup or delete it to start with an empty authenticator",
        .path.display()
    )]
    TooShort { path: PathBuf, len: usize },

    #[error(
        "{} is not a latch key state file (it does not start with \"LATCHKS1\"); \
         check the path",
        .path.display()
    )]
    BadMagic { path: PathBuf },

    #[error(
        "state file {} is corrupt or the key is wrong; check the key file or \
         LATCH_KEY_STATE_KEY, or restore the state file from a backup",
        .path.display()
    )]
    Corrupt { path: PathBuf },

    #[error("cannot create temporary state file {}: {source}", .path.display())]
    CreateTemp { path: PathBuf, source: io::Error },

    #[error("cannot write temporary state file {}: {source}", .path.display())]
    WriteTemp { path: PathBuf, source: io::Error },

    #[error("cannot flush temporary state file {} to disk: {source}", .path.display())]
    SyncTemp { path: PathBuf, source: io::Error },

    #[error("cannot rename {} over {}: {source}", .from.display(), .to.display())]
    Rename {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },

    #[error("cannot read state key file {}: {source}", .path.display())]
    ReadKeyFile { path: PathBuf, source: io::Error },

    #[error(
        "state key file {} holds {len} bytes, expected {KEY_LEN}; restore it from a backup \
         (without it the state file cannot be decrypted)",
        .path.display()
    )]
    KeyFileInvalid { path: PathBuf, len: usize },

    #[error("the system random number generator failed while {what}")]
    Random { what: &'static str },

    #[error("encrypting the state for {} failed", .path.display())]
    Encrypt { path: PathBuf },

    #[cfg(test)]
    #[error("injected crash at {0:?}")]
    InjectedCrash(CrashPoint),
}

/// The encrypted, atomically replaced state file.
pub struct StateFile {
    path: PathBuf,
    key: [u8; KEY_LEN],
    #[cfg(test)]
    crash: Option<CrashPoint>,
}

impl fmt::Debug for StateFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateFile")
            .field("path", &self.path)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl StateFile {
    /// Prepares access to the state file at `path`. Creates `<path>.key` when `source`
    /// is [`KeySource::KeyFileNextToState`] and the key file does not exist yet; the
    /// state file itself is only created by the first [`StateFile::store`].
    pub fn open_or_create(path: impl Into<PathBuf>, source: KeySource) -> Result<Self, StateError> {
        let path = path.into();
        let key = match source {
            KeySource::Key(key) => key,
            KeySource::KeyFileNextToState => load_or_create_key_file(&key_file_path(&path))?,
        };
        Ok(Self {
            path,
            key,
            #[cfg(test)]
            crash: None,
        })
    }

    /// The state file's path.
    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and decrypts the state. `Ok(None)` when the file does not exist yet.
    pub fn load(&self) -> Result<Option<Vec<u8>>, StateError> {
        let mut bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        if bytes.len() < MIN_LEN {
            return Err(StateError::TooShort {
                path: self.path.clone(),
                len: bytes.len(),
            });
        }
        let (magic, rest) = bytes.split_at_mut(MAGIC.len());
        if magic != MAGIC.as_slice() {
            return Err(StateError::BadMagic {
                path: self.path.clone(),
            });
        }
        let (nonce, sealed) = rest.split_at_mut(NONCE_LEN);
        let corrupt = || StateError::Corrupt {
            path: self.path.clone(),
        };
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
        let key = self.aead_key().map_err(|_| corrupt())?;
        let plaintext = key
            .open_in_place(nonce, Aad::from(MAGIC), sealed)
            .map_err(|_| corrupt())?;
        Ok(Some(plaintext.to_vec()))
    }

    /// Encrypts `plaintext` and atomically replaces the state file with it.
    pub fn store(&self, plaintext: &[u8]) -> Result<(), StateError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| StateError::Random {
            what: "drawing a nonce for the state file",
        })?;
        let encrypt_failed = || StateError::Encrypt {
            path: self.path.clone(),
        };
        let key = self.aead_key().map_err(|_| encrypt_failed())?;
        let mut sealed = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(MAGIC),
            &mut sealed,
        )
        .map_err(|_| encrypt_failed())?;

        let mut file = Vec::with_capacity(MAGIC.len() + NONCE_LEN + sealed.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&nonce);
        file.extend_from_slice(&sealed);
        write_atomically(&self.path, &file, self.crash_point())
    }

    fn aead_key(&self) -> Result<LessSafeKey, aws_lc_rs::error::Unspecified> {
        Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.key)?))
    }

    #[cfg(test)]
    fn crash_point(&self) -> Option<CrashPoint> {
        self.crash
    }

    #[cfg(not(test))]
    fn crash_point(&self) -> Option<Never> {
        None
    }
}

/// Outside tests there are no crash points; this type has no values.
#[cfg(not(test))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Never {}

#[cfg(not(test))]
type Crash = Option<Never>;
#[cfg(test)]
type Crash = Option<CrashPoint>;

/// Returns `Err(InjectedCrash)` when `crash` is `point`; never fails outside tests.
#[cfg(test)]
fn check(crash: Crash, point: CrashPoint) -> Result<(), StateError> {
    if crash == Some(point) {
        Err(StateError::InjectedCrash(point))
    } else {
        Ok(())
    }
}

/// `<path>` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// The key file kept next to the state file: `<state>.key`.
pub fn key_file_path(state: &Path) -> PathBuf {
    with_suffix(state, ".key")
}

/// The directory holding `path`, `.` for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `<path>.tmp` (0600), syncs it, renames it over `path` and syncs
/// the parent directory.
#[cfg_attr(not(test), allow(unused_variables))]
fn write_atomically(path: &Path, bytes: &[u8], crash: Crash) -> Result<(), StateError> {
    let tmp = with_suffix(path, ".tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(&tmp)
        .map_err(|source| StateError::CreateTemp {
            path: tmp.clone(),
            source,
        })?;
    let write_err = |source| StateError::WriteTemp {
        path: tmp.clone(),
        source,
    };
    #[cfg(test)]
    {
        check(crash, CrashPoint::AfterTempCreate)?;
        if crash == Some(CrashPoint::AfterPartialWrite) {
            let (half, _) = bytes.split_at(bytes.len() / 2);
            file.write_all(half).map_err(write_err)?;
            return Err(StateError::InjectedCrash(CrashPoint::AfterPartialWrite));
        }
    }
    file.write_all(bytes).map_err(write_err)?;
    #[cfg(test)]
    check(crash, CrashPoint::AfterWriteBeforeSync)?;
    file.sync_all().map_err(|source| StateError::SyncTemp {
        path: tmp.clone(),
        source,
    })?;
    drop(file);
    #[cfg(test)]
    check(crash, CrashPoint::AfterSyncBeforeRename)?;
    fs::rename(&tmp, path).map_err(|source| StateError::Rename {
        from: tmp.clone(),
        to: path.to_path_buf(),
        source,
    })?;
    #[cfg(test)]
    check(crash, CrashPoint::AfterRename)?;
    let dir = parent_dir(path);
    let synced = File::open(dir).and_then(|d| d.sync_all());
    #[cfg(test)]
    let synced = if crash == Some(CrashPoint::DirSyncFails) {
        Err(io::Error::other("injected"))
    } else {
        synced
    };
    // The new state is in place and every reader sees it: the write took effect, and
    // answering it as lost would make the key refuse what it did. Only its survival of a
    // power loss is in doubt, which is worth a warning.
    if let Err(e) = synced {
        eprintln!(
            "latch key: warning: cannot sync directory {} after replacing the state file \
             ({e}); the new state is in place but may not survive a power loss",
            dir.display()
        );
    }
    Ok(())
}

/// Reads the 32-byte key file, or creates it (atomically, 0600) with fresh random bytes.
fn load_or_create_key_file(path: &Path) -> Result<[u8; KEY_LEN], StateError> {
    match File::open(path) {
        Ok(mut f) => {
            let mut bytes = Vec::with_capacity(KEY_LEN);
            f.read_to_end(&mut bytes)
                .map_err(|source| StateError::ReadKeyFile {
                    path: path.to_path_buf(),
                    source,
                })?;
            <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| StateError::KeyFileInvalid {
                path: path.to_path_buf(),
                len: bytes.len(),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut key = [0u8; KEY_LEN];
            aws_lc_rs::rand::fill(&mut key).map_err(|_| StateError::Random {
                what: "generating the state key",
            })?;
            write_atomically(path, &key, None)?;
            Ok(key)
        }
        Err(source) => Err(StateError::ReadKeyFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static COUNTER: AtomicUsize = AtomicUsize::new(0);

    /// A fresh, empty directory for one test.
    fn test_dir() -> PathBuf {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "latch-state-file-test-{}-{}",
            std::process::id(),
            n
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn state(dir: &Path, key: [u8; KEY_LEN]) -> StateFile {
        StateFile::open_or_create(dir.join("state"), KeySource::Key(key)).unwrap()
    }

    #[test]
    fn missing_file_loads_as_none() {
        let dir = test_dir();
        assert_eq!(state(&dir, [1; 32]).load().unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn round_trip_and_overwrite() {
        let dir = test_dir();
        let s = state(&dir, [1; 32]);
        s.store(b"first state").unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b"first state"[..]));
        s.store(b"").unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b""[..]));
        s.store(b"third").unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b"third"[..]));
        assert!(!with_suffix(s.path(), ".tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_is_encrypted_and_well_formed() {
        let dir = test_dir();
        let s = state(&dir, [2; 32]);
        let secret = b"credential-private-key-material-0123456789";
        s.store(secret).unwrap();
        let bytes = fs::read(s.path()).unwrap();
        assert!(bytes.starts_with(MAGIC));
        assert_eq!(bytes.len(), MIN_LEN + secret.len());
        assert!(!bytes.windows(8).any(|w| secret.windows(8).any(|p| p == w)));
        // A fresh nonce each time: two stores of the same plaintext differ.
        s.store(secret).unwrap();
        assert_ne!(fs::read(s.path()).unwrap(), bytes);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_key_is_corrupt() {
        let dir = test_dir();
        state(&dir, [3; 32]).store(b"hello").unwrap();
        let err = state(&dir, [4; 32]).load().unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("corrupt or the key is wrong"), "{msg}");
        assert!(
            msg.contains(&dir.join("state").display().to_string()),
            "{msg}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn truncated_file_is_rejected() {
        let dir = test_dir();
        let s = state(&dir, [5; 32]);
        s.store(b"some state").unwrap();
        let bytes = fs::read(s.path()).unwrap();
        // Below the minimum: too short.
        fs::write(s.path(), &bytes[..MIN_LEN - 1]).unwrap();
        assert!(matches!(s.load(), Err(StateError::TooShort { .. })));
        fs::write(s.path(), b"").unwrap();
        assert!(matches!(s.load(), Err(StateError::TooShort { len: 0, .. })));
        // Long enough but missing its last byte: authentication fails.
        fs::write(s.path(), &bytes[..bytes.len() - 1]).unwrap();
        assert!(matches!(s.load(), Err(StateError::Corrupt { .. })));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let dir = test_dir();
        let s = state(&dir, [6; 32]);
        s.store(b"abc").unwrap();
        let bytes = fs::read(s.path()).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            fs::write(s.path(), &bad).unwrap();
            let err = s.load().unwrap_err();
            if i < MAGIC.len() {
                assert!(matches!(err, StateError::BadMagic { .. }), "{i}: {err:?}");
            } else {
                assert!(matches!(err, StateError::Corrupt { .. }), "{i}: {err:?}");
            }
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_are_mode_0600() {
        let dir = test_dir();
        let path = dir.join("state");
        let s = StateFile::open_or_create(&path, KeySource::KeyFileNextToState).unwrap();
        s.store(b"x").unwrap();
        for p in [path.clone(), key_file_path(&path)] {
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = test_dir();
        let path = dir.join("state");
        let s = StateFile::open_or_create(&path, KeySource::KeyFileNextToState).unwrap();
        s.store(b"persisted").unwrap();
        let key = fs::read(key_file_path(&path)).unwrap();
        assert_eq!(key.len(), KEY_LEN);
        let again = StateFile::open_or_create(&path, KeySource::KeyFileNextToState).unwrap();
        assert_eq!(again.load().unwrap().as_deref(), Some(&b"persisted"[..]));
        assert_eq!(fs::read(key_file_path(&path)).unwrap(), key);
        // A damaged key file is reported, not silently replaced.
        fs::write(key_file_path(&path), b"short").unwrap();
        let err = StateFile::open_or_create(&path, KeySource::KeyFileNextToState).unwrap_err();
        assert!(
            matches!(err, StateError::KeyFileInvalid { len: 5, .. }),
            "{err:?}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn crash_at_each_step_leaves_old_or_new_state() {
        use CrashPoint::*;
        for (point, survives_as_new) in [
            (AfterTempCreate, false),
            (AfterPartialWrite, false),
            (AfterWriteBeforeSync, false),
            (AfterSyncBeforeRename, false),
            (AfterRename, true),
        ] {
            let dir = test_dir();
            let mut s = state(&dir, [7; 32]);
            let old = b"old state: one credential".to_vec();
            let new = b"new state: two credentials, counter bumped".to_vec();
            s.store(&old).unwrap();

            s.crash = Some(point);
            let err = s.store(&new).unwrap_err();
            assert!(
                matches!(err, StateError::InjectedCrash(p) if p == point),
                "{point:?}: {err:?}"
            );
            s.crash = None;

            // "Restart": a fresh handle sees exactly one of the two states.
            let after = state(&dir, [7; 32]);
            let expected = if survives_as_new { &new } else { &old };
            assert_eq!(after.load().unwrap().as_ref(), Some(expected), "{point:?}");

            // Leftover temp file (for points before the rename) breaks nothing.
            let tmp = with_suffix(after.path(), ".tmp");
            assert_eq!(tmp.exists(), !survives_as_new, "{point:?}");
            after.store(b"next").unwrap();
            assert_eq!(after.load().unwrap().as_deref(), Some(&b"next"[..]));
            assert!(!tmp.exists(), "{point:?}");
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn a_failed_directory_sync_after_the_rename_is_no_lost_write() {
        let dir = test_dir();
        let mut s = state(&dir, [7; 32]);
        s.store(b"old").unwrap();
        s.crash = Some(CrashPoint::DirSyncFails);
        s.store(b"new").unwrap();
        s.crash = None;
        let after = state(&dir, [7; 32]);
        assert_eq!(after.load().unwrap().as_deref(), Some(&b"new"[..]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn crash_on_first_store_leaves_no_state() {
        let dir = test_dir();
        let mut s = state(&dir, [8; 32]);
        s.crash = Some(CrashPoint::AfterPartialWrite);
        assert!(s.store(b"first").is_err());
        s.crash = None;
        assert_eq!(s.load().unwrap(), None);
        s.store(b"first").unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b"first"[..]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_tmp_file_is_ignored_and_replaced() {
        let dir = test_dir();
        let s = state(&dir, [9; 32]);
        s.store(b"good").unwrap();
        let tmp = with_suffix(s.path(), ".tmp");
        fs::write(&tmp, vec![0xAA; 4096]).unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b"good"[..]));
        s.store(b"better").unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b"better"[..]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bare_file_name_uses_current_directory() {
        assert_eq!(parent_dir(Path::new("state")), Path::new("."));
        assert_eq!(parent_dir(Path::new("/a/state")), Path::new("/a"));
    }
}
