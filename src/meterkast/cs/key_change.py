"""Key changes the central system drives over P3: the E-meter's own keys and its gas meters' P2 user keys
(issue 6, SYSTEM C4; P3 §5.1 footnote 4, DSMR-M 4.4.14; P2-4.0.7 §6.5.1, DSMR-FACTS §2.5). ``KeyChanges`` is a
part of ``cs.service.CentralSystem``; the store-side helpers below are plain functions of the ``Store``.

Key change (``rotate_keys(emeter)``): new keys from ``rng``, stored sealed as *pending* before the transfer,
sent with ``global_key_transfer`` wrapped under the meter's master key (``KeyKind.P3_MASTER``), and stored as
the meter's keys once it confirmed. Whatever fails in between, a later contact settles it: it reads with the
current keys and, if the meter refuses them (``AuthenticationError``) while a pending pair is outstanding,
with the pending pair, which then becomes current (``settle_keys``); a meter that still answers to the
current keys never took the pending ones, which are retired.

Gas meter key change (``rotate_gas_meter_key(emeter, channel)``): a new user key from ``rng``, sealed as
pending (``KeyKind.P2_USER_PENDING``, under the gas meter's equipment id), wrapped with the gas meter's
default key (``KeyKind.P2_DEFAULT``, ``store_gas_meter_default_key``) and given to the E-meter's M-Bus client
setup 0-x:24.1.0 with ``transfer_key`` then ``set_encryption_key``; stored as the gas meter's ``P2_USER`` once
the E-meter acknowledged both. An acknowledgement means the E-meter received the methods (P3 §3.5), not that
the gas meter took the key: a change that went wrong on P2 shows up as M-Bus communication errors of that
channel (alarm register, M-Bus event log). A rotation that failed before both acknowledgements leaves its key
pending, and the next ``rotate_gas_meter_key`` sends that same key again: the gas meter accepts *Set new key*
unencrypted whatever key it holds [§6.5], so repeating it brings gas meter and E-meter to the same key
wherever the first attempt stopped.

Rules this module keeps: a key is sealed in the store before it is sent, so no key the meter may hold is
ever lost; pending keys are never overwritten while the meter may be using them; no contact runs during a
key change (the service's step lock); the store helpers block and run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from meterkast.central.model import KeyKind
from meterkast.central.store import Store
from meterkast.clock import Clock
from meterkast.cs.collect import change_gas_meter_key, rotate
from meterkast.cs.inventory import MeterEntry
from meterkast.dlms import SecurityKeys
from meterkast.errors import CommandRefused, InvalidInput, MeterkastError
from meterkast.mbus.keys import check_key, generate_user_key, wrap_user_key
from meterkast.randomness import RandomSource

if TYPE_CHECKING:
    from meterkast.cosem.client import P3Client, Procedure

log = logging.getLogger("meterkast.cs")
T = TypeVar("T")
CURRENT_KEYS = (KeyKind.P3_ENCRYPTION, KeyKind.P3_AUTHENTICATION)
PENDING_KEYS = (KeyKind.P3_ENCRYPTION_PENDING, KeyKind.P3_AUTHENTICATION_PENDING)


# -- the store side (blocking: called in a worker thread) ------------------------------------------------


def keep_keys(store: Store, emeter: str, keys: SecurityKeys, at: datetime,
              kinds: tuple[KeyKind, KeyKind] = CURRENT_KEYS) -> None:
    """Seal ``keys`` as the meter's ``kinds``; a key the store already holds is not written again."""
    for kind, key in zip(kinds, (keys.encryption_key, keys.authentication_key), strict=True):
        try:
            if store.get_key(emeter, kind) == key:
                continue
        except InvalidInput:  # none stored yet
            pass
        store.put_key(emeter, kind, key, at)


