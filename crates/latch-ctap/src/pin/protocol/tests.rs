use aws_lc_rs::{hkdf, hmac};

use super::*;
use crate::pin::testing::{ScriptedRng, TestRng};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex32(s: &str) -> [u8; 32] {
    hex(s).try_into().unwrap()
}

// Known-answer vectors computed independently with Python `cryptography` 48
// (ec.derive_private_key, ECDH, HKDF, AES-CBC, HMAC), not with aws-lc:
// authenticator scalar a = 01 02 .. 20, platform scalar b = 40 41 .. 5f.
const A_X: &str = "515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b4035f";
const A_Y: &str = "4536be3a50f318fbf9a5475902a221502bef0d57e08c53b2cc0a56f17d9f9354";
const B_X: &str = "68ec7cf08cd4106e43b14de895426522bd0a45150c027e45c7953434d747e7ba";
const B_Y: &str = "e3af39a88ebbee8679bb61e7845c3a89cb9b5a3237c3fdb0b0587dbaf415118d";
const Z: &str = "ec559d31e54c6c292383fef21cd1747c331ffc66548e52b56d3588d06c992682";
const P1_KEY: &str = "d2233304f052ee4a24116ea885e26d25e4fd6cf2f43b84c9bb089a66ea65a6ac";
const P2_HMAC_KEY: &str = "44cd0aaaceb730bbe14fa643c2c55bd0231b793d81ecc91ba62c17d3478324c4";
const P2_AES_KEY: &str = "5931ee669b5b9575281a5dcded6c3cbe6e069e835559e3573065a78bdbaeacca";
// plaintext 00 01 .. 1f; protocol 2 IV a5 * 16.
const P1_CT: &str = "af044640df35e95ec1101a10cc1a3c8ac5d2c5f4b6712389e727189c813ddc16";
const P1_MAC: &str = "4288e7eba04144be2caf066729cef00e";
const P2_CT: &str = "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5\
                     76e175a1558ec8a2ba612f969bdc49b6d554cc262ea89e8b64e081e5a4d8d4f2";
const P2_MAC: &str = "4d4e4847d63685cc35001ceba0fb76b29a9ef1d30f46584e2464bc1966d9746f";

fn scalar_a() -> Vec<u8> {
    (1..=32).collect()
}

fn scalar_b() -> Vec<u8> {
    (0x40..0x60).collect()
}

fn plaintext() -> Vec<u8> {
    (0..32).collect()
}

/// The authenticator key from scalar a, and the platform's shared secret from scalar b.
fn kat_pair(protocol: PinUvAuthProtocol) -> (KeyAgreement, CoseEcdhKey, SharedSecret) {
    let authenticator =
        KeyAgreement::generate(protocol, &mut ScriptedRng::new(&[&scalar_a()])).unwrap();
    let (platform_key, platform_secret) = encapsulate(
        protocol,
        &authenticator.public_key(),
        &mut ScriptedRng::new(&[&scalar_b()]),
    )
    .unwrap();
    (authenticator, platform_key, platform_secret)
}

#[test]
fn key_agreement_public_keys_match_known_answers() {
    let (authenticator, platform_key, _) = kat_pair(PinUvAuthProtocol::One);
    assert_eq!(
        authenticator.public_key().cose_fields(),
        (hex32(A_X), hex32(A_Y))
    );
    assert_eq!(platform_key.cose_fields(), (hex32(B_X), hex32(B_Y)));
}

#[test]
fn protocol_one_known_answers() {
    let (authenticator, platform_key, platform) = kat_pair(PinUvAuthProtocol::One);
    let shared = authenticator.decapsulate(&platform_key).unwrap();
    for secret in [&shared, &platform] {
        assert_eq!(secret.protocol(), PinUvAuthProtocol::One);
        assert_eq!(secret.hmac_key, hex32(P1_KEY));
        assert_eq!(secret.aes_key, hex32(P1_KEY));
        assert_eq!(
            secret.encrypt(&mut TestRng::new(0), &plaintext()).unwrap(),
            hex(P1_CT)
        );
        assert_eq!(secret.decrypt(&hex(P1_CT)).unwrap(), plaintext());
        assert_eq!(secret.authenticate(&plaintext()), hex(P1_MAC));
        assert_eq!(secret.verify(&plaintext(), &hex(P1_MAC)), Ok(()));
    }
    // And SHA-256(Z) by an independent path.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &hex(Z));
    assert_eq!(digest.as_ref(), hex(P1_KEY).as_slice());
}

