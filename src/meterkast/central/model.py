"""What the central system stores: connections, meters, consent, readings, alarms and P4 (SYSTEM C1–C3).

Rules this module keeps:
- every record is a frozen dataclass that validates itself; instants must be aware and are kept in UTC
  (a naive datetime raises ClockError naming it), volumes are ``Decimal`` m³, never float (STYLE 13);
- a connection is named by its 18-digit EAN code whose last digit is the GS1 check digit, as in the
  Dutch EAN codeboek (SYSTEM C3, DSMR-FACTS §5 "address → EAN lookup");
- meters are named by their 17-character equipment identifier (SYSTEM G13, [P2-4.0.7 §6.4.1]);
- a gas reading is keyed by (connection, gas meter, period type, capture time): a replaced gas meter
  keeps its readings under its own identifier (SYSTEM M3); the channel is where it hung at the time;
- ``PeriodType`` is the E-meter's own (OSGP vocabulary): INTERVAL = hourly profile 0-x:24.3.0,
  DAILY = 1-0:99.2.0, MONTHLY = 0-0:98.1.0 [P3-4.2.2 §7.4, §6.3, §5.5] (DSMR-FACTS §3.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.obis import check_channel
from meterkast.emeter.profiles import PeriodType
from meterkast.errors import ConsentRefused, InvalidInput
from meterkast.gasmeter.identity import parse_meter_number
from meterkast.timeutil import require_utc

__all__ = [
    "Alarm", "AlarmKind", "AuditEntry", "AuthScope", "Authorisation", "Connection", "Consent",
    "ConsentLevel", "EMeterRecord", "Gap", "GasMeterRecord", "KeyKind", "P4AccessRefused", "P4Refusal",
    "PeriodType", "Reading", "ThirdParty", "aware_utc", "gs1_check_digit", "meter_id",
]

EAN_LENGTH = 18


def gs1_check_digit(body: str) -> int:
    """GS1 mod-10 check digit: weights 3, 1, 3, … from the rightmost digit of ``body``."""
    if not (body.isascii() and body.isdigit()):
        raise InvalidInput(f"EAN body {body!r} must be digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def aware_utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidInput(f"{what} {moment!r} is not a datetime")
    return require_utc(moment, what)


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalising a frozen dataclass field in __post_init__


def meter_id(text: str, what: str) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"{what} {text!r} is not a string")
    return str(parse_meter_number(text))


def _optional_after(later: datetime | None, earlier: datetime, what: str, since: str) -> datetime | None:
    if later is None:
        return None
    moment = aware_utc(later, what)
    if moment < earlier:
        raise InvalidInput(f"{what} {moment.isoformat()} lies before {since} {earlier.isoformat()}")
    return moment


@dataclass(frozen=True, slots=True)
class Connection:
    """A grid connection (aansluiting), named by its EAN code, e.g. ``871687140000000017``."""

    ean: str

    def __post_init__(self) -> None:
        ean = self.ean
        if not (isinstance(ean, str) and len(ean) == EAN_LENGTH and ean.isascii() and ean.isdigit()):
            raise InvalidInput(f"connection EAN {ean!r} must be {EAN_LENGTH} digits")
        if gs1_check_digit(ean[:-1]) != int(ean[-1]):
            raise InvalidInput(
                f"connection EAN {ean!r} has check digit {ean[-1]}, GS1 mod 10 gives "
                f"{gs1_check_digit(ean[:-1])}: a digit was mistyped"
            )

    @classmethod
    def from_body(cls, body: str) -> Connection:
        """The connection whose first 17 digits are ``body``; the check digit is computed."""
        return cls(f"{body}{gs1_check_digit(body)}")

    def __str__(self) -> str:
        return self.ean


class ConsentLevel(Enum):
    """The customer's choice (SYSTEM C2); the order is the order of what it allows."""

    NONE = "none"  # administratively off, COSEM 0-1:94.31.0 = 1 (Opt Out) [P3-4.2.2 §8.1]
    STANDARD = "standard"  # administrative on (default): periodic (monthly) readings
    DETAILED = "detailed"  # explicit consent: daily readings and hourly gas values

    @property
    def rank(self) -> int:
        return _CONSENT_RANK[self]


_CONSENT_RANK = {ConsentLevel.NONE: 0, ConsentLevel.STANDARD: 1, ConsentLevel.DETAILED: 2}


@dataclass(frozen=True, slots=True)
class Consent:
    """One entry of a connection's consent history: ``level`` holds from ``valid_from`` on."""

    connection: Connection
    level: ConsentLevel
    valid_from: datetime
    recorded_at: datetime

    def __post_init__(self) -> None:
        _set(self, "valid_from", aware_utc(self.valid_from, "consent valid_from"))
        _set(self, "recorded_at", aware_utc(self.recorded_at, "consent recorded_at"))
        if not isinstance(self.level, ConsentLevel):
            raise InvalidInput(f"consent level {self.level!r} is not one of {[c.value for c in ConsentLevel]}")


