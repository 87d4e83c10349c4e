//! PIN/UV auth protocols one and two (CTAP 2.1 §6.5.6, §6.5.7) on aws-lc-rs: the
//! authenticator's key agreement ([`KeyAgreement`]), the platform's [`encapsulate`], and the
//! [`SharedSecret`] both sides derive, with `encrypt`, `decrypt`, `authenticate` and `verify`.
//!
//! Every random byte (ECDH scalars, IVs) comes from the injected [`Rng`], so a seeded RNG makes
//! a whole exchange reproducible. In production that RNG must be a CSPRNG.

use aws_lc_rs::{agreement, cipher, constant_time, digest, hkdf, hmac, iv::FixedLength};

use super::{PinError, Rng};

/// COSE `kty` of the key-agreement key: EC2.
pub const COSE_KTY_EC2: i64 = 2;
/// COSE `alg` of the key-agreement key: ECDH-ES+HKDF-256 (a label only; the KDF actually used
/// is the protocol's own).
pub const COSE_ALG_ECDH_ES_HKDF_256: i64 = -25;
/// COSE `crv` of the key-agreement key: P-256.
pub const COSE_CRV_P256: i64 = 1;

/// AES block (and protocol 2 IV) length.
const BLOCK_LEN: usize = 16;
/// "CTAP2 HMAC key", the HKDF info for protocol 2's HMAC key (§6.5.7).
const HKDF_INFO_HMAC: &[u8] = b"CTAP2 HMAC key";
/// "CTAP2 AES key", the HKDF info for protocol 2's AES key (§6.5.7).
const HKDF_INFO_AES: &[u8] = b"CTAP2 AES key";
/// How many scalars to draw before giving up on an RNG that only yields invalid ones (zero or
/// at least the group order). A working RNG fails once in about 2^32 draws.
const SCALAR_ATTEMPTS: usize = 8;

/// A pinUvAuthProtocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinUvAuthProtocol {
    /// Protocol one (§6.5.6): SHA-256 KDF, zero IV, 16-byte authenticators.
    One,
    /// Protocol two (§6.5.7): HKDF, random IV, 32-byte authenticators.
    Two,
}

impl PinUvAuthProtocol {
    /// Parses the `pinUvAuthProtocol` parameter.
    pub const fn from_wire(value: u64) -> Result<Self, PinError> {
        match value {
            1 => Ok(Self::One),
            2 => Ok(Self::Two),
            got => Err(PinError::UnsupportedProtocol { got }),
        }
    }

    /// The protocol number as sent on the wire.
    pub const fn wire(self) -> u8 {
        match self {
            Self::One => 1,
            Self::Two => 2,
        }
    }

    /// Length of `authenticate`'s output (and of a valid pinUvAuthParam).
    pub const fn tag_len(self) -> usize {
        match self {
            Self::One => 16,
            Self::Two => 32,
        }
    }

    /// `authenticate(key, message)` with an arbitrary key, e.g. a pinUvAuthToken: protocol 1
    /// returns LEFT(HMAC-SHA-256(key, message), 16), protocol 2 the whole HMAC.
    pub fn authenticate(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message);
        tag.as_ref().iter().take(self.tag_len()).copied().collect()
    }

    /// `verify(key, message, signature)`: the signature must be exactly [`Self::tag_len`] bytes
    /// and equal `authenticate(key, message)`, compared in constant time.
    pub fn verify(self, key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), PinError> {
        if signature.len() != self.tag_len() {
            return Err(PinError::PinAuthParamInvalid);
        }
        let expected = self.authenticate(key, message);
        constant_time::verify_slices_are_equal(&expected, signature)
            .map_err(|_| PinError::PinAuthParamInvalid)
    }
}

/// The public half of a key-agreement key: the `x` and `y` of a COSE_Key with kty EC2, alg -25,
/// crv P-256. CBOR is encoded and decoded elsewhere; this type only holds and checks the fields.
/// Whether the point is on the curve is checked when it is used ([`KeyAgreement::decapsulate`],
/// [`encapsulate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoseEcdhKey {
    x: [u8; 32],
    y: [u8; 32],
}

