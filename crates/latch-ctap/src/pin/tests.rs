//! The ClientPIN subcommands end to end: a platform (our [`platform`] helpers over
//! [`encapsulate`]) against the authenticator's [`PinState`], for both protocols.

use super::platform::{self, change_pin_params, decrypt_token, pin_hash_enc, set_pin_params};
use super::testing::{RecordingStore, TestRng};
use super::*;

const PROTOCOLS: [PinUvAuthProtocol; 2] = [PinUvAuthProtocol::One, PinUvAuthProtocol::Two];
const RP: &str = "example.com";
const CDH: [u8; 32] = [0xCD; 32];

/// One authenticator: PIN state, storage, its RNG and one key-agreement key per protocol.
struct Authenticator {
    state: PinState,
    store: RecordingStore,
    rng: TestRng,
    key_agreement: [KeyAgreement; 2],
}

/// The platform's RNG and the secret of its latest key agreement.
struct Platform {
    rng: TestRng,
}

impl Authenticator {
    fn new() -> Self {
        let mut rng = TestRng::new(0xA);
        let key_agreement = [
            KeyAgreement::generate(PinUvAuthProtocol::One, &mut rng).unwrap(),
            KeyAgreement::generate(PinUvAuthProtocol::Two, &mut rng).unwrap(),
        ];
        Self {
            state: PinState::new(),
            store: RecordingStore::default(),
            rng,
            key_agreement,
        }
    }

    fn with_pin(protocol: PinUvAuthProtocol, pin: &str) -> (Self, Platform) {
        let mut device = Self::new();
        let mut platform = Platform::new();
        platform.set_pin(&mut device, protocol, pin).unwrap();
        device.store.writes.clear();
        (device, platform)
    }

    fn index(protocol: PinUvAuthProtocol) -> usize {
        match protocol {
            PinUvAuthProtocol::One => 0,
            PinUvAuthProtocol::Two => 1,
        }
    }

    /// getKeyAgreement.
    fn key_agreement(&self, protocol: PinUvAuthProtocol) -> CoseEcdhKey {
        self.key_agreement[Self::index(protocol)].public_key()
    }

    /// Runs `f` with the context of `protocol`.
    fn with_ctx<T>(
        &mut self,
        protocol: PinUvAuthProtocol,
        f: impl FnOnce(&mut PinState, &mut PinContext<'_>) -> T,
    ) -> T {
        let mut ctx = PinContext {
            store: &mut self.store,
            rng: &mut self.rng,
            key_agreement: &mut self.key_agreement[Self::index(protocol)],
        };
        f(&mut self.state, &mut ctx)
    }

    fn power_cycle(&mut self) {
        self.state.power_cycle();
        for key in &mut self.key_agreement {
            key.regenerate(&mut self.rng).unwrap();
        }
    }
}

impl Platform {
    fn new() -> Self {
        Self {
            rng: TestRng::new(0xB),
        }
    }

    /// getKeyAgreement + encapsulate.
    fn agree(
        &mut self,
        device: &Authenticator,
        protocol: PinUvAuthProtocol,
    ) -> (CoseEcdhKey, SharedSecret) {
        encapsulate(protocol, &device.key_agreement(protocol), &mut self.rng).unwrap()
    }

    fn set_pin(
        &mut self,
        device: &mut Authenticator,
        protocol: PinUvAuthProtocol,
        pin: &str,
    ) -> Result<(), PinError> {
        let (key, shared) = self.agree(device, protocol);
        let params = set_pin_params(&shared, &mut self.rng, pin).unwrap();
        device.with_ctx(protocol, |state, ctx| {
            state.set_pin(
                ctx,
                &SetPin {
                    key_agreement: Some(&key),
                    new_pin_enc: Some(&params.new_pin_enc),
                    pin_uv_auth_param: Some(&params.pin_uv_auth_param),
                },
            )
        })
    }

    /// setPIN with an arbitrary (already padded, or not) PIN block.
    fn set_raw_pin(
        &mut self,
        device: &mut Authenticator,
        protocol: PinUvAuthProtocol,
        padded: &[u8],
    ) -> Result<(), PinError> {
        let (key, shared) = self.agree(device, protocol);
        let new_pin_enc = shared.encrypt(&mut self.rng, padded).unwrap();
        let param = shared.authenticate(&new_pin_enc);
        device.with_ctx(protocol, |state, ctx| {
            state.set_pin(
                ctx,
                &SetPin {
                    key_agreement: Some(&key),
                    new_pin_enc: Some(&new_pin_enc),
                    pin_uv_auth_param: Some(&param),
                },
            )
        })
    }

