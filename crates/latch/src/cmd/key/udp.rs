//! A CTAPHID [`Transport`] over UDP: one 64-byte datagram per HID report, as `latch key run`
//! and the python-fido2 socket bridge speak it.

use std::io;
use std::net::{ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use latch_ctap::client::Transport;
use latch_ctap::hid::{Report, REPORT_LEN};

/// A connected UDP socket to one key.
#[derive(Debug)]
pub struct UdpTransport {
    socket: UdpSocket,
}

impl UdpTransport {
    /// Binds an ephemeral local port and connects it to `addr` (e.g. `127.0.0.1:8111`).
    pub fn connect(addr: &str) -> io::Result<Self> {
        let target = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{addr}: no address"))
        })?;
        let local = if target.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let socket = UdpSocket::bind(local)?;
        socket.connect(target)?;
        Ok(Self { socket })
    }
}

impl Transport for UdpTransport {
    fn send(&mut self, report: &Report) -> io::Result<()> {
        let sent = self.socket.send(report)?;
        if sent != REPORT_LEN {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("sent {sent} of {REPORT_LEN} bytes"),
            ));
        }
        Ok(())
    }

    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Report>> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 2048];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // A zero read timeout means "block forever" to the OS.
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            match self.socket.recv(&mut buf) {
                Ok(n) => {
                    // Datagrams of any other size are not reports: skip them.
                    if let Some(report) = buf.get(..n).and_then(|b| Report::try_from(b).ok()) {
                        return Ok(Some(report));
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None)
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    return Err(io::Error::new(
                        e.kind(),
                        "nothing is listening there (is `latch key run` running?)",
                    ))
                }
                Err(e) => return Err(e),
            }
        }
    }
}
