"""Read P1 telegrams from a TCP bridge or a serial port: ``async for telegram in p1_reader(url)``.

SYSTEM P1, P2; [P1-4.2.2 §5.1] (115200 baud 8N1), [P1-3.0 §5.1] (DSMR 2.2/3: 9600 baud 7E1).

``url`` is ``tcp://host:port`` (ser2net, a P1 dongle, ``meterkast p1 serve``) or a serial device path
(``/dev/ttyUSB0``, the ``/dev/pts/N`` that ``meterkast p1 serve --pty`` prints). Bytes go through the
sans-I/O ``P1Framer`` (or, with a key, the general-global-cipher framer below and ``decrypt_telegram``)
and ``P1Decoder``; the reader yields ``Telegram`` values.

Rules this module keeps:
- a dropped connection is not the end: the reader reconnects with exponential backoff (0.5 s doubling to
  60 s, reset by the next good telegram); the sleeping is injected, so tests do not wait;
- no input ever stops the reader (issue 10): what it cannot use is reported and skipped, and it reads on.
  Telegrams with a bad CRC are skipped (``skip_bad_crc``: the decoder still reads their values, but a
  reader refuses to use them) and counted; telegrams whose frame cannot be read at all, or that have
  no readable line but some unreadable ones, are counted as ``decode_errors``; a telegram with some
  unreadable lines is yielded with them in ``Telegram.errors`` (its other lines are good) and counted
  as ``line_errors``; text between telegrams is skipped and counted (``garbage_bytes``; line ends,
  blanks and NUL padding are not garbage). Each kind is reported through
  ``logging`` at most once per ``report_every_s`` ("37 telegrams with a bad CRC in the last 60 s"),
  timed on an injected monotonic clock;
- end of a connection ends the telegram in progress (a last ``!CRC`` without CR LF is still read; one
  whose ``!`` never came is handled like a bad CRC: reported and skipped, or with ``skip_bad_crc=False``
  yielded with the cut in ``Telegram.errors``);
- with a key, a frame that fails authentication is skipped and reported; three in a row with nothing
  good between them probably mean the key is wrong, which is said (rate-limited) at ERROR level; the
  reader ends with ``AuthenticationError`` only when the caller asks for that (``max_auth_failures``),
  since forged frames on the line must not be able to stop it;
- transports (``io/p1_transport``) are small (``P1Transport``: ``read() -> bytes``, ``b""`` at end of
  stream; ``close()``); ``MemoryTransport`` is the in-memory twin; foreign errors become ``LinkError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field

from meterkast.errors import AuthenticationError, CodecError, LinkError, MeterkastError, ReplayError
from meterkast.io.p1_transport import (
    SERIAL_SETTINGS,
    Connect,
    MemoryTransport,
    P1Transport,
    SerialSettings,
    SerialTransport,
    TcpTransport,
    open_transport,
    serial_settings,
)
from meterkast.p1.cipher_framer import CipherFramer  # also importable from here, where it used to live
from meterkast.p1.crypto import decode_cipher_frame, decrypt_telegram
from meterkast.p1.framer import Frame, P1Framer
from meterkast.p1.plan import P1Decoder
from meterkast.p1.telegram import Telegram

# The transports moved to io/p1_transport.py; they stay importable from here, as CipherFramer does.
__all__ = [
    "MAX_AUTH_FAILURES", "SERIAL_SETTINGS", "SMARTY_AUTHENTICATION_KEY", "CipherFramer", "Connect", "MemoryTransport",
    "P1Transport", "ReaderStats", "SerialSettings", "SerialTransport", "TcpTransport", "open_transport", "p1_reader",
    "serial_settings",
]

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
SMARTY_AUTHENTICATION_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")  # public, Luxembourg Smarty
MAX_AUTH_FAILURES = 3


# -- small sans-I/O helpers ---------------------------------------------------------------------------


@dataclass(slots=True)
class Backoff:
    """Exponential backoff: ``initial_s``, doubling up to ``max_s``; ``reset`` after success."""

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 60.0
    _next: float = field(default=0.0, init=False)

    def next_delay(self) -> float:
        delay = self._next or self.initial_s
        self._next = min(delay * self.factor, self.max_s)
        return delay

    def reset(self) -> None:
        self._next = 0.0


class RateLimitedReport:
    """Says what went wrong at most once per ``every_s`` per kind, with how often it happened."""

    def __init__(self, every_s: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._every_s = every_s
        self._monotonic = monotonic
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {}

    def note(self, kind: str, detail: str, level: int = logging.WARNING) -> None:
        self._count[kind] = self._count.get(kind, 0) + 1
        now = self._monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._every_s:
            return
        count = self._count.pop(kind)
        window = "" if last is None else f" in the last {now - last:.0f} s"
        log.log(level, "P1 reader: %d %s%s (latest: %s)", count, kind, window, detail)
        self._last[kind] = now


# -- the reader ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class ReaderStats:
    telegrams: int = 0
    crc_errors: int = 0
    decode_errors: int = 0
    line_errors: int = 0  # telegrams yielded with some unreadable lines listed in Telegram.errors
    garbage_bytes: int = 0  # bytes outside any telegram that were more than line ends, blanks and NUL
    auth_errors: int = 0
    connects: int = 0
    reconnects: int = 0


class _Decryptor:
    """Cipher frames in, plaintext telegram bytes out; replays and bad tags are skipped and reported."""

    def __init__(
        self, key: bytes, authentication_key: bytes, url: str, report: RateLimitedReport, stats: ReaderStats,
        *, max_failures: int | None = None,
    ) -> None:
        self._key = key
        self._authentication_key = authentication_key
        self._url = url
        self._report = report
        self._stats = stats
        self._framer = CipherFramer()
        self._last_counter: int | None = None
        self._failures = 0
        self._max_failures = max_failures  # None: never end the reader (module docstring)

    def feed(self, data: bytes) -> bytes:
        plain: list[bytes] = []
        for frame in self._framer.feed(data):
            try:
                plain.append(
                    decrypt_telegram(
                        frame,
                        encryption_key=self._key,
                        authentication_key=self._authentication_key,
                        last_invocation_counter=self._last_counter,
                    )
                )
            except Exception as exc:  # a MeterkastError, or a bug: neither may stop the reader
                self._stats.auth_errors += 1
                self._failures += 1
                reason = exc.reason if isinstance(exc, CodecError) else str(exc)
                if isinstance(exc, ReplayError):  # a repeated frame says nothing about the key
                    self._report.note("frames that failed to decrypt", reason)
                    continue
                message = f"{self._failures} frames in a row from {self._url} failed to decrypt; check the key"
                if self._max_failures is not None and self._failures >= self._max_failures:
                    raise AuthenticationError(f"{message} ({reason})") from exc
                if self._failures >= MAX_AUTH_FAILURES:
                    self._report.note("frames that failed to decrypt; check the key", reason, logging.ERROR)
                    continue
                self._report.note("frames that failed to decrypt", reason)
                continue
            # It just decrypted, so it parses; if not, the replay check simply stays where it was.
            with contextlib.suppress(MeterkastError):
                self._last_counter = decode_cipher_frame(frame).invocation_counter
            self._failures = 0
        return b"".join(plain)


class _Session:
    """One connection's bytes → telegrams: decryption, framing, CRC, decoding; problems are reported."""

    def __init__(
        self, decryptor: _Decryptor | None, decoder: P1Decoder, report: RateLimitedReport, stats: ReaderStats, *,
        skip_bad_crc: bool,
    ) -> None:  # fmt: skip
        self._decryptor = decryptor
        self._framer = P1Framer()
        self._decoder = decoder
        self._report = report
        self._stats = stats
        self._skip_bad_crc = skip_bad_crc

    def feed(self, data: bytes) -> list[Telegram]:
        """The telegrams completed by ``data``; never raises for what arrives (module docstring)."""
        if self._decryptor is not None:
            data = self._decryptor.feed(data)
        before = self._framer.counters.noise_bytes
        frames = self._framer.feed(data)
        self._noise(before)
        return self._decode(frames)

    def _noise(self, before: int) -> None:
        """Text between telegrams (line noise, a second device on the line) is counted and reported."""
        noise = self._framer.counters.noise_bytes - before
        if noise:
            self._stats.garbage_bytes += noise
            self._report.note("stretches of garbage between telegrams", f"{noise} bytes: {self._framer.last_noise!r}")

    def flush(self) -> list[Telegram]:
        """End of the connection: the telegram in progress, if its ``!`` arrived; one cut off before it
        is, like one with a bad CRC, not verified: yielded with the cut as a problem only when bad CRCs
        are (``skip_bad_crc=False``), else counted and reported."""
        before, noise = self._framer.counters.truncated, self._framer.counters.noise_bytes
        frames = self._framer.flush(cut=not self._skip_bad_crc)
        self._noise(noise)
        if self._skip_bad_crc and self._framer.counters.truncated > before:
            self._report.note("telegrams cut off at the end of a connection", "no '!' before the connection closed")
        return self._decode(frames)

    def _decode(self, frames: list[Frame]) -> list[Telegram]:
        telegrams: list[Telegram] = []
        for frame in frames:
            if frame.crc_ok is False:
                self._stats.crc_errors += 1
                sent = "a damaged or missing CRC" if frame.crc is None else f"sent {frame.crc:04X}"
                self._report.note("telegrams with a bad CRC", sent)
                if self._skip_bad_crc:
                    continue
            try:
                telegram = self._decoder.decode(frame.data)
            except MeterkastError as exc:
                self._stats.decode_errors += 1
                self._report.note("telegrams that could not be decoded", str(exc))
                continue
            except Exception as exc:  # a decoder bug must not stop the reader either
                self._stats.decode_errors += 1
                self._report.note("telegrams that could not be decoded", f"internal error {exc!r}", logging.ERROR)
                continue
            if telegram.errors and not telegram.values:  # e.g. noise between a "/" and a "!": nothing to use
                self._stats.decode_errors += 1
                first = telegram.errors[0]
                self._report.note("telegrams that could not be decoded", f"line {first.line}: {first.reason}")
                continue
            if telegram.errors:
                self._stats.line_errors += 1
                first = telegram.errors[0]
                self._report.note(
                    "telegrams with unreadable lines", f"line {first.line} {first.text!r}: {first.reason}"
                )
            telegrams.append(telegram)
        self._stats.telegrams += len(telegrams)
        return telegrams