    fn change_pin(
        &mut self,
        device: &mut Authenticator,
        protocol: PinUvAuthProtocol,
        current: &str,
        new: &str,
    ) -> Result<(), PinError> {
        let (key, shared) = self.agree(device, protocol);
        let params = change_pin_params(&shared, &mut self.rng, current, new).unwrap();
        device.with_ctx(protocol, |state, ctx| {
            state.change_pin(
                ctx,
                &ChangePin {
                    key_agreement: Some(&key),
                    pin_hash_enc: Some(&params.pin_hash_enc),
                    new_pin_enc: Some(&params.new_pin_enc),
                    pin_uv_auth_param: Some(&params.pin_uv_auth_param),
                },
            )
        })
    }

    /// getPinUvAuthTokenUsingPinWithPermissions; returns the decrypted token.
    fn token(
        &mut self,
        device: &mut Authenticator,
        protocol: PinUvAuthProtocol,
        pin: &str,
        permissions: Permissions,
        rp_id: Option<&str>,
        now_ms: u64,
    ) -> Result<[u8; 32], PinError> {
        let (key, shared) = self.agree(device, protocol);
        let enc = pin_hash_enc(&shared, &mut self.rng, pin).unwrap();
        let request = GetToken {
            subcommand: TokenSubcommand::WithPermissions {
                offered: Permissions::ALL,
            },
            key_agreement: Some(&key),
            pin_hash_enc: Some(&enc),
            permissions: Some(u64::from(permissions.bits())),
            rp_id,
        };
        let encrypted = device.with_ctx(protocol, |state, ctx| {
            state.get_token(ctx, &request, now_ms)
        })?;
        Ok(decrypt_token(&shared, &encrypted).unwrap())
    }

