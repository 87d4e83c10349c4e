//! CTAP1/U2F (FIDO U2F Raw Message Formats v1.2, with the CTAP 2.1 §11 interoperability rules):
//! the request APDU of a CTAPHID_MSG in, the response APDU (data || SW1 SW2) out. Sans-IO, like
//! the CTAP2 layer: everything goes through [`Env`].
//!
//! - U2F_VERSION answers `U2F_V2`.
//! - U2F_REGISTER makes an ES256 key and wraps it into the key handle exactly as a
//!   non-discoverable CTAP2 credential for an RP whose rpIdHash is the application parameter, so
//!   a U2F registration also works over CTAP2 (the WebAuthn appid extension) and the other way
//!   round. It needs a batch attestation ([`crate::command::Config::attestation`], an ES256 key
//!   and its certificate): without one it answers SW_INS_NOT_SUPPORTED. Nothing is stored.
//! - U2F_AUTHENTICATE accepts key handles wrapped by this device for the application (whether
//!   made by U2F_REGISTER or CTAP2 MakeCredential) and discoverable ES256 credentials of the same
//!   rpIdHash, except credProtect userVerificationRequired ones (U2F cannot verify the user).
//!   Signing increments the global counter, persisted before the signature is returned.
//!
//! User presence is asked from [`crate::env::UserPresence::request`] with the RP ID
//! `u2f:<hex of the application parameter>` (U2F carries no RP ID) and the purpose "register"
//! or "authenticate". Anything but approval answers SW_CONDITIONS_NOT_SATISFIED, which U2F
//! clients take as "touch the key" and retry after a short pause; each retry asks again.

pub mod apdu;
#[cfg(test)]
mod tests;

use aws_lc_rs::signature::KeyPair;

use crate::command::Authenticator;
use crate::credential::{Alg, PrivateKey};
use crate::env::{Env, Presence};
use crate::store::{CredProtect, CredentialOptions, Write};
pub use apdu::StatusWord;
use apdu::{ApduError, Command};

/// The only class byte U2F uses.
pub const CLA: u8 = 0x00;
/// U2F_REGISTER.
pub const REGISTER: u8 = 0x01;
/// U2F_AUTHENTICATE.
pub const AUTHENTICATE: u8 = 0x02;
/// U2F_VERSION.
pub const VERSION: u8 = 0x03;
/// U2F_AUTHENTICATE control byte (P1): only check whether the key handle is ours.
pub const CHECK_ONLY: u8 = 0x07;
/// U2F_AUTHENTICATE control byte (P1): require user presence, then sign.
pub const ENFORCE_USER_PRESENCE_AND_SIGN: u8 = 0x03;
/// U2F_AUTHENTICATE control byte (P1): sign without user presence.
pub const DONT_ENFORCE_USER_PRESENCE_AND_SIGN: u8 = 0x08;
/// The U2F_VERSION answer.
pub const VERSION_STRING: &[u8] = b"U2F_V2";
/// The first byte of a registration response ("reserved byte [...] for legacy reasons").
pub const REGISTER_RESERVED: u8 = 0x05;
/// Authentication response flag: the user was present.
pub const USER_PRESENT: u8 = 0x01;

const CHALLENGE_LEN: usize = 32;
const APPLICATION_LEN: usize = 32;
/// An uncompressed P-256 point: 0x04 || x || y.
const PUBLIC_KEY_LEN: usize = 65;

/// Handles one CTAPHID_MSG: a U2F request APDU in, its response data followed by SW1 SW2 out.
pub fn handle(authenticator: &mut Authenticator, env: &mut Env<'_>, apdu: &[u8]) -> Vec<u8> {
    match process(authenticator, env, apdu) {
        Ok(mut data) => {
            data.extend_from_slice(&StatusWord::NO_ERROR.to_bytes());
            data
        }
        Err(status) => status.to_bytes().to_vec(),
    }
}

