"""The COSEM TCP wrapper (IEC 62056-47; DSMR P3 §3.1 "COSEM Wrapper", port 4059) and a sans-I/O framer.

Every APDU on the TCP connection is preceded by an 8-byte header of four Unsigned16, big-endian:
version (0x0001), source wPort, destination wPort, length of the APDU that follows. The wPorts are the
client and server SAPs: DSMR's management client is 1, the public client 16, the pre-established client
102 (P3 §2.1); the E-meter's management logical device is 1.

The framer (STYLE 7) takes any chunking of the byte stream and returns whole ``WrapperFrame``s. TCP does
not lose or reorder bytes, so garbage only appears when the peer is broken; a header whose version is
not 0x0001 is skipped one byte at a time (counted in ``stats.skipped_bytes``) until a plausible header is
found, so the framer never raises for what arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from meterkast.errors import FrameError, InvalidInput

WRAPPER_VERSION = 1
HEADER_SIZE = 8
DLMS_TCP_PORT = 4059
MANAGEMENT_CLIENT = 1
PUBLIC_CLIENT = 16
PRE_ESTABLISHED_CLIENT = 102
MANAGEMENT_LOGICAL_DEVICE = 1
_VERSION_BYTES = WRAPPER_VERSION.to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class WrapperFrame:
    source_wport: int
    destination_wport: int
    apdu: bytes

    def __post_init__(self) -> None:
        for name in ("source_wport", "destination_wport"):
            if not 0 <= getattr(self, name) <= 0xFFFF:
                raise InvalidInput(f"{name} {getattr(self, name)} must be 0..65535")
        if len(self.apdu) > 0xFFFF:
            raise InvalidInput(f"an APDU of {len(self.apdu)} bytes does not fit the wrapper's 16-bit length")


def encode_wrapper(frame: WrapperFrame) -> bytes:
    return (_VERSION_BYTES + frame.source_wport.to_bytes(2, "big") + frame.destination_wport.to_bytes(2, "big")
            + len(frame.apdu).to_bytes(2, "big") + frame.apdu)


def decode_wrapper(data: bytes) -> WrapperFrame:
    """Exactly one wrapped APDU."""
    if len(data) < HEADER_SIZE:
        raise FrameError(f"wrapper header needs {HEADER_SIZE} bytes, got {len(data)}", offset=0)
    if data[:2] != _VERSION_BYTES:
        raise FrameError(f"wrapper version {data[:2].hex().upper()}, expected 0001 (IEC 62056-47)", offset=0)
    length = int.from_bytes(data[6:8], "big")
    if len(data) != HEADER_SIZE + length:
        raise FrameError(f"wrapper announces {length} APDU bytes, {len(data) - HEADER_SIZE} follow", offset=6)
    return WrapperFrame(int.from_bytes(data[2:4], "big"), int.from_bytes(data[4:6], "big"), data[HEADER_SIZE:])


@dataclass(slots=True)
class WrapperStats:
    frames: int = 0
    skipped_bytes: int = 0


class WrapperFramer:
    """Bytes in, frames out; keeps the remainder between calls."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.stats = WrapperStats()

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[WrapperFrame]:
        self._buffer += data
        frames: list[WrapperFrame] = []
        buffer = self._buffer
        pos = 0
        while len(buffer) - pos >= 2:
            if buffer[pos : pos + 2] != _VERSION_BYTES:
                pos += 1
                self.stats.skipped_bytes += 1
                continue
            if len(buffer) - pos < HEADER_SIZE:
                break
            length = int.from_bytes(buffer[pos + 6 : pos + 8], "big")
            end = pos + HEADER_SIZE + length
            if end > len(buffer):
                break
            frames.append(WrapperFrame(int.from_bytes(buffer[pos + 2 : pos + 4], "big"),
                                       int.from_bytes(buffer[pos + 4 : pos + 6], "big"),
                                       bytes(buffer[pos + HEADER_SIZE : end])))
            pos = end
        if len(buffer) - pos == 1 and buffer[pos] != _VERSION_BYTES[0]:
            pos += 1  # a lone byte that cannot start a header
            self.stats.skipped_bytes += 1
        del buffer[:pos]
        self.stats.frames += len(frames)
        return frames