    fn mc_ga_token(
        &mut self,
        device: &mut Authenticator,
        protocol: PinUvAuthProtocol,
        pin: &str,
    ) -> Result<[u8; 32], PinError> {
        self.token(device, protocol, pin, Permissions::DEFAULT, Some(RP), 0)
    }
}

/// What makeCredential would do with a token: pinUvAuthParam over clientDataHash.
fn use_token(
    device: &mut Authenticator,
    protocol: PinUvAuthProtocol,
    token: &[u8; 32],
    permission: Permissions,
    rp_id: Option<&str>,
    now_ms: u64,
) -> Result<(), PinError> {
    let param = protocol.authenticate(token, &CDH);
    device
        .state
        .authorize(
            now_ms,
            &TokenUse {
                protocol,
                message: &CDH,
                param: &param,
                permission,
                rp_id,
            },
        )
        .map(|_| ())
}

/// A 64-byte PIN block: `pin` then zeros (or `pin` alone if it is 64 bytes).
fn padded(pin: &[u8]) -> Vec<u8> {
    let mut block = pin.to_vec();
    block.resize(64.max(pin.len()), 0);
    block
}

// ---- setPIN and the PIN policy --------------------------------------------------------------

#[test]
fn set_pin_then_token_round_trips_for_both_protocols() {
    for protocol in PROTOCOLS {
        let mut device = Authenticator::new();
        let mut platform = Platform::new();
        assert!(!device.state.is_set());
        platform.set_pin(&mut device, protocol, "1234").unwrap();
        assert!(device.state.is_set());
        assert_eq!(device.state.retries(), 8);
        let stored = device.store.last().copied().unwrap();
        assert_eq!(stored.pin_hash, Some(pin_hash(b"1234")));
        assert_eq!(stored.pin_code_points, 4);
        assert_eq!(stored.retries, 8);

        let token = platform.mc_ga_token(&mut device, protocol, "1234").unwrap();
        let live = device.state.token().unwrap();
        assert_eq!(live.protocol(), protocol);
        assert_eq!(live.permissions(), Permissions::DEFAULT);
        assert_eq!(live.rp_id(), Some(RP));
        assert!(live.user_verified());
        assert!(!live.user_present());
        assert_eq!(
            use_token(
                &mut device,
                protocol,
                &token,
                Permissions::MAKE_CREDENTIAL,
                Some(RP),
                10
            ),
            Ok(())
        );
    }
}

#[test]
fn three_code_points_are_refused_and_four_accepted() {
    for protocol in PROTOCOLS {
        let mut device = Authenticator::new();
        let mut platform = Platform::new();
        let err = platform.set_pin(&mut device, protocol, "123").unwrap_err();
        assert_eq!(
            err,
            PinError::PinTooShort {
                code_points: 3,
                min: 4
            }
        );
        assert_eq!(err.status(), 0x37);
        assert!(!device.state.is_set());
        assert!(device.store.writes.is_empty());
        assert_eq!(platform.set_pin(&mut device, protocol, "1234"), Ok(()));
    }
}

#[test]
fn code_points_not_bytes_count_toward_the_minimum() {
    for protocol in PROTOCOLS {
        let mut device = Authenticator::new();
        let mut platform = Platform::new();
        // 3 code points in 6 bytes: too short although 6 bytes >= 4.
        assert_eq!(
            platform.set_pin(&mut device, protocol, "äää"),
            Err(PinError::PinTooShort {
                code_points: 3,
                min: 4
            })
        );
        // "ääää": 4 code points, 8 bytes.
        assert_eq!("ääää".len(), 8);
        assert_eq!(platform.set_pin(&mut device, protocol, "ääää"), Ok(()));
        assert_eq!(device.state.persisted().pin_code_points, 4);
        // A 4-byte emoji PIN of 4 code points is 16 bytes.
        let mut device = Authenticator::new();
        assert_eq!(platform.set_pin(&mut device, protocol, "🔑🔑🔑🔑"), Ok(()));
        assert!(platform
            .mc_ga_token(&mut device, protocol, "🔑🔑🔑🔑")
            .is_ok());
    }
}

#[test]
fn sixty_three_bytes_are_accepted_and_sixty_four_refused() {
    for protocol in PROTOCOLS {
        let mut platform = Platform::new();
        let mut device = Authenticator::new();
        let pin63 = "7".repeat(63);
        assert_eq!(
            platform.set_raw_pin(&mut device, protocol, &padded(pin63.as_bytes())),
            Ok(())
        );
        assert!(platform.mc_ga_token(&mut device, protocol, &pin63).is_ok());

        let mut device = Authenticator::new();
        let err = platform
            .set_raw_pin(&mut device, protocol, &padded("7".repeat(64).as_bytes()))
            .unwrap_err();
        assert_eq!(err, PinError::PinTooLong { bytes: 64 });
        assert_eq!(err.status(), 0x37);
        assert!(!device.state.is_set());
        // Multi-byte: 21 × "€" (3 bytes) = 63 bytes accepted; the client helper refuses 64+.
        let mut device = Authenticator::new();
        assert_eq!(
            platform.set_pin(&mut device, protocol, &"€".repeat(21)),
            Ok(())
        );
        assert_eq!(
            platform::pad_pin(&"€".repeat(22)),
            Err(PinError::PinTooLong { bytes: 66 })
        );
    }
}

#[test]
fn invalid_utf8_is_a_policy_violation() {
    for protocol in PROTOCOLS {
        let mut device = Authenticator::new();
        let mut platform = Platform::new();
        for pin in [
            &[0xFF, 0xFE, 0x31, 0x32, 0x33][..],
            &[0x31, 0x32, 0x33, 0xC3],
            b"12\xED\xA0\x8034",
        ] {
            let err = platform
                .set_raw_pin(&mut device, protocol, &padded(pin))
                .unwrap_err();
            assert_eq!(err, PinError::PinNotUtf8);
            assert_eq!(err.status(), 0x37);
        }
        assert!(!device.state.is_set());
    }
}

#[test]
fn pin_ends_at_the_first_zero_byte() {
    let mut device = Authenticator::new();
    let mut platform = Platform::new();
    let mut block = padded(b"1234");
    block[10] = b'9'; // garbage after the terminator is ignored
    platform
        .set_raw_pin(&mut device, PinUvAuthProtocol::Two, &block)
        .unwrap();
    assert_eq!(device.state.persisted().pin_hash, Some(pin_hash(b"1234")));
}

#[test]
fn padded_pin_must_be_sixty_four_bytes() {
    for protocol in PROTOCOLS {
        let mut device = Authenticator::new();
        let mut platform = Platform::new();
        for len in [16, 48, 80, 128] {
            let mut block = vec![0u8; len];
            block[..4].copy_from_slice(b"1234");
            let err = platform
                .set_raw_pin(&mut device, protocol, &block)
                .unwrap_err();
            assert_eq!(err, PinError::PaddedPinLength { len });
            assert_eq!(err.status(), 0x02);
        }
    }
}

#[test]
fn set_pin_with_wrong_auth_param_is_pin_auth_invalid() {
    for protocol in PROTOCOLS {
        let mut device = Authenticator::new();
        let mut platform = Platform::new();
        let (key, shared) = platform.agree(&device, protocol);
        let params = set_pin_params(&shared, &mut platform.rng, "1234").unwrap();
        let mut bad = params.pin_uv_auth_param.clone();
        bad[0] ^= 1;
        let err = device
            .with_ctx(protocol, |state, ctx| {
                state.set_pin(
                    ctx,
                    &SetPin {
                        key_agreement: Some(&key),
                        new_pin_enc: Some(&params.new_pin_enc),
                        pin_uv_auth_param: Some(&bad),
                    },
                )
            })
            .unwrap_err();
        assert_eq!(err, PinError::PinAuthParamInvalid);
        assert_eq!(err.status(), 0x33);
        assert!(!device.state.is_set());
        assert!(device.store.writes.is_empty());
    }
}

#[test]
fn set_pin_errors_in_spec_order() {
    let protocol = PinUvAuthProtocol::Two;
    let mut device = Authenticator::new();
    let mut platform = Platform::new();
    let (key, shared) = platform.agree(&device, protocol);
    // 1. Missing parameters.
    let err = device
        .with_ctx(protocol, |state, ctx| {
            state.set_pin(
                ctx,
                &SetPin {
                    key_agreement: Some(&key),
                    new_pin_enc: Some(&[0; 80]),
                    pin_uv_auth_param: None,
                },
            )
        })
        .unwrap_err();
    assert_eq!(
        err,
        PinError::MissingParameter {
            name: "pinUvAuthParam"
        }
    );
    assert_eq!(err.status(), 0x14);
    assert_eq!(
        device.with_ctx(protocol, |state, ctx| state
            .set_pin(ctx, &SetPin::default())),
        Err(PinError::MissingParameter {
            name: "keyAgreement"
        })
    );
    // 4. A platform key off the curve.
    let bad_key = CoseEcdhKey::from_xy([1; 32], [2; 32]);
    let err = device
        .with_ctx(protocol, |state, ctx| {
            state.set_pin(
                ctx,
                &SetPin {
                    key_agreement: Some(&bad_key),
                    new_pin_enc: Some(&[0; 80]),
                    pin_uv_auth_param: Some(&[0; 32]),
                },
            )
        })
        .unwrap_err();
    assert_eq!(err, PinError::InvalidKeyAgreement);
    assert_eq!(err.status(), 0x02);
    // 6. A newPinEnc that verifies but does not decrypt (not whole blocks).
    let new_pin_enc = vec![0u8; 79];
    let param = shared.authenticate(&new_pin_enc);
    let err = device
        .with_ctx(protocol, |state, ctx| {
            state.set_pin(
                ctx,
                &SetPin {
                    key_agreement: Some(&key),
                    new_pin_enc: Some(&new_pin_enc),
                    pin_uv_auth_param: Some(&param),
                },
            )
        })
        .unwrap_err();
    assert_eq!(err, PinError::NewPinUndecryptable);
    assert_eq!(err.status(), 0x33);
    // 3. Once a PIN is set, setPIN is refused before anything else.
    platform.set_pin(&mut device, protocol, "1234").unwrap();
    let err = platform.set_pin(&mut device, protocol, "5678").unwrap_err();
    assert_eq!(err, PinError::PinAlreadySet);
    assert_eq!(err.status(), 0x33);
    assert_eq!(device.state.persisted().pin_hash, Some(pin_hash(b"1234")));
}

// ---- retries ----------------------------------------------------------------------------------

#[test]
fn eight_wrong_pins_across_power_cycles_block_even_the_right_pin() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        assert_eq!(device.state.retries(), 8);
        let mut errors = Vec::new();
        for attempt in 1..=8u8 {
            errors.push(
                platform
                    .mc_ga_token(&mut device, protocol, "0000")
                    .unwrap_err(),
            );
            assert_eq!(device.state.retries(), 8 - attempt);
            if attempt % 3 == 0 {
                device.power_cycle();
            }
        }
        use PinError::{PinAuthBlocked as AB, PinBlocked as B, PinInvalid as I};
        assert_eq!(errors, [I, I, AB, I, I, AB, I, B]);
        assert_eq!(device.store.retries_written(), [7, 6, 5, 4, 3, 2, 1, 0]);

