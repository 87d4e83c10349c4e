use super::*;
use crate::client::ctap2::{GetAssertionRequest, MakeCredentialRequest, PinUvAuthParam, Rp, User};
use crate::client::PinUvAuthToken;
use crate::pin::{Permissions, PinUvAuthProtocol};
use crate::status::StatusCode;

#[test]
fn set_pin_then_retries_token_and_change() {
    let mut ctap = ctap2();
    assert_eq!(ctap.get_pin_retries().unwrap(), (8, Some(false)));
    // No PIN yet: a token request is PIN_NOT_SET.
    let err = ctap.get_pin_token("1234").unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PinNotSet));

    ctap.set_pin("1234").unwrap();
    assert_eq!(ctap.refresh_info().unwrap().pin_set(), Some(true));
    // setPIN again is refused by the key (§6.5.5.5: PIN_AUTH_INVALID).
    assert_eq!(
        ctap.set_pin("5678").unwrap_err().status(),
        Some(StatusCode::PinAuthInvalid)
    );

    let token = ctap.get_pin_token("1234").unwrap();
    assert_eq!(token.protocol(), PinUvAuthProtocol::Two);

    // A wrong PIN reports the retries left.
    let err = ctap.get_pin_token("0000").unwrap_err();
    assert_eq!(
        err.to_string(),
        "wrong PIN, 7 retries left (CTAP status 0x31)"
    );
    assert_eq!(ctap.get_pin_retries().unwrap().0, 7);

    // The right one resets the counter.
    ctap.get_pin_uv_auth_token("1234", Permissions::MAKE_CREDENTIAL, Some("example.com"))
        .unwrap();
    assert_eq!(ctap.get_pin_retries().unwrap().0, 8);

    let err = ctap.change_pin("9999", "abcdef").unwrap_err();
    assert_eq!(
        err.to_string(),
        "wrong PIN, 7 retries left (CTAP status 0x31)"
    );
    ctap.change_pin("1234", "abcdef").unwrap();
    assert!(ctap.get_pin_token("1234").is_err());
    ctap.get_pin_token("abcdef").unwrap();
}

#[test]
fn short_and_long_pins_are_refused_before_sending() {
    let mut ctap = ctap2();
    let before = ctap.device_mut().transport_mut().inner.requests();
    assert!(matches!(ctap.set_pin("123"), Err(Error::Invalid(ref m)) if m.contains("at least 4")));
    assert!(
        matches!(ctap.set_pin(&"x".repeat(64)), Err(Error::Invalid(ref m)) if m.contains("at most 63"))
    );
    // Four code points of four bytes each are fine (16 bytes).
    assert_eq!(ctap.device_mut().transport_mut().inner.requests(), before);
    ctap.set_pin("😀😀😀😀").unwrap();
    ctap.get_pin_token("😀😀😀😀").unwrap();
}

#[test]
fn three_wrong_pins_block_until_power_cycle() {
    let mut ctap = ctap2();
    ctap.set_pin("1234").unwrap();
    for left in [7, 6] {
        let err = ctap.get_pin_token("0000").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("wrong PIN, {left} retries left (CTAP status 0x31)")
        );
    }
    let err = ctap.get_pin_token("0000").unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::PinAuthBlocked));
    assert!(err.to_string().starts_with("3 wrong PINs in a row"));
    assert_eq!(ctap.get_pin_retries().unwrap(), (5, Some(true)));
}

#[test]
fn protocol_one_when_the_key_offers_only_one() {
    let mut ctap = ctap2();
    ctap.info_mut().pin_uv_auth_protocols = vec![1];
    ctap.set_pin("1234").unwrap();
    let token = ctap.get_pin_token("1234").unwrap();
    assert_eq!(token.protocol(), PinUvAuthProtocol::One);
    ctap.info_mut().pin_uv_auth_protocols = vec![];
    assert!(matches!(
        ctap.get_pin_token("1234"),
        Err(Error::Unsupported(_))
    ));
}

