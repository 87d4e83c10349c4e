//! How a session's owner proved who they are: the RFC 8176 authentication method references
//! (`amr`) a session keeps, and the authentication context class (`acr`) they add up to, which
//! the OpenID Connect provider puts in its ID tokens and checks against a client's
//! `acr_values`.

/// The methods a session's sign-in (and every re-authentication since) used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amr {
    /// `pwd`: the password.
    pub pwd: bool,
    /// `otp`: an authenticator-app code or a recovery code (both one-time codes).
    pub otp: bool,
    /// `hwk`: a device-bound key (a security key, or a passkey that cannot leave its device).
    pub hwk: bool,
    /// `swk`: a synced passkey (its private key is copied between devices by software).
    pub swk: bool,
    /// `user`: the authenticator tested that a person was present.
    pub user: bool,
    /// The authenticator verified the person (PIN or biometric; WebAuthn does not say which,
    /// so neither `pin` nor `fpt` is claimed).
    pub verified: bool,
}

impl Amr {
    /// A password alone.
    pub const PASSWORD: Amr = Amr {
        pwd: true,
        otp: false,
        hwk: false,
        swk: false,
        user: false,
        verified: false,
    };

    /// A password with a one-time code (authenticator app or recovery code).
    pub const PASSWORD_AND_CODE: Amr = Amr {
        otp: true,
        ..Amr::PASSWORD
    };

    /// A WebAuthn assertion (or attestation) from a credential that is synced (`be`) or
    /// device-bound, with or without user verification.
    pub fn key(backup_eligible: bool, user_verified: bool) -> Amr {
        Amr {
            hwk: !backup_eligible,
            swk: backup_eligible,
            user: true,
            verified: user_verified,
            ..Amr::default()
        }
    }

    /// Both sets of methods: a re-authentication adds to the sign-in's.
    pub fn and(self, other: Amr) -> Amr {
        Amr {
            pwd: self.pwd || other.pwd,
            otp: self.otp || other.otp,
            hwk: self.hwk || other.hwk,
            swk: self.swk || other.swk,
            user: self.user || other.user,
            verified: self.verified || other.verified,
        }
    }

    /// The same methods with every key's taken out (after a key is removed).
    pub fn without_keys(self) -> Amr {
        Amr {
            hwk: false,
            swk: false,
            user: false,
            verified: false,
            ..self
        }
    }

    /// Whether a key (synced or device-bound) was used.
    pub fn has_key(self) -> bool {
        self.hwk || self.swk
    }

    /// Two independent factors: a password and something else, or a key that verified its
    /// user.
    pub fn multi_factor(self) -> bool {
        (self.pwd && (self.otp || self.has_key())) || (self.has_key() && self.verified)
    }

    /// The RFC 8176 values, in a fixed order.
    pub fn values(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        for (on, name) in [
            (self.hwk, "hwk"),
            (self.swk, "swk"),
            (self.user, "user"),
            (self.pwd, "pwd"),
            (self.otp, "otp"),
            (self.multi_factor(), "mfa"),
        ] {
            if on {
                v.push(name);
            }
        }
        v
    }

    /// As a session stores it (space-separated; `verified` as `uv`, which is not an RFC 8176
    /// value and never leaves the server).
    pub fn stored(self) -> String {
        let mut v = self.values();
        v.retain(|m| *m != "mfa");
        if self.verified {
            v.push("uv");
        }
        v.join(" ")
    }

    /// Reads [`Amr::stored`]; unknown words are ignored.
    pub fn parse(stored: &str) -> Amr {
        let mut amr = Amr::default();
        for word in stored.split_ascii_whitespace() {
            match word {
                "pwd" => amr.pwd = true,
                "otp" => amr.otp = true,
                "hwk" => amr.hwk = true,
                "swk" => amr.swk = true,
                "user" => amr.user = true,
                "uv" => amr.verified = true,
                _ => {}
            }
        }
        amr
    }

    /// The context class these methods add up to (the strongest that holds).
    pub fn acr(self) -> Acr {
        if self.has_key() && self.pwd {
            Acr::PasswordAndKey
        } else if self.has_key() && self.verified {
            Acr::Passkey
        } else if self.pwd && self.otp {
            Acr::PasswordAndCode
        } else if self.has_key() {
            Acr::Key
        } else if self.pwd {
            Acr::Password
        } else {
            Acr::None
        }
    }
}

/// Authentication context classes, as `acr` values. Each says how the person signed in; a
/// request for one is met by any class of at least its [`Acr::level`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acr {
    /// Nothing this server can vouch for (a session from before `amr` was recorded).
    None,
    /// A password alone (or a browser trusted to skip the second factor).
    Password,
    /// A key without user verification, alone: phishing-resistant, one factor.
    Key,
    /// A password and a one-time code (authenticator app or recovery code): two factors, but
    /// the code can be phished.
    PasswordAndCode,
    /// A password and a security key (or passkey): phishing-resistant, two factors.
    PasswordAndKey,
    /// A passkey that verified its user (PIN or biometric): phishing-resistant, two factors
    /// in one gesture.
    Passkey,
}

