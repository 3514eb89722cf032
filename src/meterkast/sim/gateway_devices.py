"""The simulated M-Bus devices ``meterkast mbus gateway`` serves, and the keys a decoder needs for them.

An installation (household → gas meter(s) → E-meter) is built with the encrypted P2 link: each gas meter
is installed on the bus the way the E-meter does it [P2-4.0.7 §8.3] — a primary address 1, 2, … and a
user key wrapped with the meter's default key — so a third-party master sees what it would see on a
real DSMR P2 bus: RSP_UD replies in security mode 15 (AES-128-CBC, [P2-4.0.7 §6.2]) that only the user
key opens. ``devices()`` lists, per channel, the address, the secondary address (ident, manufacturer,
version, medium from the long header, EN 13757-3 §5.4) and both keys, so that the user can hand them to
a decoder (``meterkast mbus decode --key``).

The E-meter keeps reading its meters hourly on the same bus, as it would on a tapped real bus; the
meters' frame counters only go up, so both masters' replies stay valid.

Keys in the clear here are deliberate: these are simulated meters, and the keys are the user's own to
decode what the gateway sends (docs/mbus.md, "mbus gateway").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meterkast.errors import InvalidInput
from meterkast.gasmeter.metrology import MeterType
from meterkast.mbus.header import encode_manufacturer, medium_name
from meterkast.mbus.keys import NO_USER_KEY
from meterkast.mbus.virtual import VirtualBus
from meterkast.randomness import RandomSource
from meterkast.sim.household import HouseholdConfig
from meterkast.sim.installation import Installation
from meterkast.sim.installation_commands import AddGasMeter
from meterkast.sim.p2_link import P2GasLink

MAX_GAS_METERS = 4  # E-meter M-Bus channels 1..4 [P2-4.0.7 §3.1.3]
FIRST_NUMBER = 1234567890  # meter numbers G0001<10 digits><yy>, one per extra meter


@dataclass(frozen=True, slots=True)
class DeviceKeys:
    """One device on the bus as a master and a decoder need it."""

    channel: int
    primary_address: int
    meter_number: str
    manufacturer: str
    ident: str  # the 8-digit identification number of the secondary address
    version: int
    medium: int
    user_key: bytes | None  # opens its mode 15 replies (P2 key); None: no key installed, replies in the clear
    default_key: bytes  # wraps a new user key (key change, §6.5)

    @property
    def secondary_address(self) -> str:
        """The 16 hex digits of a SND_UD selection: ident, manufacturer (LSB first as on the wire), version,
        medium, in the order libmbus and pyMeterBus print them (``IIIIIIIIMMMMVVDD``)."""
        code = encode_manufacturer(self.manufacturer)
        return f"{self.ident}{code & 0xFF:02X}{code >> 8:02X}{self.version:02X}{self.medium:02X}"

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "primary_address": self.primary_address,
            "secondary_address": self.secondary_address,
            "meter_number": self.meter_number,
            "manufacturer": self.manufacturer,
            "ident": self.ident,
            "version": self.version,
            "medium": medium_name(self.medium),
            "user_key": None if self.user_key is None else self.user_key.hex().upper(),
            "default_key": self.default_key.hex().upper(),
        }


@dataclass(slots=True)
class GatewayDevices:
    installation: Installation
    link: P2GasLink

    @classmethod
    def build(
        cls,
        start: datetime,
        rng: RandomSource,
        *,
        meter_type: MeterType = MeterType.G4,
        gas_meters: int = 1,
        encrypted: bool = True,
    ) -> GatewayDevices:
        """``encrypted=False``: the E-meter installs no user key, so the meters answer in the clear, as a
        new meter does before its key is set [P2-4.0.7 §8.3] (for masters that cannot decrypt mode 15)."""
        if not 1 <= gas_meters <= MAX_GAS_METERS:
            raise InvalidInput(f"--gas-meters {gas_meters}: an E-meter has M-Bus channels 1..{MAX_GAS_METERS}")
        link = P2GasLink(rng, encrypted=encrypted)
        year = start.year % 100
        more = [
            AddGasMeter(f"G0001{FIRST_NUMBER + n:010d}{year:02d}", meter_type, household=HouseholdConfig())
            for n in range(1, gas_meters)
        ]
        installation = Installation.build(start, rng, meter_type=meter_type, link=link, more_gas_meters=more)
        return cls(installation, link)

    @property
    def bus(self) -> VirtualBus:
        return self.link.bus

    def advance(self, now: datetime) -> None:
        """Bring the meters (and the E-meter's hourly reads) up to ``now``; never back."""
        if now > self.installation.now:
            self.installation.advance(now)

    def devices(self) -> list[DeviceKeys]:
        out = []
        for channel, meter in sorted(self.installation.gas_meters().items()):
            device = self.link.device(channel)
            if device is None:
                continue
            identity = device.meter
            out.append(
                DeviceKeys(
                    channel, device.address, str(meter.meter_number), identity.manufacturer, identity.ident,
                    identity.version, identity.medium, None if device.user_key == NO_USER_KEY else device.user_key,
                    meter.default_key,
                )
            )
        return out
