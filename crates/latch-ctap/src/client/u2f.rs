//! CTAP1/U2F over CTAPHID_MSG: version, register and authenticate APDUs (FIDO U2F raw
//! message formats), with extended-length encoding as python-fido2 sends it:
//! `CLA 00 | INS | P1 | P2 | 00 | Lc (2, big-endian) | data | Le 00 00`.

use std::time::Duration;

use super::{CtapDevice, Error};

/// U2F_REGISTER.
pub const INS_REGISTER: u8 = 0x01;
/// U2F_AUTHENTICATE.
pub const INS_AUTHENTICATE: u8 = 0x02;
/// U2F_VERSION.
pub const INS_VERSION: u8 = 0x03;

/// SW_NO_ERROR.
pub const SW_NO_ERROR: u16 = 0x9000;
/// SW_CONDITIONS_NOT_SATISFIED: no touch yet (or, for check-only, "the key handle is mine").
pub const SW_CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
/// SW_WRONG_DATA: the key handle is not this key's, or not for this application.
pub const SW_WRONG_DATA: u16 = 0x6A80;
/// SW_WRONG_LENGTH.
pub const SW_WRONG_LENGTH: u16 = 0x6700;
/// SW_INS_NOT_SUPPORTED.
pub const SW_INS_NOT_SUPPORTED: u16 = 0x6D00;
/// SW_CLA_NOT_SUPPORTED.
pub const SW_CLA_NOT_SUPPORTED: u16 = 0x6E00;

/// Time between polls while the key waits for a touch.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A human message for a status word.
pub fn status_word_message(sw: u16) -> &'static str {
    match sw {
        SW_NO_ERROR => "success",
        SW_CONDITIONS_NOT_SATISFIED => "the key needs a touch",
        SW_WRONG_DATA => "the key handle does not belong to this key or this application",
        SW_WRONG_LENGTH => "the request has the wrong length",
        SW_INS_NOT_SUPPORTED => "the key does not support this U2F instruction",
        SW_CLA_NOT_SUPPORTED => "the key does not support this U2F class",
        _ => "unknown U2F error",
    }
}

/// P1 of U2F_AUTHENTICATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticateMode {
    /// 0x07: only check the key handle (no signature, no touch).
    CheckOnly,
    /// 0x03: require a touch and sign.
    EnforceUserPresence,
    /// 0x08: sign without a touch.
    DontEnforceUserPresence,
}

impl AuthenticateMode {
    /// The P1 byte.
    pub const fn p1(self) -> u8 {
        match self {
            Self::CheckOnly => 0x07,
            Self::EnforceUserPresence => 0x03,
            Self::DontEnforceUserPresence => 0x08,
        }
    }
}

/// An extended-length command APDU.
pub fn apdu(ins: u8, p1: u8, p2: u8, data: &[u8]) -> Result<Vec<u8>, Error> {
    let lc = u16::try_from(data.len())
        .map_err(|_| Error::Invalid(format!("APDU data of {} bytes is too long", data.len())))?;
    let mut out = vec![0x00, ins, p1, p2, 0x00];
    out.extend(lc.to_be_bytes());
    out.extend_from_slice(data);
    out.extend([0x00, 0x00]);
    Ok(out)
}

/// Splits a response APDU into data and status word.
pub fn split_response(response: &[u8]) -> Result<(&[u8], u16), Error> {
    let (data, sw) = response
        .split_last_chunk::<2>()
        .ok_or_else(|| Error::response("U2F response shorter than a status word"))?;
    Ok((data, u16::from_be_bytes(*sw)))
}

/// A U2F registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The uncompressed P-256 user public key (0x04 || x || y).
    pub public_key: [u8; 65],
    /// The key handle.
    pub key_handle: Vec<u8>,
    /// The attestation certificate (DER).
    pub certificate: Vec<u8>,
    /// The attestation signature.
    pub signature: Vec<u8>,
}

impl Registration {
    /// Parses `0x05 | pubkey 65 | L | key handle L | cert (DER) | signature`.
    pub fn parse(data: &[u8]) -> Result<Self, Error> {
        let bad = |what: &str| Error::response(format!("U2F registration: {what}"));
        let (&reserved, rest) = data.split_first().ok_or_else(|| bad("empty"))?;
        if reserved != 0x05 {
            return Err(bad("reserved byte is not 0x05"));
        }
        let (public_key, rest) = rest
            .split_first_chunk::<65>()
            .ok_or_else(|| bad("short key"))?;
        let (&len, rest) = rest
            .split_first()
            .ok_or_else(|| bad("no key handle length"))?;
        let (key_handle, rest) = rest
            .split_at_checked(usize::from(len))
            .ok_or_else(|| bad("short key handle"))?;
        let cert_len = der_len(rest).ok_or_else(|| bad("certificate is not DER"))?;
        let (certificate, signature) = rest
            .split_at_checked(cert_len)
            .ok_or_else(|| bad("short certificate"))?;
        Ok(Self {
            public_key: *public_key,
            key_handle: key_handle.to_vec(),
            certificate: certificate.to_vec(),
            signature: signature.to_vec(),
        })
    }
}

