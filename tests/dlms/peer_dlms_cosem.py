"""dlms-cosem as a peer: conversions between its objects and ours, and strategies for what both support.

Imported only by the interop test modules, after ``pytest.importorskip("dlms_cosem")``.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from dlms_cosem import cosem as their_cosem
from dlms_cosem import dlms_data as their_data
from dlms_cosem import enumerations as their_enums
from dlms_cosem.protocol import xdlms as their_xdlms
from hypothesis import strategies as st

from meterkast.dlms import (
    Array,
    AttributeDescriptor,
    Boolean,
    Conformance,
    DlmsData,
    InvokeIdAndPriority,
    NullData,
    ObisCode,
    OctetString,
    Structure,
)
from meterkast.dlms.data import FIXED_INTEGER_TYPES, FixedInteger

THEIR_VERSION = version("dlms-cosem")
KNOWN_GAPS_VERSION = "21.3.2"
CLASS_IDS = sorted(int(c) for c in their_enums.CosemInterface)


# ---- conversions between their objects and ours ----------------------------------------------------------


def their_invoke(ours: InvokeIdAndPriority) -> Any:
    return their_xdlms.InvokeIdAndPriority(ours.invoke_id, ours.confirmed, ours.high_priority)


def their_attribute(ours: AttributeDescriptor) -> Any:
    code = ours.instance
    instance = their_cosem.Obis(code.a, code.b, code.c, code.d, code.e, code.f)
    return their_cosem.CosemAttribute(their_enums.CosemInterface(ours.class_id), instance, ours.attribute_id)


def their_conformance(ours: Conformance) -> Any:
    return their_xdlms.Conformance(**{name: bool(int(ours) >> bit & 1)
                                      for name, bit in their_xdlms.Conformance.conformance_bit_position.items()})


def our_conformance(theirs: Any) -> Conformance:
    return Conformance(int.from_bytes(theirs.to_bytes()[1:], "big"))


def python_value(ours: DlmsData) -> Any:
    """What dlms-cosem's ``to_python()`` gives for the same wire bytes."""
    if isinstance(ours, Array | Structure):
        return [python_value(item) for item in ours.items]
    if isinstance(ours, NullData):
        return None
    if isinstance(ours, OctetString):
        return ours.value
    if isinstance(ours, Boolean | FixedInteger):
        return ours.value
    raise AssertionError(f"no dlms-cosem counterpart for {ours!r}")


# ---- strategies for the subset both codecs support -------------------------------------------------------

invokes = st.builds(InvokeIdAndPriority, st.integers(0, 15), st.booleans(), st.booleans())
obis = st.builds(ObisCode, *[st.integers(0, 255)] * 6)
attributes = st.builds(AttributeDescriptor, st.sampled_from(CLASS_IDS), obis, st.integers(0, 127))
conformances = st.integers(0, 0xFFFFFF).map(lambda v: Conformance(v & int(our_conformance(their_conformance(
    Conformance(0xFFFFFF))))))


@st.composite
def fixed_integers(draw: st.DrawFn) -> FixedInteger:
    kind = draw(st.sampled_from(FIXED_INTEGER_TYPES))
    bits = 8 * kind.SIZE
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if kind.SIGNED else (0, (1 << bits) - 1)
    return kind(draw(st.integers(low, high)))


# what their decoder reads: null, boolean, integers, octet-string, nested arrays and structures
decodable_by_them: st.SearchStrategy[DlmsData] = st.recursive(
    st.one_of(st.just(NullData()), st.builds(Boolean, st.booleans()), fixed_integers(),
              st.builds(OctetString, st.binary(max_size=300))),
    lambda children: st.builds(Array, st.lists(children, max_size=4).map(tuple))
    | st.builds(Structure, st.lists(children, max_size=4).map(tuple)), max_leaves=20)
# what their encoder writes correctly: integers, short octet-strings, structures (arrays raise TypeError)
encodable_by_them: st.SearchStrategy[DlmsData] = st.recursive(
    st.one_of(fixed_integers(), st.builds(OctetString, st.binary(max_size=127))),
    lambda children: st.builds(Structure, st.lists(children, max_size=4).map(tuple)), max_leaves=20)

THEIR_DATA_CLASSES = {cls.TAG: cls for cls in their_data.DlmsDataFactory.MAP.values()}


def their_data_value(ours: DlmsData) -> Any:
    if isinstance(ours, Structure):
        return their_data.DataStructure([their_data_value(item) for item in ours.items])
    if isinstance(ours, OctetString):
        return their_data.OctetStringData(ours.value)
    assert isinstance(ours, FixedInteger)
    return THEIR_DATA_CLASSES[int(ours.TAG)](ours.value)

