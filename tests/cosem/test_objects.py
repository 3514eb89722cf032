"""The E-meter's COSEM table against the DSMR 4.2.2 P3 object tables (logical name, class, version, the P
and M columns of every attribute, X for methods) and capture objects, read back through the services."""

from __future__ import annotations

import pytest

from meterkast.cosem.access import Access, Client, CosemObject, Ctx, MeterInfo
from meterkast.cosem.association import e_meter_model
from meterkast.cosem.services import Services
from meterkast.dlms import (
    Array,
    AttributeDescriptor,
    CaptureObject,
    Conformance,
    DataAccessResult,
    ObisCode,
    OctetString,
)
from meterkast.emeter import EMeter
from tests.cosem.conftest import METER_TITLE

MODEL = e_meter_model()
R, RW, NO = "R", "RW", ""


def rights(public: dict[int, str], management: dict[int, str]) -> dict[int, tuple[str, str]]:
    return {a: (public.get(a, NO), management.get(a, NO)) for a in sorted(set(public) | set(management))}


def mgmt(*attributes: int, writable: tuple[int, ...] = ()) -> dict[int, tuple[str, str]]:
    return {a: (NO, RW if a in writable else R) for a in attributes}


def both(*attributes: int) -> dict[int, tuple[str, str]]:
    return {a: (R, R) for a in attributes}


PROFILE = mgmt(1, 2, 3, 4, 5, 6, 7, 8)
# (logical name, class, version, {attribute: (P, M)}, methods with X for M), as printed in P3 §5–§7.
SPEC: list[tuple[str, int, int, dict[int, tuple[str, str]], set[int]]] = [
    ("0-0:1.0.0.255", 8, 0, rights({1: R, 2: R}, {1: R, 2: RW, 3: RW, 4: R, 5: RW, 6: RW, 7: R, 8: RW, 9: R}),
     set()),  # §5.3
    ("1-0:0.9.11.255", 3, 0, mgmt(1, 2, 3, writable=(2,)), set()),  # §5.3 clock time shift limit
    ("0-0:41.0.0.255", 17, 0, both(1, 2), set()),  # §5.1 SAP assignment
    ("0-0:40.0.0.255", 15, 1, {**both(1, 2, 3, 4, 5, 6, 8, 9), 7: (NO, NO)}, {1, 2}),  # §5.1; 7: docs/p3.md
    ("0-0:43.0.0.255", 64, 0, mgmt(1, 2, 3, 4, 5), {1, 2}),  # §5.1 security setup
    ("0-0:42.0.0.255", 1, 0, both(1, 2), set()),  # §5.1 logical device name
    ("0-0:96.1.0.255", 1, 0, both(1, 2), set()),  # §5.2 device ID 1
    ("0-0:96.1.1.255", 1, 0, both(1, 2), set()),  # §5.2 device ID 2, equipment identifier
    ("0-0:96.14.0.255", 1, 0, mgmt(1, 2), set()),  # §5.4 currently active tariff
    ("0-0:98.1.0.255", 7, 1, PROFILE, {1}),  # §5.5 monthly
    ("0-0:97.97.0.255", 1, 0, mgmt(1, 2, writable=(2,)), set()),  # §5.6 error register
    ("0-0:97.98.0.255", 1, 0, mgmt(1, 2, writable=(2,)), set()),  # §5.6 alarm register
    ("0-0:97.98.10.255", 1, 0, mgmt(1, 2, writable=(2,)), set()),  # §5.6 alarm filter
    ("0-0:99.98.0.255", 7, 1, PROFILE, {1}),  # §5.7 standard event log
    ("0-0:99.98.1.255", 7, 1, PROFILE, {1}),  # §5.8 fraud detection log
    ("0-0:96.7.21.255", 1, 0, mgmt(1, 2), set()),  # §5.9
    ("0-0:96.7.9.255", 1, 0, mgmt(1, 2), set()),
    ("0-0:96.7.20.255", 3, 0, mgmt(1, 2, 3, writable=(2,)), set()),
    ("0-0:96.7.19.255", 3, 0, mgmt(1, 2, 3), set()),
    ("1-0:99.97.0.255", 7, 1, PROFILE, {1}),
    ("0-0:96.13.0.255", 1, 0, mgmt(1, 2, writable=(2,)), set()),  # §5.11
    ("0-0:96.13.1.255", 1, 0, mgmt(1, 2, writable=(2,)), set()),
    ("0-0:96.10.2.255", 1, 0, both(1, 2), set()),  # §4.2.5
    *((ln, 1, 0, both(1, 2), set()) for ln in ("1-0:0.2.0.255", "1-0:0.2.8.255", "1-1:0.2.0.255", "1-1:0.2.8.255",
                                               "1-2:0.2.0.255", "1-2:0.2.8.255", "1-3:0.2.8.255")),  # §6.1
    *((ln, 3, 0, mgmt(1, 2, 3), set()) for ln in ("1-0:1.8.0.255", "1-0:2.8.0.255", "1-0:1.8.1.255",
                                                  "1-0:1.8.2.255", "1-0:2.8.1.255", "1-0:2.8.2.255")),  # §6.2
    ("1-0:99.1.0.255", 7, 1, PROFILE, {1}),  # §6.3
    ("1-0:99.2.0.255", 7, 1, PROFILE, {1}),
    ("0-0:24.6.0.255", 74, 0, mgmt(1, 2), set()),  # §7.1 M-Bus master port setup
    ("0-0:99.98.3.255", 7, 1, PROFILE, {1}),  # §7.5
    *(row for x in (1, 2, 3, 4) for row in (
        (f"0-{x}:24.1.0.255", 72, 1, mgmt(*range(1, 15), writable=(4, 5, 6, 7, 8, 9)), set(range(1, 9))),  # §7.1
        (f"0-{x}:96.1.0.255", 1, 0, mgmt(1, 2), set()),  # §7.2
        (f"0-{x}:24.2.1.255", 4, 0, mgmt(1, 2, 3, 4, 5), set()),  # §7.3.1
        (f"0-{x}:24.3.0.255", 7, 1, PROFILE, {1}),  # §7.4
        (f"0-{x}:96.10.3.255", 1, 0, both(1, 2), set()),  # §4.2.5
        (f"0-{x}:24.4.0.255", 70, 0, mgmt(1, 2, 3, 4), {1, 2}),  # DSMR 4.0.x valve; refused (SYSTEM G12)
    )),
]


