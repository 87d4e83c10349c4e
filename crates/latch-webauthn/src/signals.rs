//! The Signals API (§5.1.10–12): the JSON a page passes to
//! `PublicKeyCredential.signalUnknownCredential()`, `signalAllAcceptedCredentials()` and
//! `signalCurrentUserDetails()` so passkey providers can tidy up.

use serde::Serialize;

use crate::b64;

/// `UnknownCredentialOptions`: tell the provider a credential no longer exists here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnknownCredential {
    pub rp_id: String,
    pub credential_id: String,
}

/// `AllAcceptedCredentialsOptions`: the full list of a user's credentials the RP still accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllAcceptedCredentials {
    pub rp_id: String,
    pub user_id: String,
    pub all_accepted_credential_ids: Vec<String>,
}

/// `CurrentUserDetailsOptions`: the user's current name and display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentUserDetails {
    pub rp_id: String,
    pub user_id: String,
    pub name: String,
    pub display_name: String,
}

pub fn unknown_credential(rp_id: &str, credential_id: &[u8]) -> UnknownCredential {
    UnknownCredential {
        rp_id: rp_id.to_owned(),
        credential_id: b64::encode(credential_id),
    }
}

pub fn all_accepted_credentials<'a>(
    rp_id: &str,
    user_id: &[u8],
    credential_ids: impl IntoIterator<Item = &'a [u8]>,
) -> AllAcceptedCredentials {
    AllAcceptedCredentials {
        rp_id: rp_id.to_owned(),
        user_id: b64::encode(user_id),
        all_accepted_credential_ids: credential_ids.into_iter().map(b64::encode).collect(),
    }
}

pub fn current_user_details(
    rp_id: &str,
    user_id: &[u8],
    name: &str,
    display_name: &str,
) -> CurrentUserDetails {
    CurrentUserDetails {
        rp_id: rp_id.to_owned(),
        user_id: b64::encode(user_id),
        name: name.to_owned(),
        display_name: display_name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_serialise_as_the_browser_expects() {
        let v = serde_json::to_value(unknown_credential("example.com", &[0xfb, 0xff])).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"rpId": "example.com", "credentialId": "-_8"})
        );
        let v = serde_json::to_value(all_accepted_credentials(
            "example.com",
            b"u",
            [&b"a"[..], &b"b"[..]],
        ))
        .unwrap();
        assert_eq!(
            v["allAcceptedCredentialIds"],
            serde_json::json!(["YQ", "Yg"])
        );
        assert_eq!(v["userId"], "dQ");
        let v = serde_json::to_value(current_user_details("example.com", b"u", "ada", "Ada L"))
            .unwrap();
        assert_eq!(v["displayName"], "Ada L");
    }
}
