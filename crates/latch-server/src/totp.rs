//! TOTP (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, one step of clock drift either way.
//! SHA-1 is what every authenticator app implements; HMAC-SHA-1 remains sound for this use.

use aws_lc_rs::{constant_time, hmac};

pub const STEP_SECONDS: i64 = 30;
pub const SECRET_LEN: usize = 20;

/// The step `now` falls in.
pub fn step(now: i64) -> i64 {
    now.div_euclid(STEP_SECONDS)
}

/// The 6-digit code for `step` (RFC 4226 dynamic truncation).
pub fn code(secret: &[u8], step: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let tag = tag.as_ref();
    let offset = usize::from(tag.last().copied().unwrap_or(0) & 0x0f);
    let mut word = [0u8; 4];
    if let Some(bytes) = tag.get(offset..offset + 4) {
        word.copy_from_slice(bytes);
    }
    let value = u32::from_be_bytes(word) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

/// The step whose code `input` is (within one step of `now`), if any. The caller still has
/// to refuse steps already used.
pub fn matching_step(secret: &[u8], input: &str, now: i64) -> Option<i64> {
    let current = step(now);
    [current - 1, current, current + 1].into_iter().find(|s| {
        constant_time::verify_slices_are_equal(code(secret, *s).as_bytes(), input.as_bytes())
            .is_ok()
    })
}

/// Six digits, spaces ignored.
pub fn normalize(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// RFC 4648 base32 without padding: how authenticator apps take the secret.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let index = usize::try_from((buffer >> bits) & 31).unwrap_or(0);
            out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
        }
    }
    if bits > 0 {
        let index = usize::try_from((buffer << (5 - bits)) & 31).unwrap_or(0);
        out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
    }
    out
}

/// The QR code of an `otpauth://` URI as an SVG image, for authenticator apps to scan.
pub fn qr_svg(uri: &str) -> Result<String, crate::error::ApiError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M)
        .map_err(crate::error::ApiError::internal)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 secret "12345678901234567890" (last 6 of the 8 digits).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code(secret, step(time)), expected, "t={time}");
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111;
        let prev = code(secret, step(now) - 1);
        assert_eq!(matching_step(secret, &prev, now), Some(step(now) - 1));
        let old = code(secret, step(now) - 2);
        assert_eq!(matching_step(secret, &old, now), None);
    }

    #[test]
    fn rfc4648_base32() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(normalize(" 123 456 "), Some("123456".into()));
        assert_eq!(normalize("12345a"), None);
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg = qr_svg("otpauth://totp/Latch:ada?secret=MZXW6YTB&issuer=Latch").unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
