"""python-fido2 over UDP: one 64-byte HID report per datagram, no kernel HID involved.

`open_device(addr)` returns an unmodified `fido2.hid.CtapHidDevice` whose connection is a
`CtapHidConnection` subclass writing and reading datagrams.
"""

import socket

from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor

REPORT_SIZE = 64


class UdpHidConnection(CtapHidConnection):
    """A CtapHidConnection whose reports travel as UDP datagrams."""

    def __init__(self, address, timeout=35.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(address)
        self.sock.settimeout(timeout)

    def read_packet(self) -> bytes:
        return self.sock.recv(REPORT_SIZE)

    def write_packet(self, data: bytes) -> None:
        self.sock.send(data)

    def close(self) -> None:
        self.sock.close()


def open_device(address) -> CtapHidDevice:
    host, port = address
    descriptor = HidDescriptor(
        path=f"udp:{host}:{port}",
        vid=0x1209,
        pid=0x4C54,
        report_size_in=REPORT_SIZE,
        report_size_out=REPORT_SIZE,
        product_name="Latch software key",
        serial_number=None,
    )
    connection = UdpHidConnection(address)
    try:
        return CtapHidDevice(descriptor, connection)
    except Exception:
        connection.close()
        raise