fn process(
    authenticator: &Authenticator,
    env: &mut Env<'_>,
    apdu: &[u8],
) -> Result<Vec<u8>, StatusWord> {
    // The header first: class and instruction are refused before the body is looked at.
    let (&[cla, ins, ..], _) = apdu
        .split_first_chunk::<4>()
        .ok_or(StatusWord::WRONG_LENGTH)?;
    if cla != CLA {
        return Err(StatusWord::CLA_NOT_SUPPORTED);
    }
    if !matches!(ins, REGISTER | AUTHENTICATE | VERSION) {
        return Err(StatusWord::INS_NOT_SUPPORTED);
    }
    // CTAP 2.1 §6.11.2: with alwaysUv on, CTAP1 is disabled (it can verify no user, and
    // dont-enforce-user-presence would sign with no gesture at all).
    if env.store.state().settings.always_uv {
        return Err(StatusWord::COMMAND_NOT_ALLOWED);
    }
    let command = Command::parse(apdu).map_err(|error| match error {
        ApduError::TooShort | ApduError::BadLength => StatusWord::WRONG_LENGTH,
    })?;
    match command.ins {
        REGISTER => register(authenticator, env, command.data),
        AUTHENTICATE => authenticate(authenticator, env, command.p1, command.data),
        _ => {
            if !command.data.is_empty() {
                return Err(StatusWord::WRONG_LENGTH);
            }
            Ok(VERSION_STRING.to_vec())
        }
    }
}

/// `challenge (32) || application (32)`, then the rest of the data.
struct Parameters<'a> {
    challenge: &'a [u8; CHALLENGE_LEN],
    application: &'a [u8; APPLICATION_LEN],
    rest: &'a [u8],
}

impl<'a> Parameters<'a> {
    fn parse(data: &'a [u8]) -> Result<Self, StatusWord> {
        let (challenge, rest) = data
            .split_first_chunk::<CHALLENGE_LEN>()
            .ok_or(StatusWord::WRONG_LENGTH)?;
        let (application, rest) = rest
            .split_first_chunk::<APPLICATION_LEN>()
            .ok_or(StatusWord::WRONG_LENGTH)?;
        Ok(Self {
            challenge,
            application,
            rest,
        })
    }
}

/// The RP ID shown with a presence request: U2F only knows the application parameter.
pub fn presence_label(application: &[u8; APPLICATION_LEN]) -> String {
    let mut label = String::with_capacity(4 + 2 * APPLICATION_LEN);
    label.push_str("u2f:");
    for byte in application {
        label.push_str(&format!("{byte:02x}"));
    }
    label
}

fn require_presence(
    env: &mut Env<'_>,
    application: &[u8; APPLICATION_LEN],
    what: &str,
) -> Result<(), StatusWord> {
    match env.presence.request(&presence_label(application), what) {
        Presence::Approved => Ok(()),
        Presence::Denied | Presence::Timeout => Err(StatusWord::CONDITIONS_NOT_SATISFIED),
    }
}

/// The uncompressed public point of an ES256 key.
fn public_point(key: &PrivateKey) -> Option<&[u8]> {
    match key {
        PrivateKey::Es256(pair, _) => {
            Some(pair.public_key().as_ref()).filter(|p| p.len() == PUBLIC_KEY_LEN)
        }
        PrivateKey::Ed25519(..) => None,
    }
}

/// U2F_REGISTER (Raw Message Formats §4): `0x05 || public key (65) || L || key handle ||
/// attestation certificate || signature`, the batch key signing `0x00 || application ||
/// challenge || key handle || public key`.
fn register(
    authenticator: &Authenticator,
    env: &mut Env<'_>,
    data: &[u8],
) -> Result<Vec<u8>, StatusWord> {
    let Parameters {
        challenge,
        application,
        rest,
    } = Parameters::parse(data)?;
    if !rest.is_empty() {
        return Err(StatusWord::WRONG_LENGTH);
    }
    // Registration needs an ES256 batch key and its certificate; without them it is not offered.
    let attestation = authenticator
        .config()
        .attestation
        .as_ref()
        .filter(|attestation| attestation.key.alg() == Alg::Es256)
        .ok_or(StatusWord::INS_NOT_SUPPORTED)?;
    let certificate = attestation
        .certificates
        .first()
        .ok_or(StatusWord::INS_NOT_SUPPORTED)?;
    require_presence(env, application, "register")?;

    let key = PrivateKey::generate(Alg::Es256, env.rng).map_err(|_| StatusWord::UNKNOWN)?;
    let public_key = public_point(&key).ok_or(StatusWord::UNKNOWN)?;
    let key_handle = authenticator
        .master()
        .wrap(&key, &CredentialOptions::default(), application, env.rng)
        .map_err(|_| StatusWord::UNKNOWN)?;
    let handle_len = u8::try_from(key_handle.len()).map_err(|_| StatusWord::UNKNOWN)?;

    let mut signed = Vec::with_capacity(1 + 64 + key_handle.len() + PUBLIC_KEY_LEN);
    signed.push(0x00);
    signed.extend_from_slice(application);
    signed.extend_from_slice(challenge);
    signed.extend_from_slice(&key_handle);
    signed.extend_from_slice(public_key);
    let signature = attestation
        .key
        .sign(&signed)
        .map_err(|_| StatusWord::UNKNOWN)?;

    let mut response = Vec::with_capacity(
        2 + PUBLIC_KEY_LEN + key_handle.len() + certificate.len() + signature.len() + 2,
    );
    response.push(REGISTER_RESERVED);
    response.extend_from_slice(public_key);
    response.push(handle_len);
    response.extend_from_slice(&key_handle);
    response.extend_from_slice(certificate);
    response.extend_from_slice(&signature);
    Ok(response)
}