def p3_keys(store: Store, emeter: str) -> tuple[SecurityKeys, SecurityKeys | None]:
    """The meter's current keys, and the pending pair of an unconfirmed key change (None if settled)."""
    current = _pair(store, emeter, CURRENT_KEYS)
    try:
        pending = _pair(store, emeter, PENDING_KEYS)
    except InvalidInput:  # never rotated
        return current, None
    return current, None if pending == current else pending


def settle_keys(store: Store, emeter: str, keys: SecurityKeys, at: datetime) -> None:
    """The meter answered to ``keys``: they are its current keys, and nothing is pending any more."""
    keep_keys(store, emeter, keys, at)
    keep_keys(store, emeter, keys, at, PENDING_KEYS)


def _pair(store: Store, emeter: str, kinds: tuple[KeyKind, KeyKind]) -> SecurityKeys:
    return SecurityKeys(*(store.get_key(emeter, kind) for kind in kinds))


def _prepare_rotation(store: Store, emeter: str, new: SecurityKeys, at: datetime) -> tuple[SecurityKeys, bytes]:
    """(the keys to open the session with, the master key); ``new`` is sealed as pending before it is sent."""
    keys, pending = p3_keys(store, emeter)
    if pending is not None:
        raise InvalidInput(f"an earlier key change of E-meter {emeter} is unconfirmed; a contact settles it "
                           f"(the next step), then rotate again")
    kek = store.get_key(emeter, KeyKind.P3_MASTER)
    keep_keys(store, emeter, new, at, PENDING_KEYS)
    return keys, kek


def _prepare_gas_rotation(store: Store, emeter: str, channel: int, candidate: bytes,
                          at: datetime) -> tuple[str, bytes, bytes, SecurityKeys]:
    """(gas meter, user key to send, the key wrapped MSB first, the E-meter's P3 keys); the key is the
    pending one of an unconfirmed change, else ``candidate``, sealed as pending before it is sent."""
    coupling = store.gas_meter_at(emeter, channel, at)
    if coupling is None:
        raise InvalidInput(f"no gas meter is coupled on channel {channel} of E-meter {emeter} at {at.isoformat()}")
    gas = coupling.gas_meter
    default_key = store.get_key(gas, KeyKind.P2_DEFAULT)
    try:
        pending: bytes | None = store.get_key(gas, KeyKind.P2_USER_PENDING)
    except InvalidInput:  # never changed
        pending = None
    with contextlib.suppress(InvalidInput):
        if pending == store.get_key(gas, KeyKind.P2_USER):
            pending = None  # settled
    if pending is None:
        pending = candidate
        store.put_key(gas, KeyKind.P2_USER_PENDING, pending, at)
    else:
        log.warning("gas meter %s has an unconfirmed P2 key change; sending that key again", gas)
    keys, _ = p3_keys(store, emeter)
    return gas, pending, wrap_user_key(default_key, pending), keys


# -- the service side ------------------------------------------------------------------------------------


