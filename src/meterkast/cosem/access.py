"""The vocabulary of the E-meter's COSEM object table: clients, access rights, attribute and method specs.

DSMR P3 §2.1: one logical device (the management logical device, server wPort 1) with three associations,
public client 16, management client 1 and pre-established client 102. "The access rights of these clients
are indicated in the P, M and Pr columns" of every object table; §2.2: "Get and Set access (indicated with
R and W) for attributes and action access (indicated with X). No access is indicated with white spaces."
DSMR 4.2.2 offers no object to the pre-established client ("No objects that can be accessed through this
client", §2.1.2), so ``Rights`` holds the P and M columns only.

Rules this module keeps:
- a spec is data: ``attr(2, "time", P="R", M="RW", get=...)`` reads like a row of the P3 table;
- getters and setters take a ``Ctx`` (the E-meter and the association) and return values or result codes,
  never raise for a refusal: a ``DataAccessResult`` / ``ActionResult`` is the refusal (P3 §2.2: "not
  considered a protocol error");
- ``ObjectModel`` finds an object by (class id, logical name) and nothing else decides access.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from meterkast.cosem.events import P3Event
from meterkast.cosem.keys import KeyTransfer
from meterkast.dlms import (
    ActionResult,
    ApplicationContext,
    Conformance,
    DataAccessResult,
    DlmsData,
    MechanismName,
    ObisCode,
    OctetString,
)
from meterkast.dlms.cosem import SelectiveAccess
from meterkast.emeter import EMeter
from meterkast.errors import InvalidInput

NO_CONFORMANCE = Conformance(0)


class Client(IntEnum):
    """Client SAPs = wrapper wPorts (P3 §2.1; IEC 62056-47)."""

    MANAGEMENT = 1
    PUBLIC = 16


class Access(IntFlag):
    NONE = 0
    READ = 1
    WRITE = 2
    READ_WRITE = 3


_ACCESS_TEXT = {"": Access.NONE, "R": Access.READ, "W": Access.WRITE, "RW": Access.READ_WRITE}


def _access(text: str) -> Access:
    try:
        return _ACCESS_TEXT[text]
    except KeyError as exc:
        raise InvalidInput(f"access right {text!r} must be '', 'R', 'W' or 'RW' (P3 §2.2)") from exc


@dataclass(frozen=True, slots=True)
class Rights:
    """The P and M columns of one attribute row."""

    public: Access = Access.NONE
    management: Access = Access.NONE

    def of(self, client: Client) -> Access:
        return self.public if client is Client.PUBLIC else self.management


@dataclass(frozen=True, slots=True)
class MeterInfo:
    """What the E-meter model does not keep but P3 shows: system title, firmware identifiers (P3 §5.1, §6.1)."""

    system_title: bytes
    firmware_identifier: bytes = b"4.2.2"
    firmware_signature: bytes = bytes(16)
    module_firmware_identifier: bytes = b"1.0"
    module_firmware_signature: bytes = bytes(16)
    communication_firmware_identifier: bytes = b"1.0"
    communication_firmware_signature: bytes = bytes(16)
    logical_device_name: bytes = b"MKS0000000000001"  # 0-0:42.0.0: FLAG id + 13 characters

    def __post_init__(self) -> None:
        if len(self.system_title) != 8:
            raise InvalidInput(f"a system title is 8 octets (FLAG id + 5), got {len(self.system_title)}")


@dataclass(slots=True)
class Ctx:
    """What an attribute getter, setter or method sees: the live E-meter and the association."""

    meter: EMeter
    info: MeterInfo
    client: Client
    client_system_title: bytes | None = None
    context: ApplicationContext = ApplicationContext.LN
    mechanism: MechanismName = MechanismName.LOWEST
    conformance: Conformance = NO_CONFORMANCE
    client_max_pdu: int = 0xFFFF
    objects: tuple[CosemObject, ...] = ()  # the whole table, for the object list (Association LN attr 2)
    events: list[P3Event] = field(default_factory=list)  # raised while serving one request
    master_key: bytes | None = field(default=None, repr=False)  # the KEK that unwraps new keys (cosem.keys)
    key_transfer: KeyTransfer | None = None  # keys accepted while serving one request; the server swaps them


GetResult = DlmsData | DataAccessResult
Getter = Callable[[Ctx], GetResult]
Selector = Callable[[Ctx, SelectiveAccess], GetResult]
Setter = Callable[[Ctx, DlmsData], DataAccessResult]
MethodResult = tuple[ActionResult, DlmsData | None]
Invoker = Callable[[Ctx, DlmsData | None], MethodResult]


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    id: int
    name: str
    rights: Rights
    get: Getter | None = None
    set: Setter | None = None
    select: Selector | None = None  # selective access (profile buffers, P3 §2.1)


@dataclass(frozen=True, slots=True)
class MethodSpec:
    id: int
    name: str
    public: bool = False
    management: bool = False
    invoke: Invoker | None = None

    def allowed(self, client: Client) -> bool:
        return self.public if client is Client.PUBLIC else self.management


@dataclass(frozen=True, slots=True)
class CosemObject:
    logical_name: ObisCode
    class_id: int
    version: int
    name: str
    attributes: tuple[AttributeSpec, ...]
    methods: tuple[MethodSpec, ...] = ()
    available: Callable[[Ctx], bool] | None = None  # None: always; else e.g. "the M-Bus channel was used"

    def attribute(self, attribute_id: int) -> AttributeSpec | None:
        return next((a for a in self.attributes if a.id == attribute_id), None)

    def method(self, method_id: int) -> MethodSpec | None:
        return next((m for m in self.methods if m.id == method_id), None)

    def visible_to(self, client: Client) -> bool:
        """In the client's object list: some attribute or method is accessible (Association LN attr 2)."""
        return any(a.rights.of(client) for a in self.attributes) or any(m.allowed(client) for m in self.methods)


def attr(attribute_id: int, name: str, *, P: str = "", M: str = "", get: Getter | None = None,  # noqa: N803
         set: Setter | None = None, select: Selector | None = None) -> AttributeSpec:
    """One attribute row: P and M columns as in the P3 tables (P3 §1.5)."""
    return AttributeSpec(attribute_id, name, Rights(_access(P), _access(M)), get, set, select)


def method(method_id: int, name: str, *, P: bool = False, M: bool = False,  # noqa: N803
           invoke: Invoker | None = None) -> MethodSpec:
    """One method row; ``M=True`` is the X in the M column."""
    return MethodSpec(method_id, name, P, M, invoke)


def logical_name_attr(name: ObisCode, *, P: str = "R", M: str = "R") -> AttributeSpec:  # noqa: N803
    value = OctetString(name.to_bytes())
    return attr(1, "logical_name", P=P, M=M, get=lambda _ctx: value)


class ObjectModel:
    """The E-meter's objects, looked up by logical name; the class id must match (else class-inconsistent)."""

    def __init__(self, objects: Iterable[CosemObject]) -> None:
        self._objects: dict[ObisCode, CosemObject] = {}
        for obj in objects:
            if obj.logical_name in self._objects:
                raise InvalidInput(f"object {obj.logical_name} appears twice in the COSEM table")
            self._objects[obj.logical_name] = obj

    def __iter__(self) -> Iterator[CosemObject]:
        return iter(self._objects.values())

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, logical_name: ObisCode) -> CosemObject | None:
        return self._objects.get(logical_name)

    def objects(self) -> tuple[CosemObject, ...]:
        return tuple(self._objects.values())
