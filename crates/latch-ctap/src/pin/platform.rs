//! The platform (client) side of the PIN subcommands: what to send for setPIN, changePIN and
//! the token requests, and how to read the token back. Pair with [`super::encapsulate`], which
//! yields the keyAgreement to send and the [`SharedSecret`].

use super::protocol::SharedSecret;
use super::{pin_hash, PinError, Rng, MAX_PIN_BYTES, PADDED_PIN_LEN, TOKEN_LEN};

/// The PIN's UTF-8 bytes padded with 0x00 to 64 bytes. A PIN over 63 bytes is refused, as
/// the authenticator would refuse it; a PIN containing U+0000 is refused because the padding
/// could not be told apart from it.
pub fn pad_pin(pin: &str) -> Result<[u8; PADDED_PIN_LEN], PinError> {
    let bytes = pin.as_bytes();
    if bytes.len() > MAX_PIN_BYTES {
        return Err(PinError::PinTooLong { bytes: bytes.len() });
    }
    if bytes.contains(&0) {
        return Err(PinError::PinContainsNul);
    }
    let mut padded = [0u8; PADDED_PIN_LEN];
    padded
        .iter_mut()
        .zip(bytes)
        .for_each(|(out, byte)| *out = *byte);
    Ok(padded)
}

/// setPIN's newPinEnc = encrypt(shared, paddedPin) and pinUvAuthParam =
/// authenticate(shared, newPinEnc).
pub fn set_pin_params(
    shared: &SharedSecret,
    rng: &mut dyn Rng,
    new_pin: &str,
) -> Result<SetPinParams, PinError> {
    let new_pin_enc = encrypt_padded(shared, rng, &pad_pin(new_pin)?)?;
    let pin_uv_auth_param = shared.authenticate(&new_pin_enc);
    Ok(SetPinParams {
        new_pin_enc,
        pin_uv_auth_param,
    })
}

/// setPIN's encrypted parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPinParams {
    /// newPinEnc (0x05).
    pub new_pin_enc: Vec<u8>,
    /// pinUvAuthParam (0x04).
    pub pin_uv_auth_param: Vec<u8>,
}

/// changePIN's pinHashEnc, newPinEnc, and pinUvAuthParam = authenticate(shared,
/// newPinEnc || pinHashEnc).
pub fn change_pin_params(
    shared: &SharedSecret,
    rng: &mut dyn Rng,
    current_pin: &str,
    new_pin: &str,
) -> Result<ChangePinParams, PinError> {
    let pin_hash_enc = pin_hash_enc(shared, rng, current_pin)?;
    let new_pin_enc = encrypt_padded(shared, rng, &pad_pin(new_pin)?)?;
    let mut message = Vec::with_capacity(new_pin_enc.len() + pin_hash_enc.len());
    message.extend_from_slice(&new_pin_enc);
    message.extend_from_slice(&pin_hash_enc);
    let pin_uv_auth_param = shared.authenticate(&message);
    Ok(ChangePinParams {
        pin_hash_enc,
        new_pin_enc,
        pin_uv_auth_param,
    })
}

/// changePIN's encrypted parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePinParams {
    /// pinHashEnc (0x06).
    pub pin_hash_enc: Vec<u8>,
    /// newPinEnc (0x05).
    pub new_pin_enc: Vec<u8>,
    /// pinUvAuthParam (0x04).
    pub pin_uv_auth_param: Vec<u8>,
}

/// pinHashEnc = encrypt(shared, LEFT(SHA-256(pin), 16)), for changePIN and the token requests.
pub fn pin_hash_enc(
    shared: &SharedSecret,
    rng: &mut dyn Rng,
    pin: &str,
) -> Result<Vec<u8>, PinError> {
    shared.encrypt(rng, &pin_hash(pin.as_bytes()))
}

/// Decrypts the pinUvAuthToken (0x02) response; anything but a 32-byte token is an error.
pub fn decrypt_token(shared: &SharedSecret, encrypted: &[u8]) -> Result<[u8; TOKEN_LEN], PinError> {
    let token = shared.decrypt(encrypted)?;
    <[u8; TOKEN_LEN]>::try_from(token.as_slice()).map_err(|_| PinError::CiphertextLength {
        len: encrypted.len(),
    })
}

fn encrypt_padded(
    shared: &SharedSecret,
    rng: &mut dyn Rng,
    padded: &[u8; PADDED_PIN_LEN],
) -> Result<Vec<u8>, PinError> {
    shared.encrypt(rng, padded)
}
