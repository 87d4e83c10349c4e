//! The two symmetric primitives everything else is built from: XChaCha20-Poly1305 (random
//! 24-byte nonces are safe at any volume) and HKDF-SHA-256 to derive one key per purpose.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::error::VaultError;

pub(crate) const NONCE_LEN: usize = 24;

pub(crate) fn seal(
    key: &[u8; 32],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<([u8; NONCE_LEN], Vec<u8>), VaultError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let ct = XChaCha20Poly1305::new(key.into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| VaultError::malformed("plaintext", "too long to seal"))?;
    Ok((nonce, ct))
}

pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| VaultError::Decrypt { what })
}

/// A 32-byte key for one purpose, named by `label`, from a secret.
pub(crate) fn derive(secret: &[u8], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA-256's limit of 255 × 32, so expand cannot fail.
    let _ = hkdf::Hkdf::<sha2::Sha256>::new(None, secret).expand(label, out.as_mut_slice());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::tests::rng;

    #[test]
    fn sealed_bytes_open_only_with_the_same_key_and_associated_data() {
        let (nonce, ct) = seal(&[1; 32], b"aad", b"secret", &mut rng(1)).unwrap();
        assert_eq!(
            open(&[1; 32], &nonce, b"aad", &ct, "x").unwrap().as_slice(),
            b"secret"
        );
        let refused = Err(VaultError::Decrypt { what: "x" });
        assert_eq!(
            open(&[2; 32], &nonce, b"aad", &ct, "x").map(|_| ()),
            refused
        );
        assert_eq!(
            open(&[1; 32], &nonce, b"aae", &ct, "x").map(|_| ()),
            refused
        );
        let mut flipped = ct.clone();
        flipped[0] ^= 1;
        assert_eq!(
            open(&[1; 32], &nonce, b"aad", &flipped, "x").map(|_| ()),
            refused
        );
        assert_ne!(derive(b"s", b"a").as_slice(), derive(b"s", b"b").as_slice());
    }
}
