//! Pairing a new device with one already in the vault. The new device shows an 8-digit code;
//! the person types it into the existing device (the sponsor). Both run SPAKE2 on the code over
//! the store, which relays the messages, and each proves with a MAC over the whole transcript,
//! public keys included, that it derived the same key. So the sponsor adds exactly the device
//! that shows the code, the new device trusts exactly the sponsor the person used, and a store
//! in the middle gets one guess at the code per pairing.

use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use zeroize::Zeroizing;

use crate::error::VaultError;
use crate::identity::{DevicePublic, DeviceSecret};
use crate::ids::DeviceId;
use crate::ledger::{Ledger, Signer};
use crate::seal::derive;
use crate::wire::{decode, encode, sha256};

const JOINER: &[u8] = b"latch-vault/pair/joiner/v1";
const SPONSOR: &[u8] = b"latch-vault/pair/sponsor/v1";
pub const MAX_PAIRING_BYTES: usize = 1024;

/// Eight decimal digits, shown as `1234-5678`.
#[derive(Clone, PartialEq, Eq)]
pub struct PairingCode(Zeroizing<String>);

impl PairingCode {
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        // Rejection sampling keeps every code equally likely.
        loop {
            let n = rng.next_u32();
            if n < 4_000_000_000 {
                return PairingCode(Zeroizing::new(format!("{:08}", n % 100_000_000)));
            }
        }
    }

    /// Accepts the digits with any spaces or dashes between them.
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.len() != 8 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(VaultError::BadPairingCode);
        }
        Ok(PairingCode(Zeroizing::new(digits)))
    }

    pub fn display(&self) -> String {
        let (a, b) = self.0.split_at(4.min(self.0.len()));
        format!("{a}-{b}")
    }
}

impl std::fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairingCode(..)")
    }
}

#[derive(Serialize, Deserialize)]
struct Request {
    device: DevicePublic,
    #[serde(with = "serde_bytes")]
    spake: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Response {
    sponsor: DevicePublic,
    #[serde(with = "serde_bytes")]
    spake: Vec<u8>,
    #[serde(with = "serde_bytes")]
    mac: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Confirmation {
    #[serde(with = "serde_bytes")]
    mac: Vec<u8>,
}

fn spake_ids() -> (Identity, Identity) {
    (Identity::new(JOINER), Identity::new(SPONSOR))
}

fn transcript(request: &[u8], sponsor: &DevicePublic, sponsor_spake: &[u8]) -> [u8; 32] {
    let mut m = Vec::with_capacity(request.len() + 64 + sponsor_spake.len() + 8);
    m.extend_from_slice(&(request.len() as u64).to_be_bytes());
    m.extend_from_slice(request);
    m.extend_from_slice(&sponsor.signing);
    m.extend_from_slice(&sponsor.hpke);
    m.extend_from_slice(sponsor_spake);
    sha256(b"latch-vault/pair/transcript/v1", &m)
}

fn mac(key: &[u8], role: &[u8], transcript: &[u8; 32]) -> Result<Hmac<sha2::Sha256>, VaultError> {
    let key = derive(key, role);
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_slice())
        .map_err(|_| VaultError::PairingNotConfirmed)?;
    m.update(transcript);
    Ok(m)
}

/// The new device's side, from showing the code to knowing its sponsor.
pub struct Joiner {
    spake: Spake2<Ed25519Group>,
    request: Vec<u8>,
}

impl Joiner {
    /// The code to show and the request to post for the sponsor.
    pub fn start(
        me: &DevicePublic,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Joiner, PairingCode, Vec<u8>), VaultError> {
        let code = PairingCode::generate(rng);
        let (a, b) = spake_ids();
        let (spake, msg) = Spake2::<Ed25519Group>::start_a_with_rng(
            &Password::new(code.0.as_bytes()),
            &a,
            &b,
            &mut *rng,
        );
        let request = encode(
            "pairing request",
            &Request {
                device: *me,
                spake: msg,
            },
        )?;
        Ok((
            Joiner {
                spake,
                request: request.clone(),
            },
            code,
            request,
        ))
    }