@dataclass(frozen=True, slots=True)
class EMeterRecord:
    equipment_id: str  # 0-0:96.1.1, e.g. E0031003239456716
    connection: Connection
    installed_at: datetime

    def __post_init__(self) -> None:
        _set(self, "equipment_id", meter_id(self.equipment_id, "E-meter equipment identifier"))
        _set(self, "installed_at", aware_utc(self.installed_at, "E-meter installed_at"))


@dataclass(frozen=True, slots=True)
class GasMeterRecord:
    """A gas meter coupled on an M-Bus channel of an E-meter over [coupled_at, decoupled_at)."""

    gas_meter: str  # 0-x:96.1.0, e.g. G0019340315370616
    emeter: str
    channel: int
    coupled_at: datetime
    decoupled_at: datetime | None = None

    def __post_init__(self) -> None:
        _set(self, "gas_meter", meter_id(self.gas_meter, "gas meter equipment identifier"))
        _set(self, "emeter", meter_id(self.emeter, "E-meter equipment identifier"))
        check_channel(self.channel)
        _set(self, "coupled_at", aware_utc(self.coupled_at, "coupled_at"))
        _set(self, "decoupled_at", _optional_after(self.decoupled_at, self.coupled_at, "decoupled_at", "coupled_at"))

    def coupled_at_instant(self, moment: datetime) -> bool:
        return self.coupled_at <= moment and (self.decoupled_at is None or moment < self.decoupled_at)


@dataclass(frozen=True, slots=True)
class Reading:
    """One gas profile entry as the CS stores it: the entry clock is ``capture_time`` (on the grid)."""

    connection: Connection
    gas_meter: str
    channel: int
    period_type: PeriodType
    capture_time: datetime
    value_m3: Decimal
    amr_status: AmrStatus
    log_time: datetime  # when the CS received it

    def __post_init__(self) -> None:
        _set(self, "gas_meter", meter_id(self.gas_meter, "gas meter equipment identifier"))
        check_channel(self.channel)
        if not isinstance(self.period_type, PeriodType):
            raise InvalidInput(f"period type {self.period_type!r} is not one of {[p.name for p in PeriodType]}")
        _set(self, "capture_time", aware_utc(self.capture_time, "reading capture_time"))
        if not isinstance(self.value_m3, Decimal) or not self.value_m3.is_finite():
            raise InvalidInput(f"reading value {self.value_m3!r} must be a finite Decimal (m³), never a float")
        if self.value_m3 < 0:
            raise InvalidInput(f"reading value {self.value_m3} m³ is negative; a gas register only counts up")
        if not isinstance(self.amr_status, int) or not 0 <= self.amr_status <= 0xFF:
            raise InvalidInput(f"AMR status {self.amr_status!r} must be one byte [P3-4.2.2 §4.2.5]")
        _set(self, "amr_status", AmrStatus(int(self.amr_status)))
        _set(self, "log_time", aware_utc(self.log_time, "reading log_time"))
        if self.log_time < self.capture_time:
            raise InvalidInput(
                f"reading log_time {self.log_time.isoformat()} lies before its capture_time "
                f"{self.capture_time.isoformat()}: the CS cannot receive a value from the future"
            )

    @property
    def key(self) -> tuple[str, str, PeriodType, datetime]:
        return (self.connection.ean, self.gas_meter, self.period_type, self.capture_time)

    def same_data(self, other: Reading) -> bool:
        """Equal apart from ``log_time`` (a repeated read of the same profile entry)."""
        return (self.key, self.channel, self.value_m3, self.amr_status) == (
            other.key, other.channel, other.value_m3, other.amr_status
        )


@dataclass(frozen=True, slots=True)
class Gap:
    """Expected capture instants ``first`` … ``last`` (inclusive, ``count`` of them) with no reading."""

    gas_meter: str
    channel: int
    period_type: PeriodType
    first: datetime
    last: datetime
    count: int


