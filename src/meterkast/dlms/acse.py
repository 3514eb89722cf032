"""ACSE APDUs: AARQ, AARE, RLRQ, RLRE (IEC 62056-5-3 ACSE ASN.1, BER encoded; DSMR P3 §3.2, §3.4).

AARQ [APPLICATION 0] = 60, AARE [APPLICATION 1] = 61, RLRQ = 62, RLRE = 63, each a SEQUENCE of
context-tagged fields in tag order. The fields this module models (others are kept raw in
``other_fields`` and re-encoded in their place):

* application-context-name A1 { 06 07 60 85 74 05 08 01 id }: 1 LN, 2 SN, 3 LN with ciphering, 4 SN with
  ciphering. DSMR: "context_id 3 (Logical Name Services and Ciphering)" for the management client
  (P3 §3.2.3.1 item 1);
* calling-AP-title A6 / responding-AP-title A4 { 04 08 system title }: needed with ciphering and HLS5;
* sender-/responder-acse-requirements 8A/88 ``07 80`` (authentication functional unit) and mechanism-name
  8B/89 ``60 85 74 05 08 02 id`` (0 lowest, 1 low, 5 HLS5-GMAC, …): present together or not at all;
* calling-/responding-authentication-value AC/AA { 80 len value } (charstring): the LLS password, or the
  HLS challenge CtoS (client) / StoC (server);
* AARE result A2 { 02 01 r } and result-source-diagnostic A3 { A1|A2 { 02 01 d } };
* RLRQ/RLRE reason 80 01 r;
* user-information BE { 04 len xDLMS-APDU }: an InitiateRequest/-Response, a ConfirmedServiceError, or
  their glo- ciphered form. DSMR: "the InitiateRequest and InitiateResponse … shall be encrypted and
  authenticated" and "All other fields in the AARQ and RLRQ shall be transmitted in clear text"
  (P3 §3.2.3.1 items 3, 4; Annex C).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Self

from meterkast.dlms import ber
from meterkast.dlms.acse_codes import (
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApplicationContext,
    AssociationResult,
    MechanismName,
    ReleaseRequestReason,
    ReleaseResponseReason,
)
from meterkast.dlms.ciphered import PLAIN_TAGS, CipheredApdu
from meterkast.dlms.initiate import ConfirmedServiceError, InitiateRequest, InitiateResponse
from meterkast.dlms.reader import Reader
from meterkast.errors import CodecError

UserInformation = InitiateRequest | InitiateResponse | ConfirmedServiceError | CipheredApdu
_OCTET_STRING = 0x04
_INTEGER = 0x02
_CHARSTRING = 0x80
_AUTHENTICATION_FUNCTIONAL_UNIT = bytes.fromhex("0780")  # BIT STRING, 7 unused bits, bit 0 set


_DIAGNOSTIC_TAGS: dict[int, type[AcseServiceUserDiagnostic] | type[AcseServiceProviderDiagnostic]] = {
    0xA1: AcseServiceUserDiagnostic, 0xA2: AcseServiceProviderDiagnostic,
}
_USER_INFORMATION_READERS: dict[int, Callable[[Reader], UserInformation]] = {
    InitiateRequest.APDU_TAG: InitiateRequest.read_body,
    InitiateResponse.APDU_TAG: InitiateResponse.read_body,
    ConfirmedServiceError.APDU_TAG: ConfirmedServiceError.read_body,
}


# ---- field codecs: each takes the TLV's content and gives the field value, and back ----------------------

def _enum_from(kind: type[IntEnum], raw: int, what: str, offset: int) -> Any:
    try:
        return kind(raw)
    except ValueError as exc:
        raise CodecError(f"{what} {raw} is not a known {kind.__name__}", offset=offset) from exc


def _oid_value(tlv: ber.Tlv, arc: int, kind: type[IntEnum], what: str) -> Any:
    """The last arc of a DLMS UA object identifier ``60 85 74 05 08 arc id``."""
    if len(tlv.content) != 7 or tlv.content[:6] != ber.DLMS_UA_OID_PREFIX + bytes((arc,)):
        raise CodecError(f"{what} is not a DLMS UA object identifier 60 85 74 05 08 {arc:02X} xx", offset=tlv.offset)
    return _enum_from(kind, tlv.content[6], what, tlv.offset + 6)


def _oid(arc: int, value: int) -> bytes:
    return ber.DLMS_UA_OID_PREFIX + bytes((arc, value))


def _decode_context(tlv: ber.Tlv) -> ApplicationContext:
    result: ApplicationContext = _oid_value(ber.expect_tlv(tlv, 0x06, "application-context-name"), 1,
                                            ApplicationContext, "application-context-name")
    return result


def _encode_context(value: ApplicationContext) -> bytes:
    return ber.encode_tlv(0x06, _oid(1, value))


def _decode_title(tlv: ber.Tlv) -> bytes:
    return ber.expect_tlv(tlv, _OCTET_STRING, "AP-title").content


def _encode_title(title: bytes) -> bytes:
    return ber.encode_tlv(_OCTET_STRING, title)


def _decode_authentication_value(tlv: ber.Tlv) -> bytes:
    return ber.expect_tlv(tlv, _CHARSTRING, "authentication-value (charstring)").content


def _encode_authentication_value(value: bytes) -> bytes:
    return ber.encode_tlv(_CHARSTRING, value)


def _decode_user_information(tlv: ber.Tlv) -> UserInformation:
    reader = ber.expect_tlv(tlv, _OCTET_STRING, "user-information").reader()
    tag = reader.peek("user-information xDLMS APDU")
    if tag in PLAIN_TAGS:
        value: UserInformation = CipheredApdu.read(reader)
    else:
        read_body = _USER_INFORMATION_READERS.get(tag)
        if read_body is None:
            raise reader.fail(f"user-information holds APDU 0x{tag:02X}; expected an xDLMS Initiate or error")
        reader.u8("xDLMS APDU tag")
        value = read_body(reader)
    reader.expect_end("user-information")
    return value


def _encode_user_information(value: UserInformation) -> bytes:
    return ber.encode_tlv(_OCTET_STRING, value.encode())


def _decode_small_integer(tlv: ber.Tlv, what: str) -> int:
    inner = ber.expect_tlv(tlv, _INTEGER, what)
    if not 1 <= len(inner.content) <= 2:
        raise CodecError(f"{what} must be a one- or two-octet INTEGER", offset=inner.offset)
    return int.from_bytes(inner.content, "big", signed=True)


def _decode_reason(tlv: ber.Tlv, kind: type[IntEnum]) -> Any:
    if len(tlv.content) != 1:
        raise CodecError("release reason must be one octet", offset=tlv.offset)
    return _enum_from(kind, tlv.content[0], "release reason", tlv.offset)


@dataclass(frozen=True, slots=True)
class _Field:
    """One modelled ACSE field: its BER tag, the attribute it fills, and its content codec."""

    tag: int
    attribute: str
    decode: Callable[[ber.Tlv], Any]
    encode: Callable[[Any], bytes]


def _read_fields(reader: Reader, apdu_tag: int, name: str, fields: tuple[_Field, ...]) -> dict[str, Any]:
    start = reader.offset
    outer = ber.read_tlv(reader)
    if outer.tag != apdu_tag:
        raise CodecError(f"expected {name} (tag {apdu_tag:02X}), got tag {outer.tag:02X}", offset=start)
    by_tag = {field.tag: field for field in fields}
    values: dict[str, Any] = {}
    other: list[tuple[int, bytes]] = []
    for tlv in ber.read_all(outer.reader()):
        field = by_tag.get(tlv.tag)
        if field is None:
            other.append((tlv.tag, tlv.content))
        elif field.attribute in values:
            raise CodecError(f"{name} field {tlv.tag:02X} appears twice", offset=tlv.offset)
        else:
            values[field.attribute] = field.decode(tlv)
    values["other_fields"] = tuple(other)
    return values


def _write_fields(apdu: Any, apdu_tag: int, fields: tuple[_Field, ...]) -> bytes:
    parts = [(field.tag, ber.encode_tlv(field.tag, field.encode(value)))
             for field in fields if (value := getattr(apdu, field.attribute)) is not None]
    parts += [(tag, ber.encode_tlv(tag, content)) for tag, content in apdu.other_fields]
    return ber.encode_tlv(apdu_tag, b"".join(part for _, part in sorted(parts, key=lambda p: p[0] & 0x1F)))


def _check_mechanism(values: dict[str, Any], name: str, offset: int) -> None:
    present = values.pop("acse_requirements", None)
    if (present is not None) != ("mechanism" in values):
        raise CodecError(f"{name}: acse-requirements and mechanism-name must be present together", offset=offset)


def _decode_requirements(tlv: ber.Tlv) -> bool:
    if tlv.content != _AUTHENTICATION_FUNCTIONAL_UNIT:
        raise CodecError("acse-requirements must be 07 80 (authentication)", offset=tlv.offset)
    return True


def _decode_mechanism(tlv: ber.Tlv) -> MechanismName:
    result: MechanismName = _oid_value(tlv, 2, MechanismName, "mechanism-name")
    return result


def _decode_diagnostic(tlv: ber.Tlv) -> AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic:
    inner = ber.read_tlv(tlv.reader())
    kind = _DIAGNOSTIC_TAGS.get(inner.tag)
    if kind is None:
        raise CodecError(f"result-source-diagnostic must be A1 (service user) or A2 (provider), got {inner.tag:02X}",
                         offset=tlv.offset)
    raw = _decode_small_integer(inner, "result-source-diagnostic")
    result: AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic = _enum_from(
        kind, raw, "result-source-diagnostic", inner.offset)
    return result


def _encode_diagnostic(value: AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic) -> bytes:
    tag = 0xA1 if isinstance(value, AcseServiceUserDiagnostic) else 0xA2
    return ber.encode_tlv(tag, ber.encode_tlv(_INTEGER, bytes((value,))))


_CONTEXT = _Field(0xA1, "application_context", _decode_context, _encode_context)
_USER_INFORMATION = _Field(0xBE, "user_information", _decode_user_information, _encode_user_information)


def _requirements(tag: int) -> _Field:
    return _Field(tag, "acse_requirements", _decode_requirements, lambda _: _AUTHENTICATION_FUNCTIONAL_UNIT)


def _mechanism(tag: int) -> _Field:
    return _Field(tag, "mechanism", _decode_mechanism, lambda value: _oid(2, value))


def _reason(kind: type[IntEnum]) -> _Field:
    return _Field(0x80, "reason", lambda tlv: _decode_reason(tlv, kind), lambda value: bytes((value,)))


class _AcseApdu:
    """Base of the four ACSE APDUs: a BER SEQUENCE of the ``FIELDS`` in tag order, with the fields it does not
    model kept in ``other_fields``; ``_complete`` checks (or fills in) what one kind of APDU needs."""

    __slots__ = ()
    APDU_TAG: ClassVar[int]
    FIELDS: ClassVar[tuple[_Field, ...]]

    def encode(self) -> bytes:
        return _write_fields(self, self.APDU_TAG, self.FIELDS)

    @classmethod
    def read(cls, reader: Reader) -> Self:
        start = reader.offset
        values = _read_fields(reader, cls.APDU_TAG, cls.__name__, cls.FIELDS)
        cls._complete(values, start)
        return cls(**values)

    @classmethod
    def _complete(cls, values: dict[str, Any], start: int) -> None:
        raise NotImplementedError


class _Association(_AcseApdu):
    """AARQ and AARE: acse-requirements goes with mechanism-name, and some fields must be there."""

    __slots__ = ()
    mechanism: MechanismName | None
    REQUIRED: ClassVar[tuple[tuple[str, str], ...]]  # (attribute, how the error names it)

    @property
    def acse_requirements(self) -> bool | None:
        return None if self.mechanism is None else True

    @classmethod
    def _complete(cls, values: dict[str, Any], start: int) -> None:
        _check_mechanism(values, cls.__name__, start)
        for attribute, name in cls.REQUIRED:
            if attribute not in values:
                raise CodecError(f"{cls.__name__} without {name}", offset=start)


class _Release(_AcseApdu):
    """RLRQ and RLRE: a reason that may be absent, and user-information."""

    __slots__ = ()

    @classmethod
    def _complete(cls, values: dict[str, Any], start: int) -> None:
        values.setdefault("reason", None)


@dataclass(frozen=True, slots=True)
class AARQ(_Association):
    """Association request: the client's proposal (context, system title, authentication, xDLMS context)."""

    application_context: ApplicationContext = ApplicationContext.LN_CIPHERING
    calling_ap_title: bytes | None = None
    mechanism: MechanismName | None = None
    calling_authentication_value: bytes | None = None
    user_information: UserInformation | None = None
    other_fields: tuple[tuple[int, bytes], ...] = ()
    APDU_TAG: ClassVar[int] = 0x60
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        _CONTEXT,
        _Field(0xA6, "calling_ap_title", _decode_title, _encode_title),
        _requirements(0x8A), _mechanism(0x8B),
        _Field(0xAC, "calling_authentication_value", _decode_authentication_value, _encode_authentication_value),
        _USER_INFORMATION,
    )
    REQUIRED: ClassVar[tuple[tuple[str, str], ...]] = (("application_context", "application-context-name (A1)"),)


