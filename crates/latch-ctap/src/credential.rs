//! Credential keys: generation, COSE public keys, signing, and key wrapping of non-discoverable
//! credentials into their credential ID.
//!
//! A wrapped ID is `version (1) || nonce (12) || AES-256-GCM(wrap key, nonce, aad = rpIdHash,
//! sealed) || tag (16)`, where sealed is `alg (1) || key (32) || credProtect (1) || flags (1) ||
//! credBlob (0-32)`: the key is the 32-byte seed for Ed25519 or the 32-byte big-endian private
//! scalar for ES256, so a wrapped ID is 64 bytes plus its credBlob, at most 96.
//!
//! The master secret is never used directly: the wrap key, each credential's hmac-secret
//! CredRandom values and its largeBlobKey are HMAC-SHA-256 derivations under distinct labels,
//! so a reset (a new master secret) invalidates all of them at once.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use ciborium::value::Value;

use crate::cbor::int_key;
use crate::pin::Rng;
use crate::store::{CredProtect, CredentialOptions, MAX_CRED_BLOB_LEN};

/// The wrapped-ID format version.
pub const WRAP_VERSION: u8 = 2;
/// Longest credential ID we produce or accept (CTAP1 key handles are at most 255 bytes).
pub const MAX_CREDENTIAL_ID_LEN: usize = 255;
const TAG_LEN: usize = 16;

/// A signature algorithm this authenticator supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256 (COSE -7).
    Es256,
    /// Ed25519 (COSE -8).
    Ed25519,
}

impl Alg {
    /// The COSE algorithm identifier.
    pub const fn cose(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::Ed25519 => -8,
        }
    }

    /// From a COSE identifier.
    pub const fn from_cose(alg: i64) -> Option<Self> {
        match alg {
            -7 => Some(Self::Es256),
            -8 => Some(Self::Ed25519),
            _ => None,
        }
    }

    const fn tag(self) -> u8 {
        match self {
            Self::Es256 => 1,
            Self::Ed25519 => 2,
        }
    }

    const fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::Es256),
            2 => Some(Self::Ed25519),
            _ => None,
        }
    }
}

/// Key generation or signing failed inside the crypto library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptoError;

/// Length of a wrapped credential ID without credBlob (both algorithms).
pub const WRAPPED_ID_LEN: usize = 1 + NONCE_LEN + 1 + 32 + 2 + TAG_LEN;
const FLAG_HMAC_SECRET: u8 = 0x01;
const FLAG_LARGE_BLOB_KEY: u8 = 0x02;

/// RFC 5915 ECPrivateKey for P-256 without the optional public key (aws-lc computes it):
/// SEQUENCE { INTEGER 1, OCTET STRING (32) d, [0] OID prime256v1 }, split around d.
const P256_DER_PREFIX: [u8; 7] = [0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20];
const P256_DER_SUFFIX: [u8; 12] = [
    0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07,
];
/// Random scalars at or above the group order are drawn again, at most this many times.
const MAX_SCALAR_DRAWS: usize = 8;

fn p256_from_scalar(scalar: &[u8; 32]) -> Option<EcdsaKeyPair> {
    let mut der = Vec::with_capacity(P256_DER_PREFIX.len() + 32 + P256_DER_SUFFIX.len());
    der.extend_from_slice(&P256_DER_PREFIX);
    der.extend_from_slice(scalar);
    der.extend_from_slice(&P256_DER_SUFFIX);
    let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, &der).ok();
    der.fill(0);
    pair
}

/// A credential private key.
pub enum PrivateKey {
    /// ES256, with its private scalar.
    Es256(EcdsaKeyPair, [u8; 32]),
    /// Ed25519, with its seed (aws-lc-rs cannot give it back once made from one).
    Ed25519(Ed25519KeyPair, [u8; 32]),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PrivateKey").field(&self.alg()).finish()
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        match self {
            Self::Es256(_, secret) | Self::Ed25519(_, secret) => secret.fill(0),
        }
    }
}