/// The total length of the DER element at the start of `der` (SEQUENCE, definite length).
fn der_len(der: &[u8]) -> Option<usize> {
    match der {
        [0x30, len, ..] if *len < 0x80 => Some(2 + usize::from(*len)),
        [0x30, 0x81, len, ..] => Some(3 + usize::from(*len)),
        [0x30, 0x82, hi, lo, ..] => Some(4 + usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

/// A U2F authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The user-presence byte (bit 0: touched).
    pub user_presence: u8,
    /// The signature counter.
    pub counter: u32,
    /// ECDSA over application || UP || counter || challenge.
    pub signature: Vec<u8>,
}

impl Signature {
    /// Parses `UP 1 | counter 4 (big-endian) | signature`.
    pub fn parse(data: &[u8]) -> Result<Self, Error> {
        let (&user_presence, rest) = data
            .split_first()
            .ok_or_else(|| Error::response("U2F authentication: empty"))?;
        let (counter, signature) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| Error::response("U2F authentication: no counter"))?;
        Ok(Self {
            user_presence,
            counter: u32::from_be_bytes(*counter),
            signature: signature.to_vec(),
        })
    }
}

/// A U2F client over any [`CtapDevice`].
#[derive(Debug)]
pub struct U2f<D> {
    device: D,
    /// Polls while waiting for a touch before giving up (300 × 100 ms = 30 s).
    pub max_polls: u32,
}

impl<D: CtapDevice> U2f<D> {
    /// A client polling for up to 30 s.
    pub fn new(device: D) -> Self {
        Self {
            device,
            max_polls: 300,
        }
    }

    /// The device.
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// Sends one APDU; returns the data on 0x9000, else [`Error::U2f`].
    pub fn send(&mut self, ins: u8, p1: u8, data: &[u8]) -> Result<Vec<u8>, Error> {
        let response = self.device.msg(&apdu(ins, p1, 0, data)?)?;
        let (data, sw) = split_response(&response)?;
        if sw == SW_NO_ERROR {
            Ok(data.to_vec())
        } else {
            Err(Error::U2f(sw))
        }
    }

    /// Repeats the APDU while the key answers "touch needed".
    fn send_until_touched(&mut self, ins: u8, p1: u8, data: &[u8]) -> Result<Vec<u8>, Error> {
        let mut polls = 0;
        loop {
            match self.send(ins, p1, data) {
                Err(Error::U2f(SW_CONDITIONS_NOT_SATISFIED)) if polls < self.max_polls => {
                    polls += 1;
                    self.device.pause(POLL_INTERVAL)?;
                }
                other => return other,
            }
        }
    }

    /// U2F_VERSION: "U2F_V2".
    pub fn version(&mut self) -> Result<String, Error> {
        let data = self.send(INS_VERSION, 0, &[])?;
        String::from_utf8(data).map_err(|_| Error::response("U2F version is not UTF-8"))
    }

    /// U2F_REGISTER (P1 0x00, as python-fido2 sends it), polling until touched.
    pub fn register(
        &mut self,
        challenge: &[u8; 32],
        application: &[u8; 32],
    ) -> Result<Registration, Error> {
        let mut data = challenge.to_vec();
        data.extend_from_slice(application);
        Registration::parse(&self.send_until_touched(INS_REGISTER, 0x00, &data)?)
    }

    fn authenticate_data(
        challenge: &[u8; 32],
        application: &[u8; 32],
        key_handle: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let len = u8::try_from(key_handle.len())
            .map_err(|_| Error::Invalid("a U2F key handle is at most 255 bytes".into()))?;
        let mut data = challenge.to_vec();
        data.extend_from_slice(application);
        data.push(len);
        data.extend_from_slice(key_handle);
        Ok(data)
    }

    /// U2F_AUTHENTICATE with P1 0x07: whether `key_handle` belongs to this key for
    /// `application` (0x6985 means yes, 0x6A80 no).
    pub fn check_key_handle(
        &mut self,
        application: &[u8; 32],
        key_handle: &[u8],
    ) -> Result<bool, Error> {
        let data = Self::authenticate_data(&[0; 32], application, key_handle)?;
        match self.send(INS_AUTHENTICATE, AuthenticateMode::CheckOnly.p1(), &data) {
            Err(Error::U2f(SW_CONDITIONS_NOT_SATISFIED)) => Ok(true),
            Err(Error::U2f(SW_WRONG_DATA)) => Ok(false),
            Err(e) => Err(e),
            Ok(_) => Err(Error::response("check-only authenticate answered 0x9000")),
        }
    }

    /// U2F_AUTHENTICATE with P1 0x03 (polling until touched) or 0x08.
    pub fn authenticate(
        &mut self,
        mode: AuthenticateMode,
        challenge: &[u8; 32],
        application: &[u8; 32],
        key_handle: &[u8],
    ) -> Result<Signature, Error> {
        let data = Self::authenticate_data(challenge, application, key_handle)?;
        let response = match mode {
            AuthenticateMode::CheckOnly => {
                return Err(Error::Invalid("use check_key_handle for check-only".into()))
            }
            AuthenticateMode::EnforceUserPresence => {
                self.send_until_touched(INS_AUTHENTICATE, mode.p1(), &data)?
            }
            AuthenticateMode::DontEnforceUserPresence => {
                self.send(INS_AUTHENTICATE, mode.p1(), &data)?
            }
        };
        Signature::parse(&response)
    }
}
