//! The shared conformance corpus's case schema (`shared/conformance/README.md`) and a runner
//! that verifies one case at its `verifyAt` time. Used by `latch webauthn verify` and by the
//! conformance test, so a new case file needs no code.
//!
//! Conformance mode opts in to what the corpus needs beyond the default policy: RS1 (SHA-1)
//! for old TPMs, the FIDO-conformance and W3C test TPM vendor ids, and the case's own roots.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::auth_data::{format_aaguid, AuthenticatorData};
use crate::wire::{AuthenticationResponseJson, RegistrationResponseJson};
use crate::{
    b64, verify_authentication, verify_registration, AuthenticationState, Error, RegistrationState,
    RelyingParty, StoredCredential, UnixTime, UserVerification,
};

/// One case file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    pub name: String,
    pub rp_id: String,
    pub origins: Vec<String>,
    #[serde(default)]
    pub allow_cross_origin: Option<bool>,
    #[serde(default)]
    pub top_origins: Vec<String>,
    pub challenge: String,
    pub verify_at: String,
    #[serde(default)]
    pub user_verification: Option<String>,
    pub response: Value,
    #[serde(default)]
    pub credential_public_key: Option<String>,
    #[serde(default)]
    pub stored_sign_count: Option<u32>,
    #[serde(default)]
    pub expect: Value,
}

/// The verdict, in the shape `latch webauthn verify` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub ok: bool,
    pub code: Option<String>,
    #[serde(skip)]
    pub message: Option<String>,
    pub fmt: Option<String>,
    pub attestation_type: Option<String>,
    pub aaguid: Option<String>,
    pub alg: Option<i64>,
    pub sign_count: Option<u32>,
    #[serde(skip)]
    pub credential_id: Option<String>,
    #[serde(skip)]
    pub flags: Option<Value>,
}

impl Verdict {
    fn rejected(e: &Error) -> Verdict {
        Verdict {
            ok: false,
            code: Some(e.code().to_owned()),
            message: Some(e.to_string()),
            fmt: None,
            attestation_type: None,
            aaguid: None,
            alg: None,
            sign_count: None,
            credential_id: None,
            flags: None,
        }
    }
}

/// Why a case file could not be run at all (as opposed to being rejected).
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("not a conformance case: {0}")]
    Json(#[from] serde_json::Error),
    #[error("verifyAt {0:?} is not an RFC 3339 time")]
    Time(String),
    #[error("challenge is not base64url")]
    Challenge,
    #[error("an authentication case needs credentialPublicKey")]
    MissingKey,
}

impl Case {
    pub fn from_json(bytes: &[u8]) -> Result<Case, CaseError> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// Is this an authentication (assertion) case?
    pub fn is_authentication(&self) -> bool {
        self.response
            .get("response")
            .and_then(|r| r.get("signature"))
            .is_some()
    }

    fn now(&self) -> Result<UnixTime, CaseError> {
        OffsetDateTime::parse(&self.verify_at, &Rfc3339)
            .map(|t| UnixTime(t.unix_timestamp()))
            .map_err(|_| CaseError::Time(self.verify_at.clone()))
    }

    fn relying_party(&self) -> RelyingParty {
        let mut rp = RelyingParty::new(&self.rp_id, self.origins.iter().cloned());
        rp.allow_cross_origin = self.allow_cross_origin.unwrap_or(false);
        rp.top_origins = self.top_origins.clone();
        rp.attestation.formats.allow_sha1 = true;
        rp.attestation.formats.tpm_extra_vendors = vec![0xFFFF_F1D0, 0x0000_0000];
        let roots = self.expect.get("trustRoots").and_then(Value::as_array);
        for root in roots.into_iter().flatten() {
            if let Some(der) = root.as_str().and_then(b64::decode) {
                rp.attestation.trust.add_root(der);
            }
        }
        rp
    }

    /// Runs the case. `Err` only when the case itself cannot be read.
    pub fn verify(&self) -> Result<Verdict, CaseError> {
        let now = self.now()?;
        let challenge = b64::decode(&self.challenge).ok_or(CaseError::Challenge)?;
        let rp = self.relying_party();
        let uv = UserVerification::parse(self.user_verification.as_deref().unwrap_or("preferred"));
        if self.is_authentication() {
            self.verify_authentication(&rp, challenge, uv, now)
        } else {
            Ok(self.verify_registration(&rp, challenge, uv, now))
        }
    }

