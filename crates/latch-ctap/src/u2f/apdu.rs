//! ISO 7816-4 command APDUs as CTAP1/U2F carries them (FIDO U2F Raw Message Formats v1.2 §3),
//! and the status words of the response.
//!
//! Both encodings are accepted:
//!
//! - short: `CLA INS P1 P2 [Lc data] [Le]`, Lc and Le one byte each (Lc 1-255);
//! - extended: `CLA INS P1 P2 00 Lc1 Lc2 data [Le1 Le2]`, or `CLA INS P1 P2 00 Le1 Le2` without
//!   data. python-fido2 and browsers send this one, including `00 00 00` (Lc = 0) followed by a
//!   two-byte Le for requests without data.
//!
//! Le is parsed but not enforced: the whole response is always returned (CTAPHID carries up to
//! 7609 bytes, and no U2F client sends GET RESPONSE).

/// The trailing SW1 SW2 of a response APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// SW_NO_ERROR.
    pub const NO_ERROR: Self = Self(0x9000);
    /// SW_CONDITIONS_NOT_SATISFIED: user presence is required (or, for check-only, the key
    /// handle is ours).
    pub const CONDITIONS_NOT_SATISFIED: Self = Self(0x6985);
    /// SW_WRONG_DATA: an unknown key handle, or an unknown control byte.
    pub const WRONG_DATA: Self = Self(0x6A80);
    /// SW_WRONG_LENGTH: the APDU or its data has the wrong length.
    pub const WRONG_LENGTH: Self = Self(0x6700);
    /// SW_CLA_NOT_SUPPORTED.
    pub const CLA_NOT_SUPPORTED: Self = Self(0x6E00);
    /// SW_INS_NOT_SUPPORTED.
    pub const INS_NOT_SUPPORTED: Self = Self(0x6D00);
    /// ISO 7816 "no precise diagnosis": an internal failure (storage, crypto).
    pub const UNKNOWN: Self = Self(0x6F00);
    /// SW_COMMAND_NOT_ALLOWED: CTAP1 is switched off (alwaysUv).
    pub const COMMAND_NOT_ALLOWED: Self = Self(0x6986);

    /// SW1 SW2.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }
}

/// A parsed command APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// First parameter.
    pub p1: u8,
    /// Second parameter.
    pub p2: u8,
    /// The command data (Lc bytes).
    pub data: &'a [u8],
    /// Ne, the expected response length, if Le was sent (256 or 65536 for a zero Le).
    pub le: Option<usize>,
}

/// Where a command APDU is malformed; both answer SW_WRONG_LENGTH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApduError {
    /// Fewer than the four header bytes.
    TooShort,
    /// The body is neither a valid short nor a valid extended encoding (Lc disagrees with the
    /// data, a truncated length field, trailing bytes).
    BadLength,
}

impl Command<'_> {
    /// Parses `apdu`, short or extended.
    pub fn parse(apdu: &[u8]) -> Result<Command<'_>, ApduError> {
        let (&[cla, ins, p1, p2], body) =
            apdu.split_first_chunk::<4>().ok_or(ApduError::TooShort)?;
        let (data, le) = parse_body(body)?;
        Ok(Command {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
        })
    }
}

/// Splits the body after the header into data and Ne.
fn parse_body(body: &[u8]) -> Result<(&[u8], Option<usize>), ApduError> {
    let Some((&first, rest)) = body.split_first() else {
        // Case 1: no data, no Le.
        return Ok((&[], None));
    };
    if rest.is_empty() {
        // Case 2S: a lone short Le.
        return Ok((&[], Some(short_ne(first))));
    }
    if first != 0 {
        // Case 3S / 4S: short Lc, data, optional short Le.
        let lc = usize::from(first);
        let data = rest.get(..lc).ok_or(ApduError::BadLength)?;
        return match rest.get(lc..).unwrap_or_default() {
            [] => Ok((data, None)),
            [le] => Ok((data, Some(short_ne(*le)))),
            _ => Err(ApduError::BadLength),
        };
    }
    // Extended: 00 then a two-byte length.
    let (&[hi, lo], rest) = rest.split_first_chunk::<2>().ok_or(ApduError::BadLength)?;
    let length = u16::from_be_bytes([hi, lo]);
    if rest.is_empty() {
        // Case 2E: `00 Le1 Le2`, no data.
        return Ok((&[], Some(extended_ne(length))));
    }
    let lc = usize::from(length);
    if lc == 0 {
        // python-fido2's `00 00 00 Le1 Le2` for a request without data.
        return match rest {
            [le1, le2] => Ok((&[], Some(extended_ne(u16::from_be_bytes([*le1, *le2]))))),
            _ => Err(ApduError::BadLength),
        };
    }
    let data = rest.get(..lc).ok_or(ApduError::BadLength)?;
    match rest.get(lc..).unwrap_or_default() {
        [] => Ok((data, None)),
        [le1, le2] => Ok((data, Some(extended_ne(u16::from_be_bytes([*le1, *le2]))))),
        _ => Err(ApduError::BadLength),
    }
}

fn short_ne(le: u8) -> usize {
    if le == 0 {
        256
    } else {
        usize::from(le)
    }
}

fn extended_ne(le: u16) -> usize {
    if le == 0 {
        65_536
    } else {
        usize::from(le)
    }
}