impl PrivateKey {
    /// A new key for `alg`, from `rng` (so a seeded RNG gives the same keys).
    pub fn generate(alg: Alg, rng: &mut dyn Rng) -> Result<Self, CryptoError> {
        match alg {
            Alg::Es256 => {
                for _ in 0..MAX_SCALAR_DRAWS {
                    let mut scalar = [0u8; 32];
                    rng.fill(&mut scalar);
                    if let Some(pair) = p256_from_scalar(&scalar) {
                        return Ok(Self::Es256(pair, scalar));
                    }
                }
                Err(CryptoError)
            }
            Alg::Ed25519 => {
                let mut seed = [0u8; 32];
                rng.fill(&mut seed);
                let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| CryptoError)?;
                Ok(Self::Ed25519(pair, seed))
            }
        }
    }

    /// An ES256 key from an unencrypted PKCS#8 document (a batch attestation key as tools such
    /// as openssl or rcgen write it); `None` if it is not a valid P-256 key.
    pub fn es256_from_pkcs8(der: &[u8]) -> Option<Self> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der).ok()?;
        let scalar = pair.private_key().as_be_bytes().ok()?;
        let scalar: [u8; 32] = scalar.as_ref().try_into().ok()?;
        Some(Self::Es256(pair, scalar))
    }

    /// An ES256 or Ed25519 key from an unencrypted PKCS#8 document (a passkey moved in the
    /// Credential Exchange Format, say).
    pub fn from_pkcs8(der: &[u8]) -> Option<Self> {
        if let Some(key) = Self::es256_from_pkcs8(der) {
            return Some(key);
        }
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).ok()?;
        let seed: [u8; 32] = pair
            .seed()
            .ok()?
            .as_be_bytes()
            .ok()?
            .as_ref()
            .try_into()
            .ok()?;
        Some(Self::Ed25519(pair, seed))
    }

    /// The key as an unencrypted PKCS#8 document.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, CryptoError> {
        let document = match self {
            Self::Es256(pair, _) => pair.to_pkcs8v1(),
            Self::Ed25519(pair, _) => pair.to_pkcs8v1(),
        };
        document
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| CryptoError)
    }

    /// Its algorithm.
    pub const fn alg(&self) -> Alg {
        match self {
            Self::Es256(..) => Alg::Es256,
            Self::Ed25519(..) => Alg::Ed25519,
        }
    }

    /// `alg tag || key`, the form that is stored or wrapped.
    pub fn to_material(&self) -> Result<Vec<u8>, CryptoError> {
        let mut out = vec![self.alg().tag()];
        match self {
            Self::Es256(_, secret) | Self::Ed25519(_, secret) => out.extend_from_slice(secret),
        }
        Ok(out)
    }

    /// Parses [`PrivateKey::to_material`] output.
    pub fn from_material(material: &[u8]) -> Option<Self> {
        let (tag, key) = material.split_first()?;
        let secret: [u8; 32] = key.try_into().ok()?;
        match Alg::from_tag(*tag)? {
            Alg::Es256 => p256_from_scalar(&secret).map(|pair| Self::Es256(pair, secret)),
            Alg::Ed25519 => {
                let seed = secret;
                let pair = Ed25519KeyPair::from_seed_unchecked(&seed).ok()?;
                Some(Self::Ed25519(pair, seed))
            }
        }
    }

    /// The COSE_Key public key.
    pub fn cose_public_key(&self) -> Value {
        match self {
            Self::Es256(pair, _) => {
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let x = point.get(1..33).unwrap_or_default().to_vec();
                let y = point.get(33..65).unwrap_or_default().to_vec();
                Value::Map(vec![
                    int_key(1, Value::Integer(2.into())),
                    int_key(3, Value::Integer((-7).into())),
                    int_key(-1, Value::Integer(1.into())),
                    int_key(-2, Value::Bytes(x)),
                    int_key(-3, Value::Bytes(y)),
                ])
            }
            Self::Ed25519(pair, _) => Value::Map(vec![
                int_key(1, Value::Integer(1.into())),
                int_key(3, Value::Integer((-8).into())),
                int_key(-1, Value::Integer(6.into())),
                int_key(-2, Value::Bytes(pair.public_key().as_ref().to_vec())),
            ]),
        }
    }

    /// Signs `message` (ES256: DER-encoded ECDSA signature).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self {
            Self::Es256(pair, _) => pair
                .sign(&SystemRandom::new(), message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| CryptoError),
            Self::Ed25519(pair, _) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// The per-device master secret: wraps non-discoverable credentials, and derives hmac-secret