    fn verify_registration(
        &self,
        rp: &RelyingParty,
        challenge: Vec<u8>,
        uv: UserVerification,
        now: UnixTime,
    ) -> Verdict {
        let response: RegistrationResponseJson = match serde_json::from_value(self.response.clone())
        {
            Ok(r) => r,
            Err(e) => return Verdict::rejected(&Error::MalformedResponse(e.to_string())),
        };
        let state = RegistrationState {
            challenge,
            user_id: Vec::new(),
            user_verification: uv,
            allowed_algs: crate::cose::ALL_ALGORITHMS.to_vec(),
            require_user_presence: true,
        };
        match verify_registration(rp, &state, &response, now) {
            Ok(v) => Verdict {
                ok: true,
                code: None,
                message: None,
                fmt: Some(v.fmt().to_owned()),
                attestation_type: Some(v.attestation_type().as_str().to_owned()),
                aaguid: Some(format_aaguid(&v.aaguid)),
                alg: Some(v.alg),
                sign_count: Some(v.sign_count),
                credential_id: Some(b64::encode(&v.credential_id)),
                flags: Some(v.flags.to_json()),
            },
            Err(e) => Verdict::rejected(&e),
        }
    }

    fn verify_authentication(
        &self,
        rp: &RelyingParty,
        challenge: Vec<u8>,
        uv: UserVerification,
        now: UnixTime,
    ) -> Result<Verdict, CaseError> {
        let key = self
            .credential_public_key
            .as_deref()
            .and_then(b64::decode)
            .ok_or(CaseError::MissingKey)?;
        let response: AuthenticationResponseJson =
            match serde_json::from_value(self.response.clone()) {
                Ok(r) => r,
                Err(e) => return Ok(Verdict::rejected(&Error::MalformedResponse(e.to_string()))),
            };
        // The corpus gives no stored user or BE flag: the user is the one the handle names,
        // and the stored BE is what the assertion reports.
        let user_id = response
            .response
            .user_handle
            .clone()
            .map(|h| h.0)
            .unwrap_or_else(|| b"conformance-user".to_vec());
        let backup_eligible =
            AuthenticatorData::parse(response.response.authenticator_data.as_ref())
                .map(|a| a.flags.backup_eligible())
                .unwrap_or(false);
        let credential = StoredCredential {
            id: response.raw_id.0.clone(),
            user_id: user_id.clone(),
            public_key_cose: key,
            sign_count: self.stored_sign_count.unwrap_or(0),
            backup_eligible,
        };
        let state = AuthenticationState {
            challenge,
            user_verification: uv,
            allow_credentials: vec![response.raw_id.0.clone()],
            user_id: Some(user_id),
            appid: None,
        };
        Ok(
            match verify_authentication(rp, &state, &response, &credential, now) {
                Ok(v) => Verdict {
                    ok: true,
                    code: None,
                    message: None,
                    fmt: None,
                    attestation_type: None,
                    aaguid: None,
                    alg: crate::cose::CoseKey::from_bytes(&credential.public_key_cose)
                        .ok()
                        .map(|k| k.alg),
                    sign_count: Some(v.sign_count),
                    credential_id: Some(b64::encode(&v.credential_id)),
                    flags: Some(v.flags.to_json()),
                },
                Err(e) => Verdict::rejected(&e),
            },
        )
    }

    /// Compares a verdict with the case's `expect`; returns the mismatches.
    pub fn mismatches(&self, v: &Verdict) -> Vec<String> {
        let mut out = Vec::new();
        let want_ok = self
            .expect
            .get("ok")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if v.ok != want_ok {
            out.push(format!(
                "ok: expected {want_ok}, got {} ({})",
                v.ok,
                v.message.as_deref().unwrap_or("accepted")
            ));
            return out;
        }
        if !v.ok {
            return out;
        }
        let got = serde_json::json!({
            "fmt": v.fmt, "attestationType": v.attestation_type, "aaguid": v.aaguid,
            "alg": v.alg, "credentialId": v.credential_id, "signCount": v.sign_count, "flags": v.flags,
        });
        for key in [
            "fmt",
            "attestationType",
            "aaguid",
            "alg",
            "credentialId",
            "signCount",
            "flags",
        ] {
            if let Some(want) = self.expect.get(key) {
                if got.get(key) != Some(want) {
                    out.push(format!(
                        "{key}: expected {want}, got {}",
                        got.get(key).unwrap_or(&Value::Null)
                    ));
                }
            }
        }
        out
    }
}