/// OpenID's EAP ACR value for a phishing-resistant sign-in, accepted in `acr_values`.
pub const PHISHING_RESISTANT: &str = "phr";

impl Acr {
    /// Every class a client may ask for, weakest first (`None` is never asked for).
    pub const ALL: [Acr; 5] = [
        Acr::Password,
        Acr::Key,
        Acr::PasswordAndCode,
        Acr::PasswordAndKey,
        Acr::Passkey,
    ];

    pub fn uri(self) -> &'static str {
        match self {
            Acr::None => "urn:latch:acr:none",
            Acr::Password => "urn:latch:acr:password",
            Acr::Key => "urn:latch:acr:key",
            Acr::PasswordAndCode => "urn:latch:acr:password-otp",
            Acr::PasswordAndKey => "urn:latch:acr:password-key",
            Acr::Passkey => "urn:latch:acr:passkey",
        }
    }

    /// How strong it is: 3 is phishing-resistant with two factors.
    pub fn level(self) -> u8 {
        match self {
            Acr::None => 0,
            Acr::Password => 1,
            Acr::Key | Acr::PasswordAndCode => 2,
            Acr::PasswordAndKey | Acr::Passkey => 3,
        }
    }

    /// The level a requested `acr` value asks for; `None` for a value this server does not
    /// know (ignored, as OpenID Connect Core §3.1.2.1 lets a voluntary request be).
    pub fn level_asked(value: &str) -> Option<u8> {
        if value == PHISHING_RESISTANT {
            return Some(Acr::Passkey.level());
        }
        Acr::ALL
            .into_iter()
            .find(|a| a.uri() == value)
            .map(Acr::level)
    }

    /// Whether this class meets a space-separated `acr_values` request: at least the level of
    /// the weakest value asked for that this server knows. A request of only unknown values
    /// asks for nothing.
    pub fn meets(self, acr_values: &str) -> bool {
        acr_values
            .split_ascii_whitespace()
            .filter_map(Acr::level_asked)
            .min()
            .is_none_or(|asked| self.level() >= asked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_of_signing_in_has_its_own_class_and_methods() {
        let passkey = Amr::key(true, true);
        assert_eq!(passkey.acr(), Acr::Passkey);
        assert_eq!(passkey.values(), ["swk", "user", "mfa"]);
        let security_key = Amr::PASSWORD.and(Amr::key(false, false));
        assert_eq!(security_key.acr(), Acr::PasswordAndKey);
        assert_eq!(security_key.values(), ["hwk", "user", "pwd", "mfa"]);
        assert_eq!(Amr::PASSWORD_AND_CODE.acr(), Acr::PasswordAndCode);
        assert_eq!(Amr::PASSWORD_AND_CODE.values(), ["pwd", "otp", "mfa"]);
        assert_eq!(Amr::PASSWORD.acr(), Acr::Password);
        assert_eq!(Amr::PASSWORD.values(), ["pwd"]);
        assert_eq!(Amr::key(false, false).acr(), Acr::Key);
        assert_eq!(Amr::default().acr(), Acr::None);
    }

    #[test]
    fn stored_methods_read_back_the_same() {
        for amr in [
            Amr::key(true, true),
            Amr::key(false, false),
            Amr::PASSWORD_AND_CODE.and(Amr::key(false, true)),
            Amr::default(),
        ] {
            assert_eq!(Amr::parse(&amr.stored()), amr);
        }
        assert_eq!(Amr::parse("pwd nonsense"), Amr::PASSWORD);
    }

    #[test]
    fn a_step_up_with_a_key_raises_the_class() {
        let code = Amr::PASSWORD_AND_CODE;
        assert!(!code.acr().meets(PHISHING_RESISTANT));
        assert!(code
            .and(Amr::key(false, true))
            .acr()
            .meets(PHISHING_RESISTANT));
    }

    #[test]
    fn a_request_is_met_by_its_level_or_above() {
        let phr = "urn:latch:acr:password-key";
        assert!(Acr::Passkey.meets(phr));
        assert!(Acr::PasswordAndKey.meets(phr));
        assert!(!Acr::PasswordAndCode.meets(phr));
        assert!(!Acr::Password.meets("urn:latch:acr:password-otp"));
        // The weakest known value decides; unknown ones ask for nothing.
        assert!(Acr::Password.meets("urn:latch:acr:passkey urn:latch:acr:password"));
        assert!(Acr::Password.meets("urn:example:gold"));
        assert!(Acr::None.meets(""));
        assert!(!Acr::None.meets("urn:latch:acr:password"));
    }
}