class AlarmKind(Enum):
    """Alarm register 1 (0-0:97.98.0) bits [P3-4.2.2 §4.2.4], [OSGP AlarmTypeRegisterLookup]."""

    CLOCK_INVALID = "clock invalid"
    REPLACE_BATTERY = "replace battery"
    POWER_UP = "power up"
    PROGRAM_MEMORY_ERROR = "program memory error"
    RAM_ERROR = "RAM error"
    NV_MEMORY_ERROR = "NV memory error"
    MEASUREMENT_SYSTEM_ERROR = "measurement system error"
    WATCHDOG_ERROR = "watchdog error"
    FRAUD_ATTEMPT = "fraud attempt"
    MBUS_COMMUNICATION_ERROR = "M-Bus communication error"
    MBUS_FRAUD_ATTEMPT = "M-Bus fraud attempt"  # a broken gas meter seal arrives this way (SYSTEM G11)
    NEW_MBUS_DEVICE = "new M-Bus device"
    MBUS_REPLACE_BATTERY = "M-Bus replace battery"  # event 102 + 10(n-1), the gas battery (SYSTEM G10)
    # Not a register bit: the CS itself could not reach the E-meter over P3 (SYSTEM C1, "communication loss").
    P3_COMMUNICATION_LOSS = "P3 communication loss"


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm from an E-meter; channel 0 is the E-meter itself (as OBIS 0-0), 1–4 its M-Bus devices."""

    alarm_id: int
    emeter: str
    channel: int
    kind: AlarmKind
    raised_at: datetime
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class AuthScope(Enum):
    """What a P4 authorisation covers (SYSTEM C3), finest first."""

    HOURLY = "hourly"
    DAILY = "daily"
    MONTHLY = "monthly"

    @property
    def period_type(self) -> PeriodType:
        return _SCOPE_PERIOD[self]


_SCOPE_PERIOD = {
    AuthScope.HOURLY: PeriodType.INTERVAL,
    AuthScope.DAILY: PeriodType.DAILY,
    AuthScope.MONTHLY: PeriodType.MONTHLY,
}


@dataclass(frozen=True, slots=True)
class ThirdParty:
    """A supplier or independent party (SYSTEM C3). Its token is kept only as a SHA-256 hash."""

    party_id: str
    name: str
    registered_at: datetime


@dataclass(frozen=True, slots=True)
class Authorisation:
    """The customer lets ``party_id`` fetch ``scope`` data of ``connection`` during [valid_from, valid_to)."""

    authorisation_id: int
    party_id: str
    connection: Connection
    scope: AuthScope
    valid_from: datetime
    valid_to: datetime
    granted_at: datetime
    revoked_at: datetime | None = None

    def in_force(self, moment: datetime) -> bool:
        revoked = self.revoked_at is not None and self.revoked_at <= moment
        return self.valid_from <= moment < self.valid_to and not revoked


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One P4 access attempt, granted or refused; the customer can list them (SYSTEM C3)."""

    entry_id: int
    at: datetime
    party_id: str | None  # None: the token matched no registered party
    connection: str  # as asked, even if it names no known connection
    scope: AuthScope
    data_from: datetime
    data_to: datetime
    granted: bool
    reason: str
    readings: int


class P4Refusal(Enum):
    """Why a P4 request was refused, in the order the store checks (SYSTEM C3, DSMR-FACTS §5).

    The value is the stable code an API shows; the refusal's message says what and why.
    """

    UNKNOWN_TOKEN = "unknown_token"  # the token names no registered party
    FUTURE_RANGE = "future_range"  # data asked for after now
    NOT_AUTHORISED = "not_authorised"  # no authorisation of this party, connection and scope
    REVOKED = "revoked"  # the customer revoked it
    OUTSIDE_PERIOD = "outside_period"  # not within [valid_from, valid_to) now
    WRONG_METER_NUMBER = "wrong_meter_number"  # the party did not prove the gas meter's number
    HISTORY_DEPTH = "history_depth"  # older than 10 days hourly / 40 days daily / 13 months monthly
    NO_CONSENT = "no_consent"  # the customer's consent (SYSTEM C2) does not allow the data


class P4AccessRefused(ConsentRefused):
    """A refused P4 request; ``refusal`` says which rule refused it (the attempt is audited already)."""

    def __init__(self, refusal: P4Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


class KeyKind(Enum):
    """Per-meter keys the CS holds (SYSTEM C1, C4; DSMR-FACTS §2.5, §3.5)."""

    P3_ENCRYPTION = "p3-guek"  # global unicast encryption key, DLMS security suite 0
    P3_AUTHENTICATION = "p3-gak"  # global authentication key
    P3_MASTER = "p3-master"  # the E-meter's master key (KEK): only wraps new P3 keys (DSMR-M 4.4.24)
    # A P3 key change in flight (cs.service.rotate_keys): kept from before the transfer until a contact shows
    # which pair the meter uses; "pending" = the newest pending pair differs from the newest current pair.
    P3_ENCRYPTION_PENDING = "p3-guek-pending"
    P3_AUTHENTICATION_PENDING = "p3-gak-pending"
    P2_DEFAULT = "p2-default"  # the gas meter's default key: only unwraps new user keys
    P2_USER = "p2-user"  # the gas meter's user key set through the E-meter
    # A P2 key change in flight (cs.service.rotate_gas_meter_key): sealed before the transfer, current once the
    # E-meter acknowledged both methods; "pending" = the newest pending key differs from the newest current one.
    P2_USER_PENDING = "p2-user-pending"
