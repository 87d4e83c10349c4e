//! What signup and "add a key" share: turning a verified registration into a stored row.

use latch_webauthn::VerifiedRegistration;

use crate::state::AppState;
use crate::store::credentials::Credential;
use crate::views::authenticator_name;

/// The transports WebAuthn Level 3 defines (`AuthenticatorTransport`).
const TRANSPORTS: [&str; 6] = ["ble", "hybrid", "internal", "nfc", "smart-card", "usb"];

/// What the client said of the key's transports, kept to the values the specification
/// knows, each once, in its order: the list is stored and sent back in every
/// allowCredentials, so it must not carry whatever a client made up, nor grow without bound.
fn known_transports(reported: &[String]) -> Vec<String> {
    TRANSPORTS
        .iter()
        .filter(|t| reported.iter().any(|r| r == *t))
        .map(|t| (*t).to_owned())
        .collect()
}

/// The row a verified registration becomes for `user_id`, named `name` or after its
/// authenticator's model (or what kind of key it is).
pub fn credential(
    state: &AppState,
    verified: &VerifiedRegistration,
    user_id: i64,
    name: Option<String>,
    now: i64,
) -> Credential {
    let name = name.unwrap_or_else(|| {
        authenticator_name(state, &verified.aaguid).unwrap_or_else(|| {
            if verified.backup_eligible {
                "Passkey".to_owned()
            } else {
                "Security key".to_owned()
            }
        })
    });
    Credential {
        id: verified.credential_id.clone(),
        user_id,
        public_key: verified.public_key_cose.clone(),
        alg: verified.alg,
        sign_count: verified.sign_count,
        transports: known_transports(&verified.transports),
        aaguid: verified.aaguid,
        attestation_fmt: verified.fmt().to_owned(),
        backup_eligible: verified.backup_eligible,
        backed_up: verified.backed_up,
        user_verified: verified.user_verified,
        discoverable: verified.resident_key,
        name,
        created_at: now,
        last_used_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_are_the_known_values_once_each() {
        let reported: Vec<String> = [
            "usb",
            "<script>",
            "nfc",
            "usb",
            "internal",
            "x".repeat(9000).as_str(),
        ]
        .iter()
        .map(|t| (*t).to_owned())
        .chain(std::iter::repeat_n("usb".to_owned(), 1000))
        .collect();
        assert_eq!(known_transports(&reported), ["internal", "nfc", "usb"]);
        assert!(known_transports(&[]).is_empty());
    }
}