        let err = platform
            .mc_ga_token(&mut device, protocol, "1234")
            .unwrap_err();
        assert_eq!(err, PinError::PinBlocked);
        assert_eq!(err.status(), 0x32);
        device.power_cycle();
        assert_eq!(
            platform.mc_ga_token(&mut device, protocol, "1234"),
            Err(PinError::PinBlocked)
        );
        assert_eq!(
            platform.change_pin(&mut device, protocol, "1234", "5678"),
            Err(PinError::PinBlocked)
        );
        assert_eq!(device.state.retries(), 0);
        assert!(device.state.token().is_none());
        // Only authenticatorReset recovers.
        device.state.reset(&mut device.store).unwrap();
        assert!(!device.state.is_set());
        assert_eq!(device.state.retries(), 8);
    }
}

#[test]
fn three_wrong_in_a_row_auth_block_until_power_cycle() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        assert_eq!(
            platform.mc_ga_token(&mut device, protocol, "1111"),
            Err(PinError::PinInvalid)
        );
        assert_eq!(
            platform.mc_ga_token(&mut device, protocol, "2222"),
            Err(PinError::PinInvalid)
        );
        let err = platform
            .mc_ga_token(&mut device, protocol, "3333")
            .unwrap_err();
        assert_eq!(err, PinError::PinAuthBlocked);
        assert_eq!(err.status(), 0x34);
        assert!(device.state.power_cycle_state());
        // The right PIN too, and changePIN, without spending retries.
        assert_eq!(
            platform.mc_ga_token(&mut device, protocol, "1234"),
            Err(PinError::PinAuthBlocked)
        );
        assert_eq!(
            platform.change_pin(&mut device, protocol, "1234", "5678"),
            Err(PinError::PinAuthBlocked)
        );
        assert_eq!(device.state.retries(), 5);
        assert_eq!(device.store.retries_written(), [7, 6, 5]);

        device.power_cycle();
        assert!(!device.state.power_cycle_state());
        assert!(platform.mc_ga_token(&mut device, protocol, "1234").is_ok());
        assert_eq!(device.state.retries(), 8);
        assert_eq!(device.state.consecutive_mismatches(), 0);
        assert_eq!(device.store.retries_written(), [7, 6, 5, 4, 8]);
    }
}