impl CoseEcdhKey {
    /// A key from its coordinates (big-endian, 32 bytes each).
    pub const fn from_xy(x: [u8; 32], y: [u8; 32]) -> Self {
        Self { x, y }
    }

    /// A key from the decoded COSE_Key fields `1` (kty), `3` (alg), `-1` (crv), `-2` (x) and
    /// `-3` (y). Anything but EC2 / -25 / P-256 with 32-byte coordinates is refused.
    pub fn from_cose(kty: i64, alg: i64, crv: i64, x: &[u8], y: &[u8]) -> Result<Self, PinError> {
        if kty != COSE_KTY_EC2 || alg != COSE_ALG_ECDH_ES_HKDF_256 || crv != COSE_CRV_P256 {
            return Err(PinError::InvalidKeyAgreement);
        }
        let x = <[u8; 32]>::try_from(x).map_err(|_| PinError::InvalidKeyAgreement)?;
        let y = <[u8; 32]>::try_from(y).map_err(|_| PinError::InvalidKeyAgreement)?;
        Ok(Self { x, y })
    }

    /// The `x` (-2) and `y` (-3) fields to encode; kty, alg and crv are the `COSE_*` constants.
    pub const fn cose_fields(&self) -> ([u8; 32], [u8; 32]) {
        (self.x, self.y)
    }

    /// The `x` coordinate.
    pub const fn x(&self) -> &[u8; 32] {
        &self.x
    }

    /// The `y` coordinate.
    pub const fn y(&self) -> &[u8; 32] {
        &self.y
    }

    /// SEC1 uncompressed encoding, 0x04 || x || y.
    fn uncompressed(&self) -> Vec<u8> {
        let mut point = Vec::with_capacity(65);
        point.push(0x04);
        point.extend_from_slice(&self.x);
        point.extend_from_slice(&self.y);
        point
    }

    /// Reads a SEC1 uncompressed point.
    fn from_uncompressed(point: &[u8]) -> Result<Self, PinError> {
        let Some((&0x04, coordinates)) = point.split_first() else {
            return Err(PinError::Crypto);
        };
        let Some((x, y)) = coordinates.split_at_checked(32) else {
            return Err(PinError::Crypto);
        };
        let x = <[u8; 32]>::try_from(x).map_err(|_| PinError::Crypto)?;
        let y = <[u8; 32]>::try_from(y).map_err(|_| PinError::Crypto)?;
        Ok(Self { x, y })
    }
}

/// A P-256 private key drawn from the injected RNG, with its public point.
fn generate_p256(rng: &mut dyn Rng) -> Result<(agreement::PrivateKey, CoseEcdhKey), PinError> {
    let mut scalar = [0u8; 32];
    let mut private = None;
    for _ in 0..SCALAR_ATTEMPTS {
        rng.fill(&mut scalar);
        if let Ok(key) = agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, &scalar) {
            private = Some(key);
            break;
        }
    }
    scalar.fill(0);
    let private = private.ok_or(PinError::Crypto)?;
    let public = private.compute_public_key().map_err(|_| PinError::Crypto)?;
    let public = CoseEcdhKey::from_uncompressed(public.as_ref())?;
    Ok((private, public))
}

/// ECDH with `peer`, then the protocol's KDF on Z's x coordinate. A point off the curve is
/// [`PinError::InvalidKeyAgreement`].
fn agree(
    protocol: PinUvAuthProtocol,
    private: &agreement::PrivateKey,
    peer: &CoseEcdhKey,
) -> Result<SharedSecret, PinError> {
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, peer.uncompressed());
    agreement::agree(private, peer, PinError::InvalidKeyAgreement, |z| {
        SharedSecret::derive(protocol, z)
    })
}

/// The authenticator's key-agreement key for one protocol (getKeyAgreement). Generate one at
/// power-up, and [`KeyAgreement::regenerate`] it after every wrong PIN.
pub struct KeyAgreement {
    protocol: PinUvAuthProtocol,
    private: agreement::PrivateKey,
    public: CoseEcdhKey,
}