/// and largeBlobKey values.
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

impl MasterKey {
    /// From 32 secret bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// HMAC-SHA-256(master, label || parts...).
    fn derive(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(label);
        for part in parts {
            context.update(part);
        }
        let tag = context.sign();
        let mut out = [0u8; 32];
        out.iter_mut()
            .zip(tag.as_ref())
            .for_each(|(out, byte)| *out = *byte);
        out
    }

    fn aead(&self) -> Result<LessSafeKey, CryptoError> {
        let mut key = self.derive(b"latch credential wrap v2", &[]);
        let aead = UnboundKey::new(&AES_256_GCM, &key)
            .map(LessSafeKey::new)
            .map_err(|_| CryptoError);
        key.fill(0);
        aead
    }

    /// hmac-secret's CredRandom for `credential_id`: one value with UV, another without.
    pub fn cred_random(&self, credential_id: &[u8], user_verified: bool) -> [u8; 32] {
        let label: &[u8] = if user_verified {
            b"latch hmac-secret uv"
        } else {
            b"latch hmac-secret no-uv"
        };
        self.derive(label, &[credential_id])
    }

    /// The largeBlobKey of `credential_id`.
    pub fn large_blob_key(&self, credential_id: &[u8]) -> [u8; 32] {
        self.derive(b"latch largeBlobKey", &[credential_id])
    }

    /// Wraps `key` and its `options` into a credential ID bound to `rp_id_hash`.
    pub fn wrap(
        &self,
        key: &PrivateKey,
        options: &CredentialOptions,
        rp_id_hash: &[u8; 32],
        rng: &mut dyn Rng,
    ) -> Result<Vec<u8>, CryptoError> {
        let blob = options.cred_blob.as_deref().unwrap_or_default();
        if blob.len() > MAX_CRED_BLOB_LEN {
            return Err(CryptoError);
        }
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce);
        let mut sealed = key.to_material()?;
        let mut flags = 0;
        if options.hmac_secret {
            flags |= FLAG_HMAC_SECRET;
        }
        if options.large_blob_key {
            flags |= FLAG_LARGE_BLOB_KEY;
        }
        sealed.push(options.cred_protect.level());
        sealed.push(flags);
        sealed.extend_from_slice(blob);
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(rp_id_hash),
                &mut sealed,
            )
            .map_err(|_| CryptoError)?;
        let mut id = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        id.push(WRAP_VERSION);
        id.extend_from_slice(&nonce);
        id.extend_from_slice(&sealed);
        if id.len() > MAX_CREDENTIAL_ID_LEN {
            return Err(CryptoError);
        }
        Ok(id)
    }

    /// The key and options inside a wrapped ID, if it was wrapped by this device for
    /// `rp_id_hash`.
    pub fn unwrap(
        &self,
        id: &[u8],
        rp_id_hash: &[u8; 32],
    ) -> Option<(PrivateKey, CredentialOptions)> {
        let (mut material, options) = self.unwrap_material(id, rp_id_hash)?;
        let key = PrivateKey::from_material(&material);
        material.fill(0);
        Some((key?, options))
    }

    /// The key material (see [`PrivateKey::to_material`]) and options inside a wrapped ID,
    /// without loading the key: the AEAD tag already proves this device sealed it.
    pub fn unwrap_material(
        &self,
        id: &[u8],
        rp_id_hash: &[u8; 32],
    ) -> Option<(Vec<u8>, CredentialOptions)> {
        let (version, rest) = id.split_first()?;
        if *version != WRAP_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = sealed.to_vec();
        let opened = self
            .aead()
            .ok()?
            .open_in_place(nonce, Aad::from(rp_id_hash), &mut buffer)
            .ok()?;
        let parsed = (|| {
            let (material, rest) = opened.split_at_checked(33)?;
            let (&[level, flags], blob) = rest.split_first_chunk::<2>()?;
            let options = CredentialOptions {
                cred_protect: CredProtect::from_level(i64::from(level))?,
                hmac_secret: flags & FLAG_HMAC_SECRET != 0,
                large_blob_key: flags & FLAG_LARGE_BLOB_KEY != 0,
                cred_blob: (!blob.is_empty()).then(|| blob.to_vec()),
                cred_random: None,
            };
            Some((material.to_vec(), options))
        })();
        buffer.fill(0);
        parsed
    }
}