def _rights(obj: CosemObject) -> dict[int, tuple[str, str]]:
    text = {Access.NONE: NO, Access.READ: R, Access.READ_WRITE: RW}
    return {a.id: (text[a.rights.public], text[a.rights.management]) for a in obj.attributes}


def test_the_table_is_exactly_the_spec_rows() -> None:
    assert sorted(str(o.logical_name) for o in MODEL) == sorted(row[0] for row in SPEC)


@pytest.mark.parametrize(("ln", "class_id", "version", "expected", "methods"), SPEC, ids=[row[0] for row in SPEC])
def test_object_matches_p3(ln: str, class_id: int, version: int, expected: dict[int, tuple[str, str]],
                           methods: set[int]) -> None:
    obj = MODEL.get(ObisCode.parse(ln))
    assert obj is not None
    assert (obj.class_id, obj.version) == (class_id, version)
    assert _rights(obj) == expected
    assert {m.id for m in obj.methods if m.management} == methods
    assert not any(m.public for m in obj.methods)  # the public client has no ACTION (P3 §2.1.1)


def test_every_right_has_its_function() -> None:
    for obj in MODEL:
        for spec in obj.attributes:
            if (spec.rights.public | spec.rights.management) & Access.READ:
                assert spec.get is not None, (obj.logical_name, spec.id)
            if (spec.rights.public | spec.rights.management) & Access.WRITE:
                assert spec.set is not None, (obj.logical_name, spec.id)


def _capture(ln: str) -> list[tuple[int, str, int, int]]:
    obj = MODEL.get(ObisCode.parse(ln))
    assert obj is not None
    getter = obj.attribute(3)
    assert getter is not None and getter.get is not None
    value = getter.get(None)  # type: ignore[arg-type]  # capture_objects is a constant
    assert isinstance(value, Array)
    return [(c.class_id, str(c.instance), c.attribute_index, c.data_index)
            for c in (CaptureObject.from_data(item) for item in value.items)]


