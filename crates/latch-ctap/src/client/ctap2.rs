//! Typed CTAP2 calls: getInfo, makeCredential, getAssertion, getNextAssertion, reset,
//! selection, and the raw [`Ctap2::send_cbor`].

use ciborium::value::Value;

use super::error::Hint;
use super::info::Info;
use super::parse;
use super::{CtapDevice, CtapError, Error, SystemRng};
use crate::cbor;
use crate::pin::Rng;
use crate::status::StatusCode;

pub use super::messages::{
    descriptor, Assertion, GetAssertionRequest, MadeCredential, MakeCredentialRequest,
    PinUvAuthParam, Rp, User,
};

/// authenticatorMakeCredential.
pub const MAKE_CREDENTIAL: u8 = 0x01;
/// authenticatorGetAssertion.
pub const GET_ASSERTION: u8 = 0x02;
/// authenticatorGetInfo.
pub const GET_INFO: u8 = 0x04;
/// authenticatorClientPIN.
pub const CLIENT_PIN: u8 = 0x06;
/// authenticatorReset.
pub const RESET: u8 = 0x07;
/// authenticatorGetNextAssertion.
pub const GET_NEXT_ASSERTION: u8 = 0x08;
/// authenticatorCredentialManagement.
pub const CREDENTIAL_MANAGEMENT: u8 = 0x0A;
/// authenticatorSelection.
pub const SELECTION: u8 = 0x0B;
/// authenticatorLargeBlobs.
pub const LARGE_BLOBS: u8 = 0x0C;
/// authenticatorConfig.
pub const CONFIG: u8 = 0x0D;
/// The pre-2.1 credential management command (FIDO_2_1_PRE).
pub const CREDENTIAL_MANAGEMENT_PRE: u8 = 0x41;

/// A CTAP2 client over one device. Holds the getInfo answer (refreshed by
/// [`Ctap2::refresh_info`]) and the randomness the PIN protocol needs.
pub struct Ctap2<D> {
    device: D,
    info: Info,
    pub(crate) rng: Box<dyn Rng + Send>,
}

