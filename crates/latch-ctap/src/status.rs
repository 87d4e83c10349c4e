//! CTAP2 status codes (CTAP 2.1 §8.2), the first byte of every CTAPHID_CBOR response.

macro_rules! status_codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)*) => {
        /// A CTAP2 status byte. Bytes this authenticator never sends map to [`StatusCode::Unknown`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum StatusCode {
            $($(#[$doc])* $name,)*
            /// Any other byte, kept as received.
            Unknown(u8),
        }

        impl From<u8> for StatusCode {
            fn from(value: u8) -> Self {
                match value {
                    $($value => Self::$name,)*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<StatusCode> for u8 {
            fn from(code: StatusCode) -> Self {
                match code {
                    $(StatusCode::$name => $value,)*
                    StatusCode::Unknown(other) => other,
                }
            }
        }

        #[cfg(test)]
        pub(crate) const ALL: &[(StatusCode, u8)] = &[$((StatusCode::$name, $value),)*];
    };
}

status_codes! {
    /// CTAP2_OK.
    Ok = 0x00,
    /// CTAP1_ERR_INVALID_COMMAND.
    InvalidCommand = 0x01,
    /// CTAP1_ERR_INVALID_PARAMETER.
    InvalidParameter = 0x02,
    /// CTAP1_ERR_INVALID_LENGTH.
    InvalidLength = 0x03,
    /// CTAP1_ERR_INVALID_SEQ.
    InvalidSeq = 0x04,
    /// CTAP2_ERR_CBOR_UNEXPECTED_TYPE.
    CborUnexpectedType = 0x11,
    /// CTAP2_ERR_INVALID_CBOR.
    InvalidCbor = 0x12,
    /// CTAP2_ERR_MISSING_PARAMETER.
    MissingParameter = 0x14,
    /// CTAP2_ERR_LIMIT_EXCEEDED.
    LimitExceeded = 0x15,
    /// CTAP2_ERR_LARGE_BLOB_STORAGE_FULL.
    LargeBlobStorageFull = 0x18,
    /// CTAP2_ERR_CREDENTIAL_EXCLUDED.
    CredentialExcluded = 0x19,
    /// CTAP2_ERR_UNSUPPORTED_ALGORITHM.
    UnsupportedAlgorithm = 0x26,
    /// CTAP2_ERR_OPERATION_DENIED.
    OperationDenied = 0x27,
    /// CTAP2_ERR_KEY_STORE_FULL.
    KeyStoreFull = 0x28,
    /// CTAP2_ERR_UNSUPPORTED_OPTION.
    UnsupportedOption = 0x2B,
    /// CTAP2_ERR_INVALID_OPTION.
    InvalidOption = 0x2C,
    /// CTAP2_ERR_KEEPALIVE_CANCEL.
    KeepaliveCancel = 0x2D,
    /// CTAP2_ERR_NO_CREDENTIALS.
    NoCredentials = 0x2E,
    /// CTAP2_ERR_USER_ACTION_TIMEOUT.
    UserActionTimeout = 0x2F,
    /// CTAP2_ERR_NOT_ALLOWED.
    NotAllowed = 0x30,
    /// CTAP2_ERR_PIN_INVALID.
    PinInvalid = 0x31,
    /// CTAP2_ERR_PIN_BLOCKED.
    PinBlocked = 0x32,
    /// CTAP2_ERR_PIN_AUTH_INVALID.
    PinAuthInvalid = 0x33,
    /// CTAP2_ERR_PIN_AUTH_BLOCKED.
    PinAuthBlocked = 0x34,
    /// CTAP2_ERR_PIN_NOT_SET.
    PinNotSet = 0x35,
    /// CTAP2_ERR_PUAT_REQUIRED.
    PuatRequired = 0x36,
    /// CTAP2_ERR_PIN_POLICY_VIOLATION.
    PinPolicyViolation = 0x37,
    /// CTAP2_ERR_REQUEST_TOO_LARGE.
    RequestTooLarge = 0x39,
    /// CTAP2_ERR_UP_REQUIRED.
    UpRequired = 0x3B,
    /// CTAP2_ERR_UV_BLOCKED.
    UvBlocked = 0x3C,
    /// CTAP2_ERR_INTEGRITY_FAILURE.
    IntegrityFailure = 0x3D,
    /// CTAP2_ERR_INVALID_SUBCOMMAND.
    InvalidSubcommand = 0x3E,
    /// CTAP2_ERR_UV_INVALID.
    UvInvalid = 0x3F,
    /// CTAP2_ERR_UNAUTHORIZED_PERMISSION.
    UnauthorizedPermission = 0x40,
    /// CTAP1_ERR_OTHER.
    Other = 0x7F,
}

impl StatusCode {
    /// The wire byte.
    pub fn byte(self) -> u8 {
        u8::from(self)
    }
}

#[cfg(test)]
mod tests {
    use super::{StatusCode, ALL};

    #[test]
    fn every_byte_round_trips() {
        for byte in 0..=u8::MAX {
            assert_eq!(u8::from(StatusCode::from(byte)), byte);
        }
    }

    #[test]
    fn named_codes_have_their_spec_values() {
        assert_eq!(ALL.len(), 35);
        for (code, byte) in ALL {
            assert_eq!(StatusCode::from(*byte), *code);
            assert_ne!(*code, StatusCode::Unknown(*byte));
        }
        assert_eq!(StatusCode::PuatRequired.byte(), 0x36);
        assert_eq!(StatusCode::UnauthorizedPermission.byte(), 0x40);
        assert_eq!(StatusCode::InvalidSeq.byte(), 0x04);
        assert_eq!(StatusCode::from(0x05), StatusCode::Unknown(0x05));
    }
}