fn mc(token: Option<&PinUvAuthToken>, rk: bool) -> MakeCredentialRequest {
    let client_data_hash = [0xCD; 32];
    MakeCredentialRequest {
        client_data_hash,
        rp: Rp {
            id: "example.com".into(),
            name: Some("Example".into()),
        },
        user: User {
            id: b"user-1".to_vec(),
            name: Some("alice".into()),
            display_name: Some("Alice".into()),
        },
        algorithms: vec![-7],
        rk: Some(rk),
        pin_uv_auth: token.map(|t| PinUvAuthParam::for_client_data(t, &client_data_hash)),
        ..MakeCredentialRequest::default()
    }
}

#[test]
fn make_credential_and_get_assertion_with_a_token() {
    let mut ctap = ctap2();
    let touches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&touches);
    ctap.device_mut().set_keepalive_handler(move |status| {
        if status == crate::hid::KeepaliveStatus::UpNeeded {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        crate::client::KeepaliveAction::Continue
    });
    ctap.set_pin("1234").unwrap();
    // With a PIN set, makeCredential without a token is refused.
    assert_eq!(
        ctap.make_credential(&mc(None, true)).unwrap_err().status(),
        Some(StatusCode::PuatRequired)
    );
    let token = ctap
        .get_pin_uv_auth_token(
            "1234",
            Permissions::MAKE_CREDENTIAL.union(Permissions::GET_ASSERTION),
            Some("example.com"),
        )
        .unwrap();
    let made = ctap.make_credential(&mc(Some(&token), true)).unwrap();
    assert_eq!(made.fmt, "packed");
    let flags = made.auth_data[32];
    assert_eq!(flags & 0x45, 0x45, "UP, UV and AT");
    let id = made.credential_id().unwrap();
    assert!(!id.is_empty());
    let object = made.attestation_object().unwrap();
    // {"fmt": "packed", "attStmt": …, "authData": …}: text keys in canonical order.
    assert_eq!(&object[..12], &hex("a3 63 666d74 66 7061636b6564"));

    // The token was spent on makeCredential; a fresh one for getAssertion.
    let token = ctap
        .get_pin_uv_auth_token("1234", Permissions::GET_ASSERTION, Some("example.com"))
        .unwrap();
    let request = GetAssertionRequest {
        rp_id: "example.com".into(),
        client_data_hash: [0xAB; 32],
        pin_uv_auth: Some(PinUvAuthParam::for_client_data(&token, &[0xAB; 32])),
        ..GetAssertionRequest::default()
    };
    let assertions = ctap.get_assertions(&request).unwrap();
    assert_eq!(assertions.len(), 1);
    let assertion = &assertions[0];
    assert_eq!(assertion.credential_id.as_deref(), Some(id.as_slice()));
    assert_eq!(assertion.user.as_ref().unwrap().id, b"user-1");
    assert_eq!(assertion.auth_data[32] & 0x05, 0x05, "UP and UV");
    assert!(!assertion.signature.is_empty());
    // The key asked for a touch each time, and told the client with KEEPALIVE UPNEEDED.
    assert_eq!(
        ctap.device_mut()
            .transport_mut()
            .inner
            .env_mut()
            .presence
            .requests
            .len(),
        2
    );
}

#[test]
fn get_next_assertion_walks_discoverable_credentials() {
    let mut ctap = ctap2();
    for user in [b"u1", b"u2"] {
        let mut request = mc(None, true);
        request.user.id = user.to_vec();
        ctap.make_credential(&request).unwrap();
    }
    let request = GetAssertionRequest {
        rp_id: "example.com".into(),
        client_data_hash: [1; 32],
        ..GetAssertionRequest::default()
    };
    let all = ctap.get_assertions(&request).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].number_of_credentials, Some(2));
    assert_eq!(all[1].number_of_credentials, None);
    let mut users: Vec<_> = all.iter().map(|a| a.user.clone().unwrap().id).collect();
    users.sort();
    assert_eq!(users, vec![b"u1".to_vec(), b"u2".to_vec()]);
    // Nothing left.
    assert_eq!(
        ctap.get_next_assertion().unwrap_err().status(),
        Some(StatusCode::NotAllowed)
    );
}
