//! The identifiers the vault names things by: 16 random (or hashed) bytes, shown as base64url.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use crate::error::VaultError;

macro_rules! id16 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(#[serde(with = "serde_bytes")] pub [u8; 16]);

        impl $name {
            pub fn random(rng: &mut impl CryptoRngCore) -> Self {
                let mut id = [0u8; 16];
                rng.fill_bytes(&mut id);
                Self(id)
            }

            /// Parses the base64url form that `Display` writes.
            pub fn parse(text: &str) -> Result<Self, VaultError> {
                let bytes = URL_SAFE_NO_PAD
                    .decode(text)
                    .map_err(|e| VaultError::malformed(stringify!($name), e))?;
                let id: [u8; 16] = bytes.try_into().map_err(|b: Vec<u8>| {
                    VaultError::malformed(stringify!($name), format!("{} bytes, not 16", b.len()))
                })?;
                Ok(Self(id))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }
    };
}

id16!(
    /// One person's vault: the unit that has a ledger, epochs and items.
    VaultId
);
id16!(
    /// A device: the first 16 bytes of the hash of its two public keys.
    DeviceId
);
id16!(
    /// One item (a passkey) in a vault, random, so it says nothing about the site.
    ItemId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_refuse_other_lengths() {
        let id = ItemId([7; 16]);
        assert_eq!(ItemId::parse(&id.to_string()), Ok(id));
        assert!(matches!(
            ItemId::parse("AAAA"),
            Err(VaultError::Malformed { .. })
        ));
        assert!(matches!(
            ItemId::parse("not base64!"),
            Err(VaultError::Malformed { .. })
        ));
    }
}
