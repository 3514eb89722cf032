"""A real wired M-Bus through a serial level converter: pyserial at 2400 baud, 8 data bits, even parity,
1 stop bit, fixed at all times [P2-4.0.7 §3.1.4 Table 3]. Blocking pyserial calls run in a worker thread
so the event loop stays free.
"""

from __future__ import annotations

import asyncio

import serial

from meterkast.errors import LinkError

DSMR_P2_BAUD = 2400


class SerialTransport:
    def __init__(self, port: serial.Serial) -> None:
        self.port = port

    @classmethod
    def open(cls, device: str, baud: int = DSMR_P2_BAUD) -> SerialTransport:
        try:
            port = serial.serial_for_url(
                device, baudrate=baud, bytesize=serial.EIGHTBITS, parity=serial.PARITY_EVEN,
                stopbits=serial.STOPBITS_ONE, timeout=0,
            )
        except (serial.SerialException, ValueError) as exc:
            raise LinkError(f"cannot open M-Bus serial port {device}: {exc}") from exc
        return cls(port)

    async def write(self, data: bytes) -> None:
        try:
            await asyncio.to_thread(self._write, data)
        except serial.SerialException as exc:
            raise LinkError(f"M-Bus serial write failed on {self.port.name}: {exc}") from exc

    def _write(self, data: bytes) -> None:
        self.port.reset_input_buffer()
        self.port.write(data)
        self.port.flush()

    async def read(self, max_wait_s: float) -> bytes:
        try:
            return await asyncio.to_thread(self._read, max_wait_s)
        except serial.SerialException as exc:
            raise LinkError(f"M-Bus serial read failed on {self.port.name}: {exc}") from exc

    def _read(self, max_wait_s: float) -> bytes:
        # Wait for the first byte up to max_wait_s, then keep reading until the line is quiet for a few
        # character times (a 255-byte frame takes ≈1.2 s at 2400 baud).
        self.port.timeout = max_wait_s
        first = self.port.read(1)
        if not first:
            return b""
        self.port.timeout = 0.05
        chunks = [first]
        while chunk := self.port.read(256):
            chunks.append(chunk)
        return b"".join(chunks)

    async def close(self) -> None:
        await asyncio.to_thread(self.port.close)
