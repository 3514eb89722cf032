"""P0, the factory port: program identity and keys at manufacture, then disabled for good (seed §8 "P0").

The port is a one-way state machine: OPEN → (program any number of times) → DISABLED. Every call after
``disable`` raises :class:`PortDisabled`; nothing re-opens it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from meterkast.errors import InvalidInput, PortDisabled
from meterkast.gasmeter.identity import MeterNumber, parse_meter_number

KEY_BYTES = 16


@dataclass(frozen=True, slots=True)
class FactorySettings:
    meter_number: MeterNumber
    default_key: bytes
    initial_index_m3: Decimal


@dataclass(slots=True)
class FactoryPort:
    _settings: FactorySettings | None = None
    _disabled: bool = field(default=False)

    @property
    def disabled(self) -> bool:
        return self._disabled

    @property
    def settings(self) -> FactorySettings:
        if self._settings is None:
            raise InvalidInput("the meter was never programmed through P0: no identity or keys")
        return self._settings

    def program(
        self, meter_number: str, default_key: bytes, initial_index_m3: Decimal = Decimal(0)
    ) -> FactorySettings:
        self._refuse_if_disabled("program")
        if len(default_key) != KEY_BYTES:
            raise InvalidInput(
                f"default key has {len(default_key)} bytes; DSMR P2 keys are AES-128, 16 bytes [P2-4.0.7 §6.5]"
            )
        if initial_index_m3 < 0:
            raise InvalidInput(f"initial index {initial_index_m3} m³ is negative; a register starts at 0 or above")
        self._settings = FactorySettings(parse_meter_number(meter_number), bytes(default_key), initial_index_m3)
        return self._settings

    def disable(self) -> None:
        self._refuse_if_disabled("disable")
        if self._settings is None:
            raise InvalidInput("P0 cannot be disabled before the meter is programmed")
        self._disabled = True

    def _refuse_if_disabled(self, action: str) -> None:
        if self._disabled:
            raise PortDisabled(
                f"P0 {action} refused: the factory port was disabled for good after manufacture "
                "(seed §8); identity and default key can no longer change"
            )