async def p1_reader(
    url: str,
    key: bytes | None = None,
    *,
    authentication_key: bytes = SMARTY_AUTHENTICATION_KEY,
    version: str = "4",
    baud: int | None = None,
    skip_bad_crc: bool = True,
    max_reconnects: int | None = None,
    connect: Connect = open_transport,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    backoff: Backoff | None = None,
    report_every_s: float = 60.0,
    stats: ReaderStats | None = None,
    max_auth_failures: int | None = None,
) -> AsyncGenerator[Telegram, None]:
    """Telegrams from ``url`` until cancelled, or until ``max_reconnects`` attempts in a row have failed.

    ``version`` picks the serial settings (2.2: 9600 7E1; 4, 4.2, 5: 115200 8N1); ``baud`` overrides the
    speed. ``key`` (16 bytes) turns on AES-128-GCM decryption with ``authentication_key``; with
    ``max_auth_failures`` that many frames in a row failing to decrypt end the reader (a wrong key).
    """
    settings = serial_settings(version, baud)
    backoff = backoff if backoff is not None else Backoff()
    report = RateLimitedReport(report_every_s, monotonic)
    stats = stats if stats is not None else ReaderStats()
    decoder = P1Decoder()
    failures = 0
    while True:
        try:
            transport = await connect(url, settings)
            stats.connects += 1
            try:
                decryptor = None if key is None else _Decryptor(key, authentication_key, url, report, stats,
                                                                max_failures=max_auth_failures)
                session = _Session(decryptor, decoder, report, stats, skip_bad_crc=skip_bad_crc)
                while data := await transport.read():
                    for telegram in session.feed(data):
                        failures = 0
                        backoff.reset()
                        yield telegram
                for telegram in session.flush():
                    yield telegram
                raise LinkError(f"{url} closed the connection")
            finally:
                await transport.close()
        except LinkError as exc:
            failures += 1
            if max_reconnects is not None and failures > max_reconnects:
                tries = f"{max_reconnects} retr{'y' if max_reconnects == 1 else 'ies'}"
                raise LinkError(f"{exc} (gave up after {tries})") from exc
            delay = backoff.next_delay()
            # Said each time, with why and how many: a reader that retries silently looks hung (issue 13).
            limit = "no limit" if max_reconnects is None else f"of {max_reconnects}"
            log.warning("P1 reader: %s; retry %d (%s) in %.1f s", exc, failures, limit, delay)
            stats.reconnects += 1
        await sleep(delay)