/// The ES256 key behind `key_handle` for `application`, if U2F may use it: a handle this device
/// wrapped for the application, or a discoverable credential of that rpIdHash; never one with
/// credProtect userVerificationRequired.
fn find_key(
    authenticator: &Authenticator,
    env: &Env<'_>,
    application: &[u8; APPLICATION_LEN],
    key_handle: &[u8],
) -> Option<PrivateKey> {
    let (key, options) = match env
        .store
        .credential(key_handle)
        .filter(|stored| stored.rp_id_hash == *application)
    {
        Some(stored) => (
            PrivateKey::from_material(&stored.private_key)?,
            stored.options,
        ),
        None => authenticator.master().unwrap(key_handle, application)?,
    };
    if options.cred_protect == CredProtect::UvRequired || key.alg() != Alg::Es256 {
        return None;
    }
    Some(key)
}

/// U2F_AUTHENTICATE (Raw Message Formats §5): data is `challenge || application || L || key
/// handle`; the response is `flags || counter (4, big-endian) || signature` over `application ||
/// flags || counter || challenge`.
fn authenticate(
    authenticator: &Authenticator,
    env: &mut Env<'_>,
    control: u8,
    data: &[u8],
) -> Result<Vec<u8>, StatusWord> {
    let Parameters {
        challenge,
        application,
        rest,
    } = Parameters::parse(data)?;
    let (&handle_len, key_handle) = rest.split_first().ok_or(StatusWord::WRONG_LENGTH)?;
    if key_handle.len() != usize::from(handle_len) {
        return Err(StatusWord::WRONG_LENGTH);
    }
    if !matches!(
        control,
        CHECK_ONLY | ENFORCE_USER_PRESENCE_AND_SIGN | DONT_ENFORCE_USER_PRESENCE_AND_SIGN
    ) {
        return Err(StatusWord::WRONG_DATA);
    }
    // An unknown handle is refused before the user is bothered.
    let key =
        find_key(authenticator, env, application, key_handle).ok_or(StatusWord::WRONG_DATA)?;
    let flags = match control {
        // "If the key handle was created by this U2F token for this application parameter, the
        //  U2F token MUST respond with [...] SW_CONDITIONS_NOT_SATISFIED."
        CHECK_ONLY => return Err(StatusWord::CONDITIONS_NOT_SATISFIED),
        ENFORCE_USER_PRESENCE_AND_SIGN => {
            require_presence(env, application, "authenticate")?;
            USER_PRESENT
        }
        _ => 0x00,
    };
    // The counter is persisted before anything is signed with it.
    let counter = env.store.sign_count().wrapping_add(1);
    env.store
        .apply(&[Write::SignCount(counter)])
        .map_err(|_| StatusWord::UNKNOWN)?;
    let mut signed = Vec::with_capacity(APPLICATION_LEN + 5 + CHALLENGE_LEN);
    signed.extend_from_slice(application);
    signed.push(flags);
    signed.extend_from_slice(&counter.to_be_bytes());
    signed.extend_from_slice(challenge);
    let signature = key.sign(&signed).map_err(|_| StatusWord::UNKNOWN)?;

    let mut response = Vec::with_capacity(5 + signature.len() + 2);
    response.push(flags);
    response.extend_from_slice(&counter.to_be_bytes());
    response.extend_from_slice(&signature);
    Ok(response)
}
