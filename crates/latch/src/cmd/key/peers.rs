//! Who each reply of `latch key run` goes to. Over USB every client reads the reports of its
//! own channel; over UDP a reply must be sent to the address that spoke on its channel, not
//! to whoever sent the last datagram (a second client would otherwise read the first one's
//! answers, keepalives included). An INIT answered on the broadcast channel goes to the
//! sender of its nonce.

use std::net::SocketAddr;

const BROADCAST: u32 = 0xFFFF_FFFF;
const INIT: u8 = 0x86;
/// Remembered channels (and INIT nonces); the least recently heard is forgotten first.
const REMEMBERED: usize = 64;

/// A channel id, and for an INIT frame on the broadcast channel, its nonce.
type Route = (u32, Option<[u8; 8]>);

/// The report's channel id and, for an INIT frame, its nonce.
fn channel_and_nonce(report: &[u8]) -> Option<Route> {
    let cid = u32::from_be_bytes(report.get(..4)?.try_into().ok()?);
    let nonce = (report.get(4) == Some(&INIT))
        .then(|| report.get(7..15)?.try_into().ok())
        .flatten();
    Some((cid, nonce))
}

#[derive(Debug, Default)]
pub struct Peers {
    /// (channel id, or the broadcast channel with an INIT nonce) → sender, most recent last.
    heard: Vec<(Route, SocketAddr)>,
}

impl Peers {
    /// A report arrived from `from`.
    pub fn heard(&mut self, report: &[u8], from: SocketAddr) {
        let Some((cid, nonce)) = channel_and_nonce(report) else {
            return;
        };
        // Only a broadcast INIT is told apart by its nonce; any other frame by its channel.
        let key = (cid, nonce.filter(|_| cid == BROADCAST));
        self.heard.retain(|(k, _)| *k != key);
        self.heard.push((key, from));
        if self.heard.len() > REMEMBERED {
            self.heard.remove(0);
        }
    }

    /// Where the reply `report` goes: the sender of its channel (or of its INIT nonce).
    pub fn destination(&self, report: &[u8]) -> Option<SocketAddr> {
        let (cid, nonce) = channel_and_nonce(report)?;
        let key = (cid, nonce.filter(|_| cid == BROADCAST));
        self.heard
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, addr)| *addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(cid: u32, cmd: u8, nonce: [u8; 8]) -> [u8; 64] {
        let mut r = [0u8; 64];
        r[..4].copy_from_slice(&cid.to_be_bytes());
        r[4] = cmd;
        r[6] = 8;
        r[7..15].copy_from_slice(&nonce);
        r
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn replies_go_to_their_channel_s_sender() {
        let mut peers = Peers::default();
        peers.heard(&frame(7, 0x90, [0; 8]), addr(1));
        peers.heard(&frame(9, 0x90, [0; 8]), addr(2));
        assert_eq!(peers.destination(&frame(7, 0x90, [0; 8])), Some(addr(1)));
        assert_eq!(peers.destination(&frame(9, 0xBB, [0; 8])), Some(addr(2)));
        assert_eq!(peers.destination(&frame(8, 0x90, [0; 8])), None);
        // The channel moved to another address: replies follow it.
        peers.heard(&frame(7, 0x90, [0; 8]), addr(3));
        assert_eq!(peers.destination(&frame(7, 0x90, [0; 8])), Some(addr(3)));
    }

    #[test]
    fn broadcast_inits_are_answered_by_nonce() {
        let mut peers = Peers::default();
        peers.heard(&frame(BROADCAST, INIT, [1; 8]), addr(1));
        peers.heard(&frame(BROADCAST, INIT, [2; 8]), addr(2));
        assert_eq!(
            peers.destination(&frame(BROADCAST, INIT, [1; 8])),
            Some(addr(1))
        );
        assert_eq!(
            peers.destination(&frame(BROADCAST, INIT, [2; 8])),
            Some(addr(2))
        );
    }

    #[test]
    fn only_so_many_are_remembered() {
        let mut peers = Peers::default();
        for cid in 0..200u32 {
            peers.heard(&frame(cid, 0x90, [0; 8]), addr(1));
        }
        assert_eq!(peers.heard.len(), REMEMBERED);
        assert_eq!(peers.destination(&frame(0, 0x90, [0; 8])), None);
        assert_eq!(peers.destination(&frame(199, 0x90, [0; 8])), Some(addr(1)));
        peers.heard(&[1, 2], addr(1));
        assert_eq!(peers.destination(&[1]), None);
    }
}