CLOCK = (8, "0-0:1.0.0.255", 2, 0)
MBUS = [(4, f"0-{x}:24.2.1.255", a, 0) for x in (1, 2, 3, 4) for a in (2, 5)]
BILLING = [(3, ln, 2, 0) for ln in ("1-0:1.8.1.255", "1-0:1.8.2.255", "1-0:2.8.1.255", "1-0:2.8.2.255")]


@pytest.mark.parametrize(("ln", "columns"), [
    ("0-2:24.3.0.255", [CLOCK, (1, "0-2:96.10.3.255", 2, 0), (4, "0-2:24.2.1.255", 2, 0),
                        (4, "0-2:24.2.1.255", 5, 0)]),  # §7.4
    ("1-0:99.2.0.255", [CLOCK, (1, "0-0:96.10.2.255", 2, 0), *BILLING, *MBUS]),  # §6.3
    ("0-0:98.1.0.255", [CLOCK, *BILLING, *MBUS]),  # §5.5, no status column
    ("1-0:99.1.0.255", [CLOCK, (1, "0-0:96.10.2.255", 2, 0), (3, "1-0:1.8.0.255", 2, 0),
                        (3, "1-0:2.8.0.255", 2, 0)]),  # §6.3
    ("0-0:99.98.0.255", [CLOCK, (1, "0-0:96.11.0.255", 2, 0)]),  # §5.7
    ("0-0:99.98.1.255", [CLOCK, (1, "0-0:96.11.1.255", 2, 0)]),  # §5.8
    ("0-0:99.98.3.255", [CLOCK, (1, "0-0:96.11.3.255", 2, 0)]),  # §7.5
    ("1-0:99.97.0.255", [CLOCK, (3, "0-0:96.7.19.255", 2, 0)]),  # §5.9
])
def test_capture_objects_follow_p3(ln: str, columns: list[tuple[int, str, int, int]]) -> None:
    assert _capture(ln) == columns


def _services(meter: EMeter, client: Client) -> Services:
    ctx = Ctx(meter, MeterInfo(METER_TITLE), client, conformance=Conformance(0xFFFFFF), objects=MODEL.objects())
    return Services(MODEL, ctx, 0xFFFF)


# What the model does not keep is refused rather than invented (docs/p3.md).
NOT_KEPT = {("0-1:24.1.0.255", 10), ("0-1:24.1.0.255", 12), ("0-1:24.1.0.255", 14)}


def test_every_readable_attribute_reads(meter: EMeter) -> None:
    services = _services(meter, Client.MANAGEMENT)
    for obj in MODEL:
        for spec in obj.attributes:
            if not spec.rights.management & Access.READ:
                continue
            got = services.read(AttributeDescriptor(obj.class_id, obj.logical_name, spec.id), None)
            key = (str(obj.logical_name), spec.id)
            if obj.available is not None and not obj.available(services.ctx):
                assert got is DataAccessResult.OBJECT_UNAVAILABLE, key  # channels 2-4 never had a device
            elif key in NOT_KEPT or (key[0][:4] in ("0-2:", "0-3:", "0-4:") and key[1] in (10, 12, 14)):
                assert got is DataAccessResult.OTHER_REASON, key
            else:
                assert not isinstance(got, DataAccessResult), key
                if spec.id == 1:
                    assert got == OctetString(obj.logical_name.to_bytes())


def test_public_object_list_is_what_p3_lets_the_public_client_read(meter: EMeter) -> None:
    services = _services(meter, Client.PUBLIC)
    listed = services.read(AttributeDescriptor(15, ObisCode.parse("0-0:40.0.0.255"), 2), None)
    assert isinstance(listed, Array)
    names = {str(ObisCode.from_bytes(element.items[2].value)) for element in listed.items}  # type: ignore[union-attr]
    public = {row[0] for row in SPEC if any(p for p, _ in row[3].values())}
    assert names == public
    assert "1-0:1.8.1.255" not in names  # "it must not be allowed to read metering data" (P3 §2.1.1)