    /// Checks the sponsor's answer; on success, the sponsor and the confirmation to post.
    pub fn confirm(self, response: &[u8]) -> Result<(DevicePublic, Vec<u8>), VaultError> {
        let r: Response = decode("pairing response", response, MAX_PAIRING_BYTES)?;
        let key = Zeroizing::new(
            self.spake
                .finish(&r.spake)
                .map_err(|_| VaultError::PairingNotConfirmed)?,
        );
        let t = transcript(&self.request, &r.sponsor, &r.spake);
        mac(&key, SPONSOR, &t)?
            .verify_slice(&r.mac)
            .map_err(|_| VaultError::PairingNotConfirmed)?;
        let mine = mac(&key, JOINER, &t)?.finalize().into_bytes().to_vec();
        Ok((
            r.sponsor,
            encode("pairing confirmation", &Confirmation { mac: mine })?,
        ))
    }
}

/// The new device, named by its request, as the sponsor sees it before approving.
pub fn requested_device(request: &[u8]) -> Result<DevicePublic, VaultError> {
    Ok(decode::<Request>("pairing request", request, MAX_PAIRING_BYTES)?.device)
}

/// The existing device's side, from the typed code to knowing the new device.
pub struct Sponsor {
    key: Zeroizing<Vec<u8>>,
    transcript: [u8; 32],
    device: DevicePublic,
}

impl Sponsor {
    pub fn respond(
        code: &PairingCode,
        request: &[u8],
        me: &DeviceSecret,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Sponsor, Vec<u8>), VaultError> {
        let req: Request = decode("pairing request", request, MAX_PAIRING_BYTES)?;
        let (a, b) = spake_ids();
        let (spake, msg) = Spake2::<Ed25519Group>::start_b_with_rng(
            &Password::new(code.0.as_bytes()),
            &a,
            &b,
            &mut *rng,
        );
        let key = Zeroizing::new(
            spake
                .finish(&req.spake)
                .map_err(|_| VaultError::PairingNotConfirmed)?,
        );
        let t = transcript(request, &me.public(), &msg);
        let tag = mac(&key, SPONSOR, &t)?.finalize().into_bytes().to_vec();
        let response = encode(
            "pairing response",
            &Response {
                sponsor: me.public(),
                spake: msg,
                mac: tag,
            },
        )?;
        Ok((
            Sponsor {
                key,
                transcript: t,
                device: req.device,
            },
            response,
        ))
    }