#[test]
fn protocol_two_known_answers() {
    let (authenticator, platform_key, platform) = kat_pair(PinUvAuthProtocol::Two);
    let shared = authenticator.decapsulate(&platform_key).unwrap();
    for secret in [&shared, &platform] {
        assert_eq!(secret.protocol(), PinUvAuthProtocol::Two);
        assert_eq!(secret.hmac_key, hex32(P2_HMAC_KEY));
        assert_eq!(secret.aes_key, hex32(P2_AES_KEY));
        let mut iv = ScriptedRng::new(&[&[0xA5; 16]]);
        assert_eq!(secret.encrypt(&mut iv, &plaintext()).unwrap(), hex(P2_CT));
        assert_eq!(secret.decrypt(&hex(P2_CT)).unwrap(), plaintext());
        assert_eq!(secret.authenticate(&plaintext()), hex(P2_MAC));
        assert_eq!(secret.verify(&plaintext(), &hex(P2_MAC)), Ok(()));
    }
}

#[test]
fn protocol_two_hkdf_matches_direct_hkdf_and_rfc5869() {
    let z = hex(Z);
    let secret = SharedSecret::derive(PinUvAuthProtocol::Two, &z).unwrap();

    // aws_lc_rs::hkdf called directly.
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[0u8; 32]).extract(&z);
    let mut direct = [[0u8; 32]; 2];
    for (info, out) in [b"CTAP2 HMAC key".as_slice(), b"CTAP2 AES key"]
        .into_iter()
        .zip(&mut direct)
    {
        prk.expand(&[info], hkdf::HKDF_SHA256)
            .unwrap()
            .fill(out)
            .unwrap();
    }
    assert_eq!(secret.hmac_key, direct[0]);
    assert_eq!(secret.aes_key, direct[1]);

    // RFC 5869 by hand: PRK = HMAC(salt, IKM); T(1) = HMAC(PRK, info || 0x01).
    let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &[0u8; 32]), &z);
    let prk = hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref());
    let t1 = |info: &[u8]| hmac::sign(&prk, &[info, &[1u8]].concat()).as_ref().to_vec();
    assert_eq!(secret.hmac_key.to_vec(), t1(b"CTAP2 HMAC key"));
    assert_eq!(secret.aes_key.to_vec(), t1(b"CTAP2 AES key"));
    assert_eq!(secret.hmac_key, hex32(P2_HMAC_KEY));
}

#[test]
fn both_protocols_round_trip_between_platform_and_authenticator() {
    for protocol in [PinUvAuthProtocol::One, PinUvAuthProtocol::Two] {
        let mut rng = TestRng::new(42);
        let authenticator = KeyAgreement::generate(protocol, &mut rng).unwrap();
        let (platform_key, platform) =
            encapsulate(protocol, &authenticator.public_key(), &mut rng).unwrap();
        let shared = authenticator.decapsulate(&platform_key).unwrap();

        let message: Vec<u8> = (0u8..64).collect();
        // Platform → authenticator.
        let ct = platform.encrypt(&mut rng, &message).unwrap();
        assert_eq!(
            ct.len(),
            64 + if protocol == PinUvAuthProtocol::Two {
                16
            } else {
                0
            }
        );
        assert_eq!(shared.decrypt(&ct).unwrap(), message);
        let tag = platform.authenticate(&ct);
        assert_eq!(tag.len(), protocol.tag_len());
        assert_eq!(shared.verify(&ct, &tag), Ok(()));
        // Authenticator → platform.
        let ct = shared.encrypt(&mut rng, &message[..32]).unwrap();
        assert_eq!(platform.decrypt(&ct).unwrap(), &message[..32]);
        assert_eq!(platform.verify(b"x", &shared.authenticate(b"x")), Ok(()));
    }
}