/// Recently used credential keys, by their material. Loading a P-256 key computes its public
/// point (a scalar multiplication as costly as the signature itself), so a key signing again —
/// the silent pre-flight and then the real assertion, or the same user signing in again — is
/// taken from here. Material → key is a pure function, so entries never go stale: a reset or a
/// deleted credential simply never asks for them again, and they age out.
#[derive(Default)]
pub struct KeyCache {
    /// Most recently used last.
    entries: Vec<(Vec<u8>, PrivateKey)>,
}

/// Keys kept in a [`KeyCache`].
pub const KEY_CACHE_LEN: usize = 8;

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("len", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl Drop for KeyCache {
    fn drop(&mut self) {
        self.clear();
    }
}

impl KeyCache {
    /// The key for `material`, loaded now if it is not cached.
    pub fn load(&mut self, material: &[u8]) -> Option<&PrivateKey> {
        if let Some(at) = self.entries.iter().position(|(m, _)| m == material) {
            let entry = self.entries.remove(at);
            self.entries.push(entry);
        } else {
            let key = PrivateKey::from_material(material)?;
            if self.entries.len() >= KEY_CACHE_LEN {
                let (mut old, _) = self.entries.remove(0);
                old.fill(0);
            }
            self.entries.push((material.to_vec(), key));
        }
        self.entries.last().map(|(_, key)| key)
    }

    /// Forgets every key (a reset).
    pub fn clear(&mut self) {
        for (material, _) in &mut self.entries {
            material.fill(0);
        }
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{Alg, MasterKey, PrivateKey, MAX_CREDENTIAL_ID_LEN, WRAPPED_ID_LEN};
    use crate::store::{CredProtect, CredentialOptions, MAX_CRED_BLOB_LEN};
    use crate::testing::XorShiftRng;

    #[test]
    fn keys_round_trip_through_pkcs8() {
        let mut rng = XorShiftRng::new(5);
        for alg in [Alg::Es256, Alg::Ed25519] {
            let key = PrivateKey::generate(alg, &mut rng).unwrap();
            let der = key.to_pkcs8().unwrap();
            let back = PrivateKey::from_pkcs8(&der).unwrap();
            assert_eq!(back.alg(), alg);
            assert_eq!(back.to_material().unwrap(), key.to_material().unwrap());
            assert_eq!(back.cose_public_key(), key.cose_public_key());
        }
        assert!(PrivateKey::from_pkcs8(b"not a key").is_none());
    }

    #[test]
    fn wrapped_ids_fit_and_bind_to_the_rp() -> Result<(), &'static str> {
        let master = MasterKey::new([7; 32]);
        let other = MasterKey::new([8; 32]);
        let mut rng = XorShiftRng::new(1);
        for alg in [Alg::Es256, Alg::Ed25519] {
            let key = PrivateKey::generate(alg, &mut rng).map_err(|_| "keygen")?;
            let options = CredentialOptions {
                cred_protect: CredProtect::UvOptionalWithCredentialIdList,
                hmac_secret: true,
                large_blob_key: false,
                cred_blob: Some(vec![0xB1; MAX_CRED_BLOB_LEN]),
                cred_random: None,
            };
            let plain = master
                .wrap(&key, &CredentialOptions::default(), &[1; 32], &mut rng)
                .map_err(|_| "wrap")?;
            assert_eq!(plain.len(), WRAPPED_ID_LEN);
            let id = master
                .wrap(&key, &options, &[1; 32], &mut rng)
                .map_err(|_| "wrap")?;
            assert_eq!(id.len(), WRAPPED_ID_LEN + MAX_CRED_BLOB_LEN);
            assert!(id.len() <= MAX_CREDENTIAL_ID_LEN);
            let (unwrapped, back) = master.unwrap(&id, &[1; 32]).ok_or("unwrap")?;
            assert_eq!(unwrapped.cose_public_key(), key.cose_public_key());
            assert_eq!(back, options);
            assert_eq!(
                master.unwrap(&plain, &[1; 32]).map(|(_, o)| o),
                Some(CredentialOptions::default())
            );
            let too_big = CredentialOptions {
                cred_blob: Some(vec![0; MAX_CRED_BLOB_LEN + 1]),
                ..CredentialOptions::default()
            };
            assert!(master.wrap(&key, &too_big, &[1; 32], &mut rng).is_err());
            assert!(master.unwrap(&id, &[2; 32]).is_none());
            assert!(other.unwrap(&id, &[1; 32]).is_none());
            let mut tampered = id.clone();
            if let Some(last) = tampered.last_mut() {
                *last ^= 1;
            }
            assert!(master.unwrap(&tampered, &[1; 32]).is_none());
            assert!(master.unwrap(&[], &[1; 32]).is_none());
        }
        Ok(())
    }

    #[test]
    fn key_cache_loads_once_and_evicts_the_oldest() {
        let mut rng = XorShiftRng::new(3);
        let materials: Vec<Vec<u8>> = (0..=super::KEY_CACHE_LEN)
            .map(|_| {
                PrivateKey::generate(Alg::Es256, &mut rng)
                    .and_then(|k| k.to_material())
                    .unwrap_or_default()
            })
            .collect();
        let mut cache = super::KeyCache::default();
        let first = cache.load(&materials[0]).map(PrivateKey::cose_public_key);
        assert_eq!(
            first,
            PrivateKey::from_material(&materials[0]).map(|k| k.cose_public_key())
        );
        for material in &materials {
            assert!(cache.load(material).is_some());
        }
        assert_eq!(cache.entries.len(), super::KEY_CACHE_LEN);
        assert!(cache.entries.iter().all(|(m, _)| m != &materials[0]));
        assert!(cache.load(&[9, 9]).is_none());
        cache.clear();
        assert!(cache.entries.is_empty());
    }

    #[test]
    fn derived_secrets_are_separate_and_follow_the_master() {
        let master = MasterKey::new([7; 32]);
        let other = MasterKey::new([8; 32]);
        let id = [1u8; 16];
        let uv = master.cred_random(&id, true);
        assert_ne!(uv, master.cred_random(&id, false));
        assert_ne!(uv, master.cred_random(&[2; 16], true));
        assert_ne!(uv, other.cred_random(&id, true));
        assert_eq!(uv, master.cred_random(&id, true));
        assert_ne!(master.large_blob_key(&id), uv);
        assert_ne!(master.large_blob_key(&id), other.large_blob_key(&id));
    }

    #[test]
    fn keys_come_from_the_injected_rng() -> Result<(), &'static str> {
        for alg in [Alg::Es256, Alg::Ed25519] {
            let a = PrivateKey::generate(alg, &mut XorShiftRng::new(9)).map_err(|_| "keygen")?;
            let b = PrivateKey::generate(alg, &mut XorShiftRng::new(9)).map_err(|_| "keygen")?;
            let c = PrivateKey::generate(alg, &mut XorShiftRng::new(10)).map_err(|_| "keygen")?;
            assert_eq!(a.cose_public_key(), b.cose_public_key());
            assert_ne!(a.cose_public_key(), c.cose_public_key());
            let material = a.to_material().map_err(|_| "material")?;
            assert_eq!(material.len(), 33);
            let back = PrivateKey::from_material(&material).ok_or("from_material")?;
            assert_eq!(back.cose_public_key(), a.cose_public_key());
        }
        // The group order n is not a valid scalar; neither is zero.
        let n = [
            0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2,
            0xFC, 0x63, 0x25, 0x51,
        ];
        assert!(super::p256_from_scalar(&n).is_none());
        assert!(super::p256_from_scalar(&[0; 32]).is_none());
        Ok(())
    }
}