@dataclass(frozen=True, slots=True)
class AARE(_Association):
    """Association response: result, diagnostic, the server's system title and challenge, xDLMS context."""

    result: AssociationResult
    result_source_diagnostic: AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic
    application_context: ApplicationContext = ApplicationContext.LN_CIPHERING
    responding_ap_title: bytes | None = None
    mechanism: MechanismName | None = None
    responding_authentication_value: bytes | None = None
    user_information: UserInformation | None = None
    other_fields: tuple[tuple[int, bytes], ...] = ()
    APDU_TAG: ClassVar[int] = 0x61
    FIELDS: ClassVar[tuple[_Field, ...]] = (
        _CONTEXT,
        _Field(0xA2, "result", lambda t: _enum_from(AssociationResult, _decode_small_integer(t, "result"),
                                                    "association result", t.offset),
               lambda value: ber.encode_tlv(_INTEGER, bytes((value,)))),
        _Field(0xA3, "result_source_diagnostic", _decode_diagnostic, _encode_diagnostic),
        _Field(0xA4, "responding_ap_title", _decode_title, _encode_title),
        _requirements(0x88), _mechanism(0x89),
        _Field(0xAA, "responding_authentication_value", _decode_authentication_value,
               _encode_authentication_value),
        _USER_INFORMATION,
    )
    REQUIRED: ClassVar[tuple[tuple[str, str], ...]] = (
        ("application_context", "application-context"), ("result", "result"),
        ("result_source_diagnostic", "result-source-diagnostic"),
    )


@dataclass(frozen=True, slots=True)
class RLRQ(_Release):
    """Release request; in a ciphered context DSMR puts a ciphered InitiateRequest in it (P3 Annex C)."""

    reason: ReleaseRequestReason | None = ReleaseRequestReason.NORMAL
    user_information: UserInformation | None = None
    other_fields: tuple[tuple[int, bytes], ...] = ()
    APDU_TAG: ClassVar[int] = 0x62
    FIELDS: ClassVar[tuple[_Field, ...]] = (_reason(ReleaseRequestReason), _USER_INFORMATION)


@dataclass(frozen=True, slots=True)
class RLRE(_Release):
    reason: ReleaseResponseReason | None = ReleaseResponseReason.NORMAL
    user_information: UserInformation | None = None
    other_fields: tuple[tuple[int, bytes], ...] = ()
    APDU_TAG: ClassVar[int] = 0x63
    FIELDS: ClassVar[tuple[_Field, ...]] = (_reason(ReleaseResponseReason), _USER_INFORMATION)
