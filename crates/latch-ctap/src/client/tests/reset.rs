//! authenticatorReset and authenticatorSelection against the authenticator: the 10-second
//! window on the key's clock, what a reset wipes, and the touch both ask for.

use super::*;
use crate::client::ctap2::GetAssertionRequest;
use crate::env::Presence;
use crate::pin::Permissions;
use crate::status::StatusCode;

const WINDOW_MESSAGE: &str = "reset is only allowed within 10 seconds of plugging the key in \
                              (restart `latch key run`), then touch it (CTAP status 0x30)";

#[test]
fn reset_within_ten_seconds_wipes_the_key() {
    let mut ctap = ctap2_with_pin();
    let discoverable = make(
        &mut ctap,
        "example.com",
        user(b"u-1", "a", "A"),
        true,
        vec![],
    );
    let wrapped = make(
        &mut ctap,
        "example.com",
        user(b"u-2", "b", "B"),
        false,
        vec![],
    );
    assert_eq!(ctap.info().remaining_discoverable_credentials, Some(16));
    key(&mut ctap).env_mut().advance(10_000);
    let touches = key(&mut ctap).env_mut().presence.requests.len();
    ctap.reset().unwrap();
    assert_eq!(
        key(&mut ctap).env_mut().presence.requests[touches..],
        [(String::new(), "reset".to_owned())]
    );
    let info = ctap.refresh_info().unwrap();
    assert_eq!(info.pin_set(), Some(false));
    assert_eq!(info.remaining_discoverable_credentials, Some(16));
    // Neither the discoverable nor the wrapped credential is usable any more.
    for allow in [
        vec![],
        vec![discoverable.credential_id().unwrap()],
        vec![wrapped.credential_id().unwrap()],
    ] {
        let err = ctap
            .get_assertion(&GetAssertionRequest {
                rp_id: "example.com".into(),
                allow_list: allow,
                ..GetAssertionRequest::default()
            })
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::NoCredentials));
    }
    // A new PIN, and an empty key behind it.
    ctap.set_pin("5678").unwrap();
    ctap.refresh_info().unwrap();
    assert_eq!(ctap.get_pin_retries().unwrap(), (8, Some(false)));
    let token = ctap
        .get_pin_uv_auth_token("5678", Permissions::CREDENTIAL_MANAGEMENT, None)
        .unwrap();
    assert_eq!(ctap.creds_metadata(&token).unwrap().existing, 0);
}

#[test]
fn reset_after_ten_seconds_is_refused_until_a_power_cycle() {
    let mut ctap = ctap2_with_pin();
    key(&mut ctap).env_mut().advance(10_001);
    let err = ctap.reset().unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NotAllowed));
    assert_eq!(err.to_string(), WINDOW_MESSAGE);
    assert_eq!(ctap.refresh_info().unwrap().pin_set(), Some(true));

    // Replugging opens a new window.
    let loopback = ctap
        .into_device()
        .into_transport()
        .inner
        .power_cycle()
        .unwrap();
    let device = HidDevice::open(loopback, NONCE).unwrap();
    let mut ctap = Ctap2::with_rng(device, Box::new(XorShiftRng::new(3))).unwrap();
    ctap.device_mut().transport_mut().env_mut().advance(9_000);
    ctap.reset().unwrap();
    assert_eq!(ctap.refresh_info().unwrap().pin_set(), Some(false));
}

#[test]
fn reset_and_selection_need_a_touch() {
    let mut ctap = ctap2_with_pin();
    let presence = &mut key(&mut ctap).env_mut().presence;
    presence.script.extend([
        Presence::Denied,
        Presence::Timeout,
        Presence::Approved,
        Presence::Denied,
    ]);
    let err = ctap.reset().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the operation was declined on the key: run the command again and approve it (CTAP \
         status 0x27)"
    );
    let err = ctap.reset().unwrap_err();
    assert_eq!(
        err.to_string(),
        "nobody touched the key in time (30 seconds): run the command again and touch it (CTAP \
         status 0x2f)"
    );
    assert_eq!(ctap.refresh_info().unwrap().pin_set(), Some(true));
    ctap.selection().unwrap();
    assert_eq!(
        ctap.selection().unwrap_err().status(),
        Some(StatusCode::OperationDenied)
    );
    let requests = &key(&mut ctap).env_mut().presence.requests;
    let what: Vec<&str> = requests.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(what, ["reset", "reset", "select", "select"]);
}