impl<D> std::fmt::Debug for Ctap2<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctap2")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl<D: CtapDevice> Ctap2<D> {
    /// Asks the key for getInfo, with the system CSPRNG for the PIN protocol.
    pub fn new(device: D) -> Result<Self, Error> {
        Self::with_rng(device, Box::new(SystemRng))
    }

    /// Asks the key for getInfo; `rng` feeds key agreement and IVs (seed it in tests).
    pub fn with_rng(mut device: D, rng: Box<dyn Rng + Send>) -> Result<Self, Error> {
        let info = get_info(&mut device)?;
        Ok(Self { device, info, rng })
    }

    /// The getInfo answer.
    pub const fn info(&self) -> &Info {
        &self.info
    }

    /// Asks getInfo again (after setting a PIN, changing config, …).
    pub fn refresh_info(&mut self) -> Result<&Info, Error> {
        self.info = get_info(&mut self.device)?;
        Ok(&self.info)
    }

    /// Replaces the cached getInfo (tests: pretend the key offers less).
    #[cfg(test)]
    pub(crate) fn info_mut(&mut self) -> &mut Info {
        &mut self.info
    }

    /// The device.
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// Gives the device back.
    pub fn into_device(self) -> D {
        self.device
    }

    /// authenticatorGetInfo, without caching.
    pub fn get_info(&mut self) -> Result<Info, Error> {
        get_info(&mut self.device)
    }

    /// Sends `cmd || CBOR(params)` and returns the response map (empty for an empty body). A
    /// non-zero status is [`Error::Ctap`]. Requests over maxMsgSize are refused locally.
    pub fn send_cbor(
        &mut self,
        cmd: u8,
        params: Option<&Value>,
    ) -> Result<Vec<(Value, Value)>, Error> {
        let request = encode_request(cmd, params)?;
        let max = usize::try_from(self.info.max_msg_size()).unwrap_or(usize::MAX);
        if request.len() > max {
            return Err(Error::Invalid(format!(
                "a {}-byte request exceeds the key's maxMsgSize of {max}",
                request.len()
            )));
        }
        let body = match send_raw(&mut self.device, &request) {
            Err(Error::Ctap(mut e)) if e.status == StatusCode::PuatRequired => {
                // Ask again: alwaysUv may have been switched on since getInfo was cached.
                if self
                    .get_info()
                    .is_ok_and(|info| info.option("alwaysUv") == Some(true))
                {
                    e.hint = Hint::AlwaysUv;
                }
                return Err(Error::Ctap(e));
            }
            other => other?,
        };
        parse::response_map(&body)
    }

    /// authenticatorMakeCredential.
    pub fn make_credential(
        &mut self,
        request: &MakeCredentialRequest,
    ) -> Result<MadeCredential, Error> {
        let map = self.send_cbor(MAKE_CREDENTIAL, Some(&request.to_cbor()))?;
        MadeCredential::from_map(&map)
    }

    /// authenticatorGetAssertion: the first assertion (see `number_of_credentials`).
    pub fn get_assertion(&mut self, request: &GetAssertionRequest) -> Result<Assertion, Error> {
        let map = self.send_cbor(GET_ASSERTION, Some(&request.to_cbor()))?;
        Assertion::from_map(&map)
    }

    /// authenticatorGetNextAssertion.
    pub fn get_next_assertion(&mut self) -> Result<Assertion, Error> {
        let map = self.send_cbor(GET_NEXT_ASSERTION, None)?;
        Assertion::from_map(&map)
    }

    /// getAssertion followed by getNextAssertion for every further credential.
    pub fn get_assertions(
        &mut self,
        request: &GetAssertionRequest,
    ) -> Result<Vec<Assertion>, Error> {
        let first = self.get_assertion(request)?;
        let count = first.number_of_credentials.unwrap_or(1).clamp(1, 256);
        let mut all = vec![first];
        for _ in 1..count {
            all.push(self.get_next_assertion()?);
        }
        Ok(all)
    }

    /// authenticatorReset: deletes every credential and the PIN. Needs a touch, usually within
    /// 10 s of power-up.
    pub fn reset(&mut self) -> Result<(), Error> {
        self.send_cbor(RESET, None).map(|_| ())
    }

    /// authenticatorSelection: waits for a touch.
    pub fn selection(&mut self) -> Result<(), Error> {
        self.send_cbor(SELECTION, None).map(|_| ())
    }
}

/// `cmd || CBOR(params)`.
pub(crate) fn encode_request(cmd: u8, params: Option<&Value>) -> Result<Vec<u8>, Error> {
    let mut request = vec![cmd];
    if let Some(params) = params {
        request.extend(
            cbor::encode(params)
                .map_err(|_| Error::Invalid("request not encodable as CTAP2 CBOR".into()))?,
        );
    }
    Ok(request)
}

/// Sends a request; returns the body after a zero status, or the status as [`Error::Ctap`].
pub(crate) fn send_raw<D: CtapDevice + ?Sized>(
    device: &mut D,
    request: &[u8],
) -> Result<Vec<u8>, Error> {
    let command = request.first().copied().unwrap_or(0);
    let mut response = device.cbor(request)?;
    let Some(&status) = response.first() else {
        return Err(Error::response(
            "empty CTAPHID_CBOR response (no status byte)",
        ));
    };
    if status != 0 {
        return Err(Error::Ctap(CtapError::new(
            StatusCode::from(status),
            command,
        )));
    }
    response.remove(0);
    Ok(response)
}

fn get_info<D: CtapDevice + ?Sized>(device: &mut D) -> Result<Info, Error> {
    Info::parse(&send_raw(device, &[GET_INFO])?)
}