#[test]
fn correct_pin_after_two_wrong_resets_retries_and_consecutive() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        platform
            .mc_ga_token(&mut device, protocol, "1111")
            .unwrap_err();
        platform
            .mc_ga_token(&mut device, protocol, "2222")
            .unwrap_err();
        assert_eq!(
            (
                device.state.retries(),
                device.state.consecutive_mismatches()
            ),
            (6, 2)
        );
        platform.mc_ga_token(&mut device, protocol, "1234").unwrap();
        assert_eq!(
            (
                device.state.retries(),
                device.state.consecutive_mismatches()
            ),
            (8, 0)
        );
    }
}

#[test]
fn the_decrement_reaches_storage_before_the_compare() {
    for protocol in PROTOCOLS {
        // A wrong PIN: exactly one write, the decremented counter.
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        platform
            .mc_ga_token(&mut device, protocol, "9999")
            .unwrap_err();
        assert_eq!(device.store.retries_written(), [7]);
        // A right PIN: the decrement is written first, the reset second.
        platform.mc_ga_token(&mut device, protocol, "1234").unwrap();
        assert_eq!(device.store.retries_written(), [7, 6, 8]);

        // If the decrement cannot be written, no compare happens: even the right PIN gets no
        // token, and nothing changes.
        device.store.fail_writes = true;
        let err = platform
            .mc_ga_token(&mut device, protocol, "1234")
            .unwrap_err();
        assert_eq!(err, PinError::Storage);
        assert_eq!(err.status(), 0x7F);
        assert_eq!(device.state.retries(), 8);
        assert!(
            device.state.token().is_some(),
            "the earlier token is untouched"
        );
        assert_eq!(device.state.consecutive_mismatches(), 0);
        // A wrong PIN is not compared either: no mismatch is counted, no key is regenerated.
        let key_before = device.key_agreement(protocol);
        assert_eq!(
            platform.mc_ga_token(&mut device, protocol, "9999"),
            Err(PinError::Storage)
        );
        assert_eq!(device.state.consecutive_mismatches(), 0);
        assert_eq!(device.key_agreement(protocol), key_before);
        assert_eq!(device.state.retries(), 8);
    }
}

#[test]
fn wrong_pin_regenerates_the_key_agreement() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        let (key, shared) = platform.agree(&device, protocol);
        let before = device.key_agreement(protocol);
        let mut ask = |device: &mut Authenticator, pin: &str| {
            let enc = pin_hash_enc(&shared, &mut platform.rng, pin).unwrap();
            let request = GetToken {
                subcommand: TokenSubcommand::GetPinToken,
                key_agreement: Some(&key),
                pin_hash_enc: Some(&enc),
                permissions: None,
                rp_id: None,
            };
            device.with_ctx(protocol, |state, ctx| state.get_token(ctx, &request, 0))
        };
        assert_eq!(ask(&mut device, "0000").unwrap_err(), PinError::PinInvalid);
        assert_ne!(device.key_agreement(protocol), before);
        // The old shared secret is now useless, even with the right PIN.
        assert_eq!(ask(&mut device, "1234").unwrap_err(), PinError::PinInvalid);
        assert_eq!(device.state.retries(), 6);
    }
}

#[test]
fn wrong_pin_hash_enc_length_counts_as_a_wrong_pin() {
    let protocol = PinUvAuthProtocol::Two;
    let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
    let (key, _) = platform.agree(&device, protocol);
    let request = GetToken {
        subcommand: TokenSubcommand::GetPinToken,
        key_agreement: Some(&key),
        pin_hash_enc: Some(&[0; 20]),
        permissions: None,
        rp_id: None,
    };
    assert_eq!(
        device.with_ctx(protocol, |state, ctx| state.get_token(ctx, &request, 0)),
        Err(PinError::PinInvalid)
    );
    assert_eq!(device.state.retries(), 7);
}

#[test]
fn token_request_before_a_pin_is_set_is_pin_not_set() {
    let mut device = Authenticator::new();
    let mut platform = Platform::new();
    let err = platform
        .mc_ga_token(&mut device, PinUvAuthProtocol::Two, "1234")
        .unwrap_err();
    assert_eq!(err, PinError::PinNotSet);
    assert_eq!(err.status(), 0x35);
    assert!(device.store.writes.is_empty());
}

// ---- changePIN ----------------------------------------------------------------------------------