class KeyChanges:
    """The key changes of ``CentralSystem`` (module docstring); it provides what is declared here."""

    store: Store
    clock: Clock
    rng: RandomSource
    entries: dict[str, MeterEntry]
    _one_step: asyncio.Lock

    if TYPE_CHECKING:  # CentralSystem's P3 session over a fresh link, shared with its contacts
        def _client(self, entry: MeterEntry, keys: SecurityKeys) -> P3Client: ...

        async def _run(self, entry: MeterEntry, client: P3Client, procedure: Procedure[T]) -> T: ...

    def _p3_keys(self, emeter: str) -> tuple[SecurityKeys, SecurityKeys | None]:
        """``p3_keys`` of this service's store (tests ask it what the CS holds for a meter)."""
        return p3_keys(self.store, emeter)

    def store_master_key(self, emeter: str, master_key: bytes, at: datetime) -> None:
        """Seal the E-meter's master key (KEK) that wraps new P3 keys; it never changes (DSMR-M 4.4.14)."""
        if len(master_key) != 16:
            raise InvalidInput(f"the master key of {emeter} must be 16 bytes (AES-128 key wrap), got {len(master_key)}")
        self.store.put_key(emeter, KeyKind.P3_MASTER, master_key, at)

    async def rotate_keys(self, emeter: str, now: datetime | None = None) -> SecurityKeys:
        """Give the E-meter new global keys (both), made from ``rng``; returns them once the meter confirmed.

        The new pair is sealed as pending first, so a confirmation lost on the way (the meter swapped, the
        CS never heard) is recovered by the next contact; it becomes the current pair only after the meter
        confirmed. No contact runs meanwhile (the step lock). A refusal or a failure raises, with the
        meter's state as far as it is known logged; an unconfirmed earlier change must be settled by a
        contact (``step``) first, so pending keys are never overwritten while the meter may be using them.
        """
        entry = self.entries.get(emeter)
        if entry is None:
            raise InvalidInput(f"E-meter {emeter} is not enrolled in this central system")
        moment = now or self.clock.now()
        new = SecurityKeys(*(self.rng.getrandbits(128).to_bytes(16, "big") for _ in range(2)))
        async with self._one_step:
            keys, kek = await asyncio.to_thread(_prepare_rotation, self.store, emeter, new, moment)
            client = self._client(entry, keys)
            try:
                await self._run(entry, client, rotate(client, new, kek))
            except MeterkastError as exc:
                if client.keys == new:  # confirmed; what failed came after the ACK
                    await asyncio.to_thread(settle_keys, self.store, emeter, new, moment)
                    log.warning("E-meter %s took its new keys; the rest of that session failed: %s", emeter, exc)
                    return new
                if isinstance(exc, CommandRefused):  # answered under the old keys: it keeps them for sure
                    await asyncio.to_thread(settle_keys, self.store, emeter, keys, moment)
                log.error("key change of E-meter %s failed: %s: %s", emeter, type(exc).__name__, exc)
                raise
            await asyncio.to_thread(settle_keys, self.store, emeter, new, moment)
        log.info("E-meter %s has new P3 keys", emeter)
        return new

    def store_gas_meter_default_key(self, gas_meter: str, default_key: bytes, at: datetime) -> None:
        """Seal a gas meter's default key (delivered by its manufacturer); it only wraps new user keys and never
        changes [P2-4.0.7 §6.5]. Storing the same key again stores nothing."""
        key = check_key(f"default key of gas meter {gas_meter}", default_key)
        with contextlib.suppress(InvalidInput):  # none stored yet
            if self.store.get_key(gas_meter, KeyKind.P2_DEFAULT) == key:
                return
        self.store.put_key(gas_meter, KeyKind.P2_DEFAULT, key, at)

    async def rotate_gas_meter_key(self, emeter: str, channel: int, now: datetime | None = None) -> bytes:
        """Give the gas meter on ``channel`` of ``emeter`` a new P2 user key through the E-meter; returns the key
        once the E-meter acknowledged ``transfer_key`` and ``set_encryption_key`` (module docstring)."""
        entry = self.entries.get(emeter)
        if entry is None:
            raise InvalidInput(f"E-meter {emeter} is not enrolled in this central system")
        moment = now or self.clock.now()
        candidate = generate_user_key(self.rng)
        async with self._one_step:
            gas, user_key, wrapped, keys = await asyncio.to_thread(
                _prepare_gas_rotation, self.store, emeter, channel, candidate, moment)
            client = self._client(entry, keys)
            try:
                await self._run(entry, client, change_gas_meter_key(client, channel, wrapped, user_key))
            except MeterkastError as exc:
                log.error("P2 key change of gas meter %s (channel %d of %s) failed, its new key stays pending: "
                          "%s: %s", gas, channel, emeter, type(exc).__name__, exc)
                raise
            await asyncio.to_thread(self.store.put_key, gas, KeyKind.P2_USER, user_key, moment)
        log.info("gas meter %s on channel %d of %s has a new P2 user key", gas, channel, emeter)
        return user_key