#[test]
fn deterministic_under_a_seeded_rng() {
    let run = || {
        let mut rng = TestRng::new(9);
        let authenticator = KeyAgreement::generate(PinUvAuthProtocol::Two, &mut rng).unwrap();
        let (platform_key, platform) = encapsulate(
            PinUvAuthProtocol::Two,
            &authenticator.public_key(),
            &mut rng,
        )
        .unwrap();
        (
            authenticator.public_key(),
            platform_key,
            platform.encrypt(&mut rng, &[7; 16]).unwrap(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn protocol_two_draws_a_fresh_iv_per_encryption() {
    let secret = SharedSecret::derive(PinUvAuthProtocol::Two, &hex(Z)).unwrap();
    let mut rng = TestRng::new(1);
    let first = secret.encrypt(&mut rng, &[0; 16]).unwrap();
    let second = secret.encrypt(&mut rng, &[0; 16]).unwrap();
    assert_ne!(first[..16], second[..16]);
    assert_eq!(
        secret.decrypt(&first).unwrap(),
        secret.decrypt(&second).unwrap()
    );
}

#[test]
fn wrong_ciphertext_lengths_are_refused() {
    let one = SharedSecret::derive(PinUvAuthProtocol::One, &hex(Z)).unwrap();
    let two = SharedSecret::derive(PinUvAuthProtocol::Two, &hex(Z)).unwrap();
    let err = one.decrypt(&[0; 15]).unwrap_err();
    assert_eq!(err, PinError::CiphertextLength { len: 15 });
    assert_eq!(err.status(), 0x02);
    assert_eq!(
        one.decrypt(&[0; 33]),
        Err(PinError::CiphertextLength { len: 33 })
    );
    // Protocol 2: shorter than the IV, or a partial block after it.
    assert_eq!(
        two.decrypt(&[0; 15]),
        Err(PinError::CiphertextLength { len: 15 })
    );
    assert_eq!(
        two.decrypt(&[0; 31]),
        Err(PinError::CiphertextLength { len: 31 })
    );
    assert_eq!(two.decrypt(&[0; 16]), Ok(Vec::new()));
    // No padding on the way in either.
    let mut rng = TestRng::new(0);
    assert_eq!(
        one.encrypt(&mut rng, &[0; 17]),
        Err(PinError::PlaintextLength { len: 17 })
    );
    assert_eq!(
        two.encrypt(&mut rng, &[0; 63]),
        Err(PinError::PlaintextLength { len: 63 })
    );
}

#[test]
fn verify_refuses_wrong_lengths_and_forgeries() {
    for protocol in [PinUvAuthProtocol::One, PinUvAuthProtocol::Two] {
        let secret = SharedSecret::derive(protocol, &hex(Z)).unwrap();
        let mut tag = secret.authenticate(b"message");
        assert_eq!(secret.verify(b"message", &tag), Ok(()));
        assert_eq!(
            secret.verify(b"massage", &tag),
            Err(PinError::PinAuthParamInvalid)
        );
        let mut long = tag.clone();
        long.push(0);
        assert_eq!(
            secret.verify(b"message", &long),
            Err(PinError::PinAuthParamInvalid)
        );
        assert_eq!(
            secret.verify(b"message", &tag[..15]),
            Err(PinError::PinAuthParamInvalid)
        );
        assert_eq!(
            secret.verify(b"message", &[]),
            Err(PinError::PinAuthParamInvalid)
        );
        tag[0] ^= 0x80;
        let err = secret.verify(b"message", &tag).unwrap_err();
        assert_eq!(err, PinError::PinAuthParamInvalid);
        assert_eq!(err.status(), 0x33);
    }
    // Protocol 2 never accepts protocol 1's truncated form.
    let two = SharedSecret::derive(PinUvAuthProtocol::Two, &hex(Z)).unwrap();
    let full = two.authenticate(b"m");
    assert_eq!(
        two.verify(b"m", &full[..16]),
        Err(PinError::PinAuthParamInvalid)
    );
}

#[test]
fn points_off_the_curve_are_refused() {
    let mut rng = TestRng::new(3);
    let authenticator = KeyAgreement::generate(PinUvAuthProtocol::Two, &mut rng).unwrap();
    let mut y = hex32(B_Y);
    y[31] ^= 1;
    let off_curve = CoseEcdhKey::from_xy(hex32(B_X), y);
    let err = authenticator.decapsulate(&off_curve).unwrap_err();
    assert_eq!(err, PinError::InvalidKeyAgreement);
    assert_eq!(err.status(), 0x02);
    assert_eq!(
        authenticator
            .decapsulate(&CoseEcdhKey::from_xy([0; 32], [0; 32]))
            .unwrap_err(),
        PinError::InvalidKeyAgreement
    );
    // x, y >= p.
    assert_eq!(
        authenticator
            .decapsulate(&CoseEcdhKey::from_xy([0xFF; 32], [0xFF; 32]))
            .unwrap_err(),
        PinError::InvalidKeyAgreement
    );
    // The platform side checks the authenticator's point too.
    assert_eq!(
        encapsulate(PinUvAuthProtocol::One, &off_curve, &mut rng).unwrap_err(),
        PinError::InvalidKeyAgreement
    );
}

#[test]
fn cose_fields_are_checked() {
    let (x, y) = (hex(B_X), hex(B_Y));
    let key = CoseEcdhKey::from_cose(2, -25, 1, &x, &y).unwrap();
    assert_eq!(key.cose_fields(), (hex32(B_X), hex32(B_Y)));
    assert_eq!(key.x(), &hex32(B_X));
    assert_eq!(key.y(), &hex32(B_Y));
    for (kty, alg, crv) in [(1, -25, 1), (2, -7, 1), (2, -25, 2)] {
        assert_eq!(
            CoseEcdhKey::from_cose(kty, alg, crv, &x, &y),
            Err(PinError::InvalidKeyAgreement)
        );
    }
    assert_eq!(
        CoseEcdhKey::from_cose(2, -25, 1, &x[..31], &y),
        Err(PinError::InvalidKeyAgreement)
    );
    assert_eq!(
        CoseEcdhKey::from_cose(2, -25, 1, &x, &[y.clone(), vec![0]].concat()),
        Err(PinError::InvalidKeyAgreement)
    );
}

#[test]
fn regenerate_invalidates_old_shared_secrets() {
    for protocol in [PinUvAuthProtocol::One, PinUvAuthProtocol::Two] {
        let mut rng = TestRng::new(5);
        let mut authenticator = KeyAgreement::generate(protocol, &mut rng).unwrap();
        let old_public = authenticator.public_key();
        let (platform_key, platform) = encapsulate(protocol, &old_public, &mut rng).unwrap();
        authenticator.regenerate(&mut rng).unwrap();
        assert_ne!(authenticator.public_key(), old_public);
        assert_eq!(authenticator.protocol(), protocol);
        let shared = authenticator.decapsulate(&platform_key).unwrap();
        let tag = platform.authenticate(b"m");
        assert_eq!(
            shared.verify(b"m", &tag),
            Err(PinError::PinAuthParamInvalid)
        );
    }
}

#[test]
fn an_rng_with_only_invalid_scalars_is_an_error_not_a_panic() {
    // Zero and all-ones (above the group order) are not valid P-256 scalars.
    for byte in [0x00, 0xFF] {
        let mut rng = ScriptedRng::new(&[&[byte; 32 * 8]]);
        let err = KeyAgreement::generate(PinUvAuthProtocol::Two, &mut rng).unwrap_err();
        assert_eq!(err, PinError::Crypto);
        assert_eq!(err.status(), 0x7F);
    }
}

#[test]
fn protocol_numbers() {
    assert_eq!(PinUvAuthProtocol::from_wire(1), Ok(PinUvAuthProtocol::One));
    assert_eq!(PinUvAuthProtocol::from_wire(2), Ok(PinUvAuthProtocol::Two));
    for got in [0, 3, u64::MAX] {
        let err = PinUvAuthProtocol::from_wire(got).unwrap_err();
        assert_eq!(err, PinError::UnsupportedProtocol { got });
        assert_eq!(err.status(), 0x02);
    }
    assert_eq!(PinUvAuthProtocol::Two.wire(), 2);
}