#[test]
fn change_pin_replaces_the_pin_and_invalidates_tokens() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        let old_token = platform.mc_ga_token(&mut device, protocol, "1234").unwrap();
        assert_eq!(
            use_token(
                &mut device,
                protocol,
                &old_token,
                Permissions::GET_ASSERTION,
                Some(RP),
                1
            ),
            Ok(())
        );

        platform
            .change_pin(&mut device, protocol, "1234", "5678")
            .unwrap();
        assert!(device.state.token().is_none());
        let err = use_token(
            &mut device,
            protocol,
            &old_token,
            Permissions::GET_ASSERTION,
            Some(RP),
            2,
        )
        .unwrap_err();
        assert_eq!(err, PinError::NoToken);
        assert_eq!(err.status(), 0x33);

        assert_eq!(
            platform.mc_ga_token(&mut device, protocol, "1234"),
            Err(PinError::PinInvalid)
        );
        let new_token = platform.mc_ga_token(&mut device, protocol, "5678").unwrap();
        assert_ne!(new_token, old_token);
        assert_eq!(
            use_token(
                &mut device,
                protocol,
                &new_token,
                Permissions::GET_ASSERTION,
                Some(RP),
                3
            ),
            Ok(())
        );
        // Even a token with identical bytes would fail: the old key is gone for good.
        assert_eq!(
            use_token(
                &mut device,
                protocol,
                &old_token,
                Permissions::GET_ASSERTION,
                Some(RP),
                3
            ),
            Err(PinError::PinAuthParamInvalid)
        );
    }
}

#[test]
fn change_pin_with_wrong_auth_param_does_not_spend_a_retry() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        let (key, shared) = platform.agree(&device, protocol);
        let params = change_pin_params(&shared, &mut platform.rng, "1234", "5678").unwrap();
        // Authenticated over newPinEnc alone instead of newPinEnc || pinHashEnc.
        let wrong = shared.authenticate(&params.new_pin_enc);
        let err = device
            .with_ctx(protocol, |state, ctx| {
                state.change_pin(
                    ctx,
                    &ChangePin {
                        key_agreement: Some(&key),
                        pin_hash_enc: Some(&params.pin_hash_enc),
                        new_pin_enc: Some(&params.new_pin_enc),
                        pin_uv_auth_param: Some(&wrong),
                    },
                )
            })
            .unwrap_err();
        assert_eq!(err, PinError::PinAuthParamInvalid);
        assert_eq!(err.status(), 0x33);
        assert_eq!(device.state.retries(), 8);
        assert!(device.store.writes.is_empty());
    }
}

#[test]
fn change_pin_with_wrong_current_pin_spends_a_retry() {
    let protocol = PinUvAuthProtocol::One;
    let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
    assert_eq!(
        platform.change_pin(&mut device, protocol, "4321", "5678"),
        Err(PinError::PinInvalid)
    );
    assert_eq!(device.state.retries(), 7);
    assert_eq!(device.state.persisted().pin_hash, Some(pin_hash(b"1234")));
}

#[test]
fn change_pin_applies_the_policy_after_the_pin_check() {
    let protocol = PinUvAuthProtocol::Two;
    let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
    platform
        .mc_ga_token(&mut device, protocol, "0000")
        .unwrap_err();
    assert_eq!(
        platform.change_pin(&mut device, protocol, "1234", "567"),
        Err(PinError::PinTooShort {
            code_points: 3,
            min: 4
        })
    );
    // The current PIN was right: retries are back to 8, the PIN is unchanged.
    assert_eq!(device.state.retries(), 8);
    assert_eq!(device.state.persisted().pin_hash, Some(pin_hash(b"1234")));
}

// ---- tokens -------------------------------------------------------------------------------------

#[test]
fn token_permission_and_rp_id_are_enforced() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        let token = platform
            .token(
                &mut device,
                protocol,
                "1234",
                Permissions::GET_ASSERTION,
                Some(RP),
                0,
            )
            .unwrap();
        let err = use_token(
            &mut device,
            protocol,
            &token,
            Permissions::MAKE_CREDENTIAL,
            Some(RP),
            1,
        )
        .unwrap_err();
        assert_eq!(err, PinError::PermissionMissing { needed: 0x01 });
        assert_eq!(err.status(), 0x40);
        let err = use_token(
            &mut device,
            protocol,
            &token,
            Permissions::GET_ASSERTION,
            Some("other.example"),
            1,
        )
        .unwrap_err();
        assert_eq!(err, PinError::RpIdMismatch);
        assert_eq!(err.status(), 0x33);
        assert_eq!(
            use_token(
                &mut device,
                protocol,
                &token,
                Permissions::GET_ASSERTION,
                Some(RP),
                1
            ),
            Ok(())
        );

        // A cm token without an RP ID: no RP ID to compare, but still only cm.
        let token = platform
            .token(
                &mut device,
                protocol,
                "1234",
                Permissions::CREDENTIAL_MANAGEMENT,
                None,
                0,
            )
            .unwrap();
        assert_eq!(
            use_token(
                &mut device,
                protocol,
                &token,
                Permissions::CREDENTIAL_MANAGEMENT,
                None,
                1
            ),
            Ok(())
        );
        assert_eq!(
            use_token(
                &mut device,
                protocol,
                &token,
                Permissions::GET_ASSERTION,
                Some(RP),
                1
            ),
            Err(PinError::PermissionMissing { needed: 0x02 })
        );
    }
}