impl std::fmt::Debug for KeyAgreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyAgreement")
            .field("protocol", &self.protocol)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl KeyAgreement {
    /// `initialize()`: a fresh P-256 key whose scalar comes from `rng`.
    pub fn generate(protocol: PinUvAuthProtocol, rng: &mut dyn Rng) -> Result<Self, PinError> {
        let (private, public) = generate_p256(rng)?;
        Ok(Self {
            protocol,
            private,
            public,
        })
    }

    /// `regenerate()`: replaces the key, so secrets agreed with the old one are useless.
    pub fn regenerate(&mut self, rng: &mut dyn Rng) -> Result<(), PinError> {
        let (private, public) = generate_p256(rng)?;
        self.private = private;
        self.public = public;
        Ok(())
    }

    /// The protocol this key serves.
    pub const fn protocol(&self) -> PinUvAuthProtocol {
        self.protocol
    }

    /// `getPublicKey()`: the COSE key returned by getKeyAgreement.
    pub const fn public_key(&self) -> CoseEcdhKey {
        self.public
    }

    /// `decapsulate(peerCoseKey)`: the shared secret with the platform's key. A point that is
    /// not on P-256 is refused with [`PinError::InvalidKeyAgreement`].
    pub fn decapsulate(&self, platform: &CoseEcdhKey) -> Result<SharedSecret, PinError> {
        agree(self.protocol, &self.private, platform)
    }
}

/// The platform side's `encapsulate(peerCoseKey)`: a fresh platform key (scalar from `rng`), and
/// the shared secret with the authenticator's key. Returns the platform key to send as
/// keyAgreement.
pub fn encapsulate(
    protocol: PinUvAuthProtocol,
    authenticator: &CoseEcdhKey,
    rng: &mut dyn Rng,
) -> Result<(CoseEcdhKey, SharedSecret), PinError> {
    let (private, public) = generate_p256(rng)?;
    let shared = agree(protocol, &private, authenticator)?;
    Ok((public, shared))
}

/// The secret both sides derive from one key agreement. Protocol 1 uses SHA-256(Z.x) as both
/// the HMAC and the AES key; protocol 2 uses two HKDF outputs.
pub struct SharedSecret {
    protocol: PinUvAuthProtocol,
    hmac_key: [u8; 32],
    aes_key: [u8; 32],
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSecret")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl Drop for SharedSecret {
    fn drop(&mut self) {
        self.hmac_key.fill(0);
        self.aes_key.fill(0);
    }
}

