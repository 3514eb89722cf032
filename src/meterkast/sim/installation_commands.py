"""The commands an installation takes (imperative, STYLE 8): what happens to the meter cupboard, and when.

``Installation.handle`` carries one out now; ``Installation.schedule`` (a scenario's timeline, the live
session's control surface) at a later instant. ``meterkast.sim.installation`` re-exports every name here.

Rules this module keeps:
- plain frozen data, so commands pickle (the live store keeps them; an installation snapshot holds the
  scheduled ones). Pickles name this module: moving a command again breaks stored runs;
- a command aimed at a gas meter takes ``channel`` (None: supply 1's meter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from meterkast.emeter.readings import ValveAction
from meterkast.errors import InvalidInput
from meterkast.gasmeter import commands as gas_commands
from meterkast.gasmeter.metrology import MeterType
from meterkast.gasmeter.variant import GasMeterVariant
from meterkast.sim.household import HouseholdConfig
from meterkast.units import ZERO

P2_FAULT_KINDS = ("no_reply", "late_reply", "drop_byte", "flip_bit", "echo")  # fields of mbus.virtual.BusFaults


@dataclass(frozen=True, slots=True)
class ReplaceGasMeter:
    """The grid operator swaps a gas meter: a new meter (new equipment id) on the same channel."""

    meter_number: str
    meter_type: MeterType | None = None  # None: the same type as the old meter
    initial_index_m3: Decimal = ZERO
    channel: int | None = None
    default_key: bytes | None = None  # None: drawn from the rng, as the factory would


@dataclass(frozen=True, slots=True)
class DecoupleGasMeter:
    """A gas meter is decoupled from the E-meter (and no longer driven by its household)."""

    channel: int | None = None


@dataclass(frozen=True, slots=True)
class CoupleGasMeter:
    """A gas meter is installed on supply 1 (the house) and coupled on the first free channel (SYSTEM M3)."""

    meter_number: str
    meter_type: MeterType = MeterType.G4
    initial_index_m3: Decimal = ZERO
    default_key: bytes | None = None


@dataclass(frozen=True, slots=True)
class AddGasMeter:
    """A further gas supply with its own meter and household, coupled on the first free channel (SYSTEM M3)."""

    meter_number: str
    meter_type: MeterType = MeterType.G4
    initial_index_m3: Decimal = ZERO
    household: HouseholdConfig | None = None  # None: a meter on a line that uses no gas
    default_key: bytes | None = None
    variant: GasMeterVariant | None = None  # None: the installation's (``Installation.build(gas_variant=…)``)


@dataclass(frozen=True, slots=True)
class OperateGasMeter:
    """Something done to a gas meter itself (press its button, break its seal, drain its battery)."""

    command: gas_commands.Command
    channel: int | None = None


@dataclass(frozen=True, slots=True)
class SendValveCommand:
    """The central system asks the E-meter to operate a gas valve: always refused and logged (SYSTEM G12, E4)."""

    action: ValveAction
    channel: int | None = None


@dataclass(frozen=True, slots=True)
class PowerDown:
    """Mains power fails: the E-meter stops (the gas meters run on their batteries)."""


@dataclass(frozen=True, slots=True)
class PowerUp:
    """Mains power returns."""


@dataclass(frozen=True, slots=True)
class ShiftEMeterClock:
    """The E-meter's clock ends up ``seconds`` off (drift, corrected or not): applied as a clock adjustment,
    which the E-meter logs (events 4/5) beyond its 60 s shift limit."""

    seconds: float


@dataclass(frozen=True, slots=True)
class DriftGasMeterClock:
    """A gas meter's own clock runs ``seconds`` ahead (negative: behind) of true time from now on."""

    seconds: float
    channel: int | None = None


@dataclass(frozen=True, slots=True)
class SynchronizeGasMeterClock:
    """The E-meter sets a gas meter's clock to its own time over P2 (CI 6C) [P2-4.0.7 §6.2]."""

    channel: int | None = None


@dataclass(frozen=True, slots=True)
class SetTextMessage:
    """The supplier's text on P1 (0-0:96.13.0) and its code (0-0:96.13.1)."""

    text: str
    code: str = ""


@dataclass(frozen=True, slots=True)
class SetP2Fault:
    """One kind of wired M-Bus fault (``P2_FAULT_KINDS``) at ``probability`` (0 clears it); needs a P2GasLink."""

    kind: str
    probability: float

    def __post_init__(self) -> None:
        if self.kind not in P2_FAULT_KINDS:
            raise InvalidInput(f"P2 fault {self.kind!r} is not one of {', '.join(P2_FAULT_KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise InvalidInput(f"P2 fault probability {self.probability} must lie between 0 and 1")


@dataclass(frozen=True, slots=True)
class SetP2WrongKey:
    """The E-meter holds a wrong P2 user key for a channel (``wrong`` False restores it); needs a P2GasLink."""

    wrong: bool = True
    channel: int | None = None


@dataclass(frozen=True, slots=True)
class TransferMbusKey:
    """P3 ``transfer_key`` on 0-x:24.1.0: relay a user key wrapped with the gas meter's default key over P2.

    ``wrapped`` is LSB first, as the E-meter turned P3's octet string (P3-4.2.2 §3.2.3.1); needs a P2GasLink.
    """

    channel: int
    wrapped: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SetMbusUserKey:
    """P3 ``set_encryption_key`` on 0-x:24.1.0: the E-meter reads the channel with this user key from now on
    (beside the old one until a reply decrypts with it); needs a P2GasLink."""

    channel: int
    user_key: bytes = field(repr=False)


Command = (
    ReplaceGasMeter | DecoupleGasMeter | CoupleGasMeter | AddGasMeter | OperateGasMeter | SendValveCommand
    | PowerDown | PowerUp | ShiftEMeterClock | DriftGasMeterClock | SynchronizeGasMeterClock | SetTextMessage
    | SetP2Fault | SetP2WrongKey | TransferMbusKey | SetMbusUserKey
)  # fmt: skip