#[test]
fn wrong_pin_uv_auth_param_is_pin_auth_invalid() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        let token = platform.mc_ga_token(&mut device, protocol, "1234").unwrap();
        let mut forged = token;
        forged[0] ^= 1;
        let err = use_token(
            &mut device,
            protocol,
            &forged,
            Permissions::MAKE_CREDENTIAL,
            Some(RP),
            1,
        )
        .unwrap_err();
        assert_eq!(err, PinError::PinAuthParamInvalid);
        assert_eq!(err.status(), 0x33);
        // The right token under the other protocol's framing.
        let other = match protocol {
            PinUvAuthProtocol::One => PinUvAuthProtocol::Two,
            PinUvAuthProtocol::Two => PinUvAuthProtocol::One,
        };
        assert_eq!(
            use_token(
                &mut device,
                other,
                &token,
                Permissions::MAKE_CREDENTIAL,
                Some(RP),
                1
            ),
            Err(PinError::PinAuthParamInvalid)
        );
    }
}

#[test]
fn token_expires_thirty_seconds_after_minting() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        let token = platform
            .token(
                &mut device,
                protocol,
                "1234",
                Permissions::DEFAULT,
                Some(RP),
                5_000,
            )
            .unwrap();
        assert_eq!(device.state.token().unwrap().minted_at_ms(), 5_000);
        assert_eq!(
            use_token(
                &mut device,
                protocol,
                &token,
                Permissions::MAKE_CREDENTIAL,
                Some(RP),
                34_999
            ),
            Ok(())
        );
        let err = use_token(
            &mut device,
            protocol,
            &token,
            Permissions::MAKE_CREDENTIAL,
            Some(RP),
            35_000,
        )
        .unwrap_err();
        assert_eq!(err, PinError::TokenExpired);
        assert_eq!(err.status(), 0x33);
    }
}

#[test]
fn a_new_token_and_a_power_cycle_each_invalidate_the_old_one() {
    let protocol = PinUvAuthProtocol::Two;
    let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
    let first = platform.mc_ga_token(&mut device, protocol, "1234").unwrap();
    let second = platform.mc_ga_token(&mut device, protocol, "1234").unwrap();
    assert_ne!(first, second);
    assert_eq!(
        use_token(
            &mut device,
            protocol,
            &first,
            Permissions::MAKE_CREDENTIAL,
            Some(RP),
            1
        ),
        Err(PinError::PinAuthParamInvalid)
    );
    assert_eq!(
        use_token(
            &mut device,
            protocol,
            &second,
            Permissions::MAKE_CREDENTIAL,
            Some(RP),
            1
        ),
        Ok(())
    );
    device.power_cycle();
    assert_eq!(
        use_token(
            &mut device,
            protocol,
            &second,
            Permissions::MAKE_CREDENTIAL,
            Some(RP),
            1
        ),
        Err(PinError::NoToken)
    );
}

#[test]
fn get_pin_token_grants_the_default_permissions_and_refuses_extras() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        let (key, shared) = platform.agree(&device, protocol);
        let enc = pin_hash_enc(&shared, &mut platform.rng, "1234").unwrap();
        let mut request = GetToken {
            subcommand: TokenSubcommand::GetPinToken,
            key_agreement: Some(&key),
            pin_hash_enc: Some(&enc),
            permissions: Some(1),
            rp_id: None,
        };
        let err = device
            .with_ctx(protocol, |state, ctx| state.get_token(ctx, &request, 0))
            .unwrap_err();
        assert_eq!(
            err,
            PinError::UnexpectedParameter {
                name: "permissions"
            }
        );
        assert_eq!(err.status(), 0x02);
        request.permissions = None;
        request.rp_id = Some(RP);
        assert_eq!(
            device.with_ctx(protocol, |state, ctx| state.get_token(ctx, &request, 0)),
            Err(PinError::UnexpectedParameter { name: "rpId" })
        );
        request.rp_id = None;
        let encrypted = device
            .with_ctx(protocol, |state, ctx| state.get_token(ctx, &request, 0))
            .unwrap();
        assert_eq!(
            encrypted.len(),
            if protocol == PinUvAuthProtocol::One {
                32
            } else {
                48
            }
        );
        let token = decrypt_token(&shared, &encrypted).unwrap();
        assert_eq!(
            device.state.token().unwrap().permissions(),
            Permissions::DEFAULT
        );
        assert_eq!(device.state.token().unwrap().rp_id(), None);
        assert_eq!(
            use_token(
                &mut device,
                protocol,
                &token,
                Permissions::GET_ASSERTION,
                Some(RP),
                1
            ),
            Ok(())
        );
        assert_eq!(
            device.store.retries_written(),
            [7, 8],
            "no attempt was spent on the refused requests"
        );
    }
}