impl SharedSecret {
    /// The KDF of the protocol applied to `z`, the x coordinate of the ECDH point.
    fn derive(protocol: PinUvAuthProtocol, z: &[u8]) -> Result<Self, PinError> {
        match protocol {
            PinUvAuthProtocol::One => {
                // "Return SHA-256(Z)" (§6.5.6 kdf).
                let mut key = [0u8; 32];
                let digest = digest::digest(&digest::SHA256, z);
                key.iter_mut()
                    .zip(digest.as_ref())
                    .for_each(|(out, byte)| *out = *byte);
                Ok(Self {
                    protocol,
                    hmac_key: key,
                    aes_key: key,
                })
            }
            PinUvAuthProtocol::Two => {
                // "HKDF-SHA-256(salt = 32 zero bytes, IKM = Z, L = 32, info = "CTAP2 HMAC key")
                // || HKDF-SHA-256(salt, Z, 32, "CTAP2 AES key")" (§6.5.7 kdf).
                let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[0u8; 32]).extract(z);
                let mut hmac_key = [0u8; 32];
                let mut aes_key = [0u8; 32];
                for (info, out) in [
                    (HKDF_INFO_HMAC, &mut hmac_key),
                    (HKDF_INFO_AES, &mut aes_key),
                ] {
                    prk.expand(&[info], hkdf::HKDF_SHA256)
                        .and_then(|okm| okm.fill(out))
                        .map_err(|_| PinError::Crypto)?;
                }
                Ok(Self {
                    protocol,
                    hmac_key,
                    aes_key,
                })
            }
        }
    }

    /// The protocol this secret belongs to.
    pub const fn protocol(&self) -> PinUvAuthProtocol {
        self.protocol
    }

    /// `encrypt(key, demPlaintext)`. Protocol 1: AES-256-CBC with a zero IV. Protocol 2: a
    /// random IV from `rng`, then IV || AES-256-CBC. No padding: the plaintext must be a
    /// multiple of 16 bytes.
    pub fn encrypt(&self, rng: &mut dyn Rng, plaintext: &[u8]) -> Result<Vec<u8>, PinError> {
        if plaintext.len() % BLOCK_LEN != 0 {
            return Err(PinError::PlaintextLength {
                len: plaintext.len(),
            });
        }
        match self.protocol {
            PinUvAuthProtocol::One => {
                let mut out = plaintext.to_vec();
                cbc_encrypt(&self.aes_key, [0u8; BLOCK_LEN], &mut out)?;
                Ok(out)
            }
            PinUvAuthProtocol::Two => {
                let mut iv = [0u8; BLOCK_LEN];
                rng.fill(&mut iv);
                let mut body = plaintext.to_vec();
                cbc_encrypt(&self.aes_key, iv, &mut body)?;
                let mut out = Vec::with_capacity(BLOCK_LEN + body.len());
                out.extend_from_slice(&iv);
                out.extend_from_slice(&body);
                Ok(out)
            }
        }
    }

    /// `decrypt(key, demCiphertext)`, the inverse of [`Self::encrypt`]. A ciphertext that is
    /// not a whole number of blocks (protocol 2: after a 16-byte IV) is
    /// [`PinError::CiphertextLength`].
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, PinError> {
        let length_error = PinError::CiphertextLength {
            len: ciphertext.len(),
        };
        let (iv, body) = match self.protocol {
            PinUvAuthProtocol::One => ([0u8; BLOCK_LEN], ciphertext),
            PinUvAuthProtocol::Two => {
                let (iv, body) = ciphertext.split_at_checked(BLOCK_LEN).ok_or(length_error)?;
                (
                    <[u8; BLOCK_LEN]>::try_from(iv).map_err(|_| length_error)?,
                    body,
                )
            }
        };
        if body.len() % BLOCK_LEN != 0 {
            return Err(length_error);
        }
        let mut out = body.to_vec();
        cbc_decrypt(&self.aes_key, iv, &mut out)?;
        Ok(out)
    }

    /// `authenticate(key, message)` with this secret's HMAC key.
    pub fn authenticate(&self, message: &[u8]) -> Vec<u8> {
        self.protocol.authenticate(&self.hmac_key, message)
    }

    /// `verify(key, message, signature)` with this secret's HMAC key; a wrong signature is
    /// [`PinError::PinAuthParamInvalid`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), PinError> {
        self.protocol.verify(&self.hmac_key, message, signature)
    }
}

/// AES-256-CBC without padding, in place. `data.len()` is a multiple of 16 (checked by callers).
fn cbc_encrypt(key: &[u8; 32], iv: [u8; BLOCK_LEN], data: &mut [u8]) -> Result<(), PinError> {
    if data.is_empty() {
        return Ok(());
    }
    let key = cipher::UnboundCipherKey::new(&cipher::AES_256, key).map_err(|_| PinError::Crypto)?;
    let key = cipher::EncryptingKey::cbc(key).map_err(|_| PinError::Crypto)?;
    key.less_safe_encrypt(
        data,
        cipher::EncryptionContext::Iv128(FixedLength::from(iv)),
    )
    .map(|_| ())
    .map_err(|_| PinError::Crypto)
}

/// AES-256-CBC decryption without padding, in place. `data.len()` is a multiple of 16.
fn cbc_decrypt(key: &[u8; 32], iv: [u8; BLOCK_LEN], data: &mut [u8]) -> Result<(), PinError> {
    if data.is_empty() {
        return Ok(());
    }
    let key = cipher::UnboundCipherKey::new(&cipher::AES_256, key).map_err(|_| PinError::Crypto)?;
    let key = cipher::DecryptingKey::cbc(key).map_err(|_| PinError::Crypto)?;
    key.decrypt(
        data,
        cipher::DecryptionContext::Iv128(FixedLength::from(iv)),
    )
    .map(|_| ())
    .map_err(|_| PinError::Crypto)
}

#[cfg(test)]
mod tests;