    /// Checks the new device's confirmation; on success, the device to add to the ledger.
    pub fn finish(self, confirmation: &[u8]) -> Result<DevicePublic, VaultError> {
        let c: Confirmation = decode("pairing confirmation", confirmation, MAX_PAIRING_BYTES)?;
        mac(&self.key, JOINER, &self.transcript)?
            .verify_slice(&c.mac)
            .map_err(|_| VaultError::PairingNotConfirmed)?;
        Ok(self.device)
    }
}

/// What the new device checks once the ledger is fetched: it is a member, added by the sponsor
/// it paired with (so the chain is the vault that sponsor belongs to, not one the store made).
pub fn check_joined(ledger: &Ledger, me: DeviceId, sponsor: DeviceId) -> Result<(), VaultError> {
    let member = ledger.member(&me).ok_or(VaultError::NotJoined(me))?;
    match member.added_by {
        Signer::Device(id) if id == sponsor => Ok(()),
        _ => Err(VaultError::UntrustedGenesis),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::tests::rng;

    #[test]
    fn the_same_code_pairs_the_two_devices_both_ways() {
        let mut r = rng(50);
        let d = DeviceSecret::generate(&mut r).unwrap();
        let s = DeviceSecret::generate(&mut r).unwrap();
        let (joiner, code, request) = Joiner::start(&d.public(), &mut r).unwrap();
        assert_eq!(requested_device(&request).unwrap(), d.public());
        let typed = PairingCode::parse(&code.display()).unwrap();
        let (sponsor, response) = Sponsor::respond(&typed, &request, &s, &mut r).unwrap();
        let (sponsor_seen, confirmation) = joiner.confirm(&response).unwrap();
        assert_eq!(sponsor_seen, s.public());
        assert_eq!(sponsor.finish(&confirmation).unwrap(), d.public());
    }

    #[test]
    fn a_wrong_code_or_a_swapped_key_is_not_confirmed() {
        let mut r = rng(51);
        let d = DeviceSecret::generate(&mut r).unwrap();
        let s = DeviceSecret::generate(&mut r).unwrap();
        let mallory = DeviceSecret::generate(&mut r).unwrap();

        let (joiner, code, request) = Joiner::start(&d.public(), &mut r).unwrap();
        let other = if code.0.as_str() == "00000000" {
            "11111111"
        } else {
            "00000000"
        };
        let wrong = PairingCode::parse(other).unwrap();
        let (_, response) = Sponsor::respond(&wrong, &request, &s, &mut r).unwrap();
        assert_eq!(
            joiner.confirm(&response).err(),
            Some(VaultError::PairingNotConfirmed)
        );

        // The store swaps in its own device key in the request: the sponsor's MAC covers the
        // request it saw, so the joiner refuses; and the joiner's confirmation does not match.
        let (joiner, code, request) = Joiner::start(&d.public(), &mut r).unwrap();
        let mut req: Request = decode("r", &request, MAX_PAIRING_BYTES).unwrap();
        req.device = mallory.public();
        let swapped = encode("r", &req).unwrap();
        let (sponsor, response) = Sponsor::respond(&code, &swapped, &s, &mut r).unwrap();
        assert_eq!(
            joiner.confirm(&response).err(),
            Some(VaultError::PairingNotConfirmed)
        );
        let bogus = encode("c", &Confirmation { mac: vec![0; 32] }).unwrap();
        assert_eq!(
            sponsor.finish(&bogus).err(),
            Some(VaultError::PairingNotConfirmed)
        );

        // The store swaps the sponsor's key in the response.
        let (joiner, code, request) = Joiner::start(&d.public(), &mut r).unwrap();
        let (_, response) = Sponsor::respond(&code, &request, &s, &mut r).unwrap();
        let mut resp: Response = decode("r", &response, MAX_PAIRING_BYTES).unwrap();
        resp.sponsor = mallory.public();
        let swapped = encode("r", &resp).unwrap();
        assert_eq!(
            joiner.confirm(&swapped).err(),
            Some(VaultError::PairingNotConfirmed)
        );
    }

    #[test]
    fn the_new_device_trusts_a_ledger_only_if_its_sponsor_added_it() {
        use crate::ids::VaultId;
        use crate::ledger::{Op, Via};
        let mut r = rng(53);
        let (s, d, m) = (
            DeviceSecret::generate(&mut r).unwrap(),
            DeviceSecret::generate(&mut r).unwrap(),
            DeviceSecret::generate(&mut r).unwrap(),
        );
        let add_d = Op::Add {
            device: d.public(),
            via: Via::Sponsor,
        };
        let (mut real, _) = Ledger::create(
            VaultId([1; 16]),
            &s,
            [0; 32],
            crate::ledger::tests::escrow(),
            0,
        )
        .unwrap();
        assert_eq!(
            check_joined(&real, d.id(), s.id()),
            Err(VaultError::NotJoined(d.id()))
        );
        let entry = real.propose(add_d.clone(), &s, 1).unwrap();
        real.append(entry.bytes()).unwrap();
        assert_eq!(check_joined(&real, d.id(), s.id()), Ok(()));
        // A vault the store made up, with its own device adding the new one.
        let (mut fake, _) = Ledger::create(
            VaultId([1; 16]),
            &m,
            [0; 32],
            crate::ledger::tests::escrow(),
            0,
        )
        .unwrap();
        let entry = fake.propose(add_d, &m, 1).unwrap();
        fake.append(entry.bytes()).unwrap();
        assert_eq!(
            check_joined(&fake, d.id(), s.id()),
            Err(VaultError::UntrustedGenesis)
        );
    }

    #[test]
    fn codes_are_eight_digits() {
        let code = PairingCode::generate(&mut rng(52));
        assert_eq!(code.display().len(), 9);
        assert!(PairingCode::parse("1234 5678").is_ok());
        for bad in ["1234567", "123456789", "1234-567a", ""] {
            assert_eq!(PairingCode::parse(bad), Err(VaultError::BadPairingCode));
        }
    }
}