#[test]
fn permission_requests_are_validated_before_any_attempt() {
    let protocol = PinUvAuthProtocol::Two;
    let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
    let (key, shared) = platform.agree(&device, protocol);
    let enc = pin_hash_enc(&shared, &mut platform.rng, "1234").unwrap();
    let offered = Permissions::MAKE_CREDENTIAL
        .union(Permissions::GET_ASSERTION)
        .union(Permissions::CREDENTIAL_MANAGEMENT);
    let ask = |device: &mut Authenticator, permissions: Option<u64>, rp_id: Option<&str>| {
        let request = GetToken {
            subcommand: TokenSubcommand::WithPermissions { offered },
            key_agreement: Some(&key),
            pin_hash_enc: Some(&enc),
            permissions,
            rp_id,
        };
        device.with_ctx(protocol, |state, ctx| state.get_token(ctx, &request, 0))
    };
    assert_eq!(
        ask(&mut device, None, Some(RP)),
        Err(PinError::MissingParameter {
            name: "permissions"
        })
    );
    let err = ask(&mut device, Some(0), Some(RP)).unwrap_err();
    assert_eq!(err, PinError::PermissionsZero);
    assert_eq!(err.status(), 0x02);
    let err = ask(&mut device, Some(0x10 | 0x02), Some(RP)).unwrap_err();
    assert_eq!(err, PinError::PermissionNotOffered { bits: 0x10 });
    assert_eq!(err.status(), 0x40);
    let err = ask(&mut device, Some(0x01), None).unwrap_err();
    assert_eq!(err, PinError::MissingParameter { name: "rpId" });
    assert_eq!(err.status(), 0x14);
    assert!(device.store.writes.is_empty());
    // Undefined bits are ignored.
    assert!(ask(&mut device, Some(0x80 | 0x04), None).is_ok());
    assert_eq!(
        device.state.token().unwrap().permissions(),
        Permissions::CREDENTIAL_MANAGEMENT
    );
}

// ---- forcePINChange and minPINLength -----------------------------------------------------------

#[test]
fn force_change_refuses_tokens_until_the_pin_changes() {
    for protocol in PROTOCOLS {
        let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
        device
            .state
            .set_min_pin_length(&mut device.store, 4, true)
            .unwrap();
        assert!(device.state.force_change());
        let err = platform
            .mc_ga_token(&mut device, protocol, "1234")
            .unwrap_err();
        assert_eq!(err, PinError::ForcePinChange);
        assert_eq!(err.status(), 0x31);
        assert_eq!(device.state.retries(), 8, "the PIN itself was right");
        assert!(device.state.token().is_none());
        // The same PIN again is refused; a different one clears the flag.
        let err = platform
            .change_pin(&mut device, protocol, "1234", "1234")
            .unwrap_err();
        assert_eq!(err, PinError::PinUnchanged);
        assert_eq!(err.status(), 0x37);
        platform
            .change_pin(&mut device, protocol, "1234", "2468")
            .unwrap();
        assert!(!device.state.force_change());
        assert!(platform.mc_ga_token(&mut device, protocol, "2468").is_ok());
    }
}

#[test]
fn raising_min_pin_length_forces_a_change_of_a_short_pin() {
    let protocol = PinUvAuthProtocol::Two;
    let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
    device
        .state
        .set_min_pin_length(&mut device.store, 6, false)
        .unwrap();
    assert_eq!(device.state.min_pin_length(), 6);
    assert!(device.state.force_change());
    assert_eq!(
        platform.change_pin(&mut device, protocol, "1234", "12345"),
        Err(PinError::PinTooShort {
            code_points: 5,
            min: 6
        })
    );
    platform
        .change_pin(&mut device, protocol, "1234", "123456")
        .unwrap();
    assert!(!device.state.force_change());
    let err = device
        .state
        .set_min_pin_length(&mut device.store, 5, false)
        .unwrap_err();
    assert_eq!(
        err,
        PinError::MinPinLengthDecrease {
            current: 6,
            requested: 5
        }
    );
    assert_eq!(err.status(), 0x37);
}

#[test]
fn restore_starts_a_power_session_from_storage() {
    let protocol = PinUvAuthProtocol::Two;
    let (mut device, mut platform) = Authenticator::with_pin(protocol, "1234");
    platform
        .mc_ga_token(&mut device, protocol, "0000")
        .unwrap_err();
    platform
        .mc_ga_token(&mut device, protocol, "0000")
        .unwrap_err();
    platform
        .mc_ga_token(&mut device, protocol, "0000")
        .unwrap_err();
    assert!(device.state.power_cycle_state());
    let stored = *device.store.last().unwrap();
    let restored = PinState::restore(stored);
    assert_eq!(restored.retries(), 5);
    assert_eq!(restored.consecutive_mismatches(), 0);
    assert!(restored.token().is_none());
    assert_eq!(
        PinState::restore(PersistedPin {
            retries: 200,
            ..stored
        })
        .retries(),
        8
    );
}
